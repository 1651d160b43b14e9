"""The correction row under the Draw tab's canvas: "Wrong? It was: 0 1 … 9".

A click, or a digit key while the canvas has the keyboard (after drawing on it), saves the drawing
(its strokes at full resolution and the model input) with that label in the user's collection ("My
digits"). The keys are the canvas's alone: a digit typed anywhere else in the tab (a map, a stage
box) used to save the drawing too, unnoticed. The same drawing is saved once: the same digit again
says it is already saved, another digit changes the saved sample's label (a slip of the finger is
corrected, not doubled). What happened is said on the Draw tab's message line, with "Undo save"
beside it, until the drawing changes.

The row is there only for a model whose classes are the ten digits: My digits keeps digits.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QSizePolicy, QToolButton, QWidget

from digitpad.core.handwriting.collection import Collection

from ..canvas import DrawingCanvas, save_drawing
from ..text import plain_label, set_tip
from .message_line import MessageLine


class CorrectionBar(QWidget):
    saved = Signal(object)   # the Sample saved (None: a save was undone)

    def __init__(self, canvas: DrawingCanvas, collection: Collection, message: MessageLine | None = None,
                 parent=None):
        super().__init__(parent)
        self.canvas = canvas
        self.collection = collection
        self.last_saved = None    # the Sample saved from the drawing now on the canvas, if any
        self._replaced = None     # the Sample a relabel replaced (undo brings it back)
        self.exact_image = lambda: None   # the 28x28 image to keep instead of the canvas's (workbench)
        canvas.changed.connect(self._drawing_changed)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(3)
        label = plain_label("Wrong? It was:", "muted")
        # The Draw card is 400 px inside: ten buttons at their natural 36 px squeezed this label
        # to "Wron". The label keeps its full width; the buttons share what is left (22-30 px each).
        label.setMinimumWidth(label.sizeHint().width())
        label.setSizePolicy(QSizePolicy.Fixed, QSizePolicy.Preferred)
        lay.addWidget(label)
        self.label = label
        self.buttons = []
        for d in range(10):
            b = QToolButton()
            b.setText(str(d))
            set_tip(b, f"Save this drawing as a {d} in My digits (key {d} while drawing)")
            b.setMinimumWidth(22)
            b.setMaximumWidth(30)
            b.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
            b.setStyleSheet("QToolButton { padding-left: 0px; padding-right: 0px; }")
            b.clicked.connect(lambda _=False, d=d: self.correct(d))
            lay.addWidget(b)
            self.buttons.append(b)
        lay.addStretch(0)
        self.status = message if message is not None else MessageLine()
        self.undo_button = QToolButton(text="Undo save")
        self.undo_button.setObjectName("link")   # style.py: a link's look
        set_tip(self.undo_button, "Take the drawing out of My digits again")
        self.undo_button.clicked.connect(self.undo_save)
        self.undo_button.setVisible(False)
        self.shortcuts = []
        for d in range(10):
            sc = QShortcut(QKeySequence(str(d)), canvas)
            sc.setContext(Qt.WidgetShortcut)   # the canvas's keys: not a digit typed elsewhere in the tab
            sc.activated.connect(lambda d=d: self.correct(d))
            self.shortcuts.append(sc)

    def set_digits(self, on: bool) -> None:
        """Shown (and its keys on) only for a model of the ten digits: My digits keeps digits."""
        self.setVisible(on)
        for sc in self.shortcuts:
            sc.setEnabled(on)

    def _drawing_changed(self) -> None:
        self.last_saved = self._replaced = None
        self.undo_button.setVisible(False)

    def correct(self, label: int):
        """Save the drawing as ``label`` (or relabel it, if it was just saved); the Sample, or None."""
        previous = self.last_saved
        if previous is not None and self.collection.get(previous.id) is not None:
            return self._again(previous, label)
        try:
            sample = save_drawing(self.collection, self.canvas, label, "correction", image=self.exact_image())
        except OSError as e:
            self.status.set_status(f"Could not save: {e.strerror or e}")
            return None
        if sample is None:
            self.status.set_status("Draw a digit first.")
            return None
        self._saved(sample, None, f"Saved as {label}: {self._count(label)} in My digits. Another digit now "
                                  f"changes its label.")
        return sample

    def _again(self, previous, label: int):
        if previous.label == label:
            self.status.set_status(f"Already saved as {label} ({self._count(label)} in My digits); "
                                   f"draw the next digit.")
            return None
        try:
            sample = self.collection.add(label, previous.image, previous.strokes, previous.canvas_size,
                                         previous.source, timestamp=previous.timestamp)
        except OSError as e:
            self.status.set_status(f"Could not change the label: {e.strerror or e}")
            return None
        self.collection.delete(previous.id)
        self._saved(sample, self._replaced or previous,
                    f"Changed to {label} (was {previous.label}): {self._count(label)} in My digits.")
        return sample

    def _saved(self, sample, replaced, text: str) -> None:
        self.last_saved, self._replaced = sample, replaced
        self.status.set_status(text)
        self.undo_button.setVisible(True)
        self.saved.emit(sample)

    def undo_save(self) -> bool:
        """Take the last save back out of My digits (a relabel: the sample as it was before)."""
        sample, replaced = self.last_saved, self._replaced
        if sample is None:
            return False
        self.collection.delete(sample.id)
        if replaced is not None:
            try:
                self.collection.restore(replaced)
            except OSError as e:
                self.status.set_status(f"Could not put back the {replaced.label}: {e.strerror or e}")
        self.last_saved = self._replaced = None
        self.undo_button.setVisible(False)
        self.status.set_status(f"Not saved: {sample.label} taken out of My digits again.")
        self.saved.emit(None)
        return True

    def _count(self, label: int) -> str:
        n = self.collection.counts()[label]
        return f"{n} {'sample' if n == 1 else 'samples'} of {label}"
