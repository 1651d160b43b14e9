"""The correction row under the Draw tab's canvas: "Wrong? It was: 0 1 … 9".

A click, or a digit key anywhere in the Draw tab, saves the drawing (its strokes at full
resolution and the model input) with that label in the user's collection ("My digits").
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QToolButton, QWidget

from digitpad.core.handwriting.collection import Collection

from ..canvas import DrawingCanvas, save_drawing


class CorrectionBar(QWidget):
    saved = Signal(object)   # the Sample

    def __init__(self, canvas: DrawingCanvas, collection: Collection, shortcut_scope: QWidget | None = None,
                 parent=None):
        super().__init__(parent)
        self.canvas = canvas
        self.collection = collection
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(3)
        label = QLabel("Wrong? It was:")
        label.setObjectName("muted")
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
            b.setToolTip(f"Save this drawing as a {d} in My digits (key {d})")
            b.setMinimumWidth(22)
            b.setMaximumWidth(30)
            b.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
            b.setStyleSheet("QToolButton { padding-left: 0px; padding-right: 0px; }")
            b.clicked.connect(lambda _=False, d=d: self.correct(d))
            lay.addWidget(b)
            self.buttons.append(b)
        lay.addStretch(0)
        self.status = QLabel("")
        self.status.setObjectName("muted")
        scope = shortcut_scope or self
        self.shortcuts = []
        for d in range(10):
            sc = QShortcut(QKeySequence(str(d)), scope)
            sc.setContext(Qt.WidgetWithChildrenShortcut)
            sc.activated.connect(lambda d=d: self.correct(d))
            self.shortcuts.append(sc)

    def correct(self, label: int):
        try:
            sample = save_drawing(self.collection, self.canvas, label, "correction")
        except OSError as e:
            self.status.setText(f"Could not save: {e.strerror or e}")
            return None
        if sample is None:
            self.status.setText("Draw a digit first.")
            return None
        n = self.collection.counts()[label]
        self.status.setText(f"Saved as {label}: {n} {'sample' if n == 1 else 'samples'} of {label} in My digits.")
        self.saved.emit(sample)
        return sample
