"""Teach it your handwriting: the correction row under the canvas and the "My digits" tab.

- :class:`CorrectionBar`: "Wrong? It was: 0 1 … 9". A click, or a digit key anywhere in
  the Draw tab, saves the drawing (its strokes at full resolution and the 28x28 model
  input) with that label in the user's collection.
- :class:`MyDigitsView`: the collection per digit (delete selected), export / import as
  one .npz, and a guided mode that asks for each digit three times on its own canvas.
- :func:`install` adds both to a ``MainWindow`` (one call from app.py).

The data side is ``collection.Collection`` (Qt-free, tested on its own).
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (QComboBox, QFileDialog, QHBoxLayout, QLabel, QListWidget, QListWidgetItem,
                               QMessageBox, QPushButton, QToolButton, QVBoxLayout, QWidget)

from ..canvas import DrawingCanvas
from ..preprocess import to_model_input
from .collection import Collection, CollectionError

GUIDED_REPEATS = 3


def _pixmap(image28: np.ndarray, scale: int = 2) -> QPixmap:
    a = np.ascontiguousarray(255 - np.asarray(image28, np.uint8))   # dark ink on white, like paper
    img = QImage(a.data, 28, 28, 28, QImage.Format_Grayscale8).copy()
    return QPixmap.fromImage(img).scaled(28 * scale, 28 * scale, Qt.KeepAspectRatio, Qt.SmoothTransformation)


def save_canvas(collection: Collection, canvas: DrawingCanvas, label: int, source: str):
    """Save what is on the canvas with its label; None if the canvas has no digit on it."""
    x = to_model_input(canvas.to_array())
    if x is None:
        return None
    return collection.add(label, x, canvas.strokes, canvas_size=canvas.width(), source=source)


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
        lay.addWidget(label)
        self.buttons = []
        for d in range(10):
            b = QToolButton()
            b.setText(str(d))
            b.setToolTip(f"Save this drawing as a {d} in My digits (key {d})")
            b.clicked.connect(lambda _=False, d=d: self.correct(d))
            lay.addWidget(b)
            self.buttons.append(b)
        lay.addStretch(1)
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
            sample = save_canvas(self.collection, self.canvas, label, "correction")
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


class MyDigitsView(QWidget):
    changed = Signal()

    def __init__(self, collection: Collection, parent=None):
        super().__init__(parent)
        self.collection = collection
        self.guided_queue: list[int] = []
        outer = QHBoxLayout(self)
        outer.setContentsMargins(14, 12, 14, 10)

        left = QVBoxLayout()
        outer.addLayout(left, 1)
        top = QHBoxLayout()
        self.filter = QComboBox()
        self.filter.addItem("All digits", None)
        for d in range(10):
            self.filter.addItem(f"Digit {d}", d)
        self.filter.currentIndexChanged.connect(self.refresh)
        top.addWidget(self.filter)
        self.counts_label = QLabel("")
        self.counts_label.setObjectName("muted")
        top.addWidget(self.counts_label, 1)
        left.addLayout(top)
        self.list = QListWidget()
        self.list.setViewMode(QListWidget.IconMode)
        self.list.setIconSize(QSize(56, 56))
        self.list.setResizeMode(QListWidget.Adjust)
        self.list.setSelectionMode(QListWidget.ExtendedSelection)
        self.list.setMovement(QListWidget.Static)
        left.addWidget(self.list, 1)
        buttons = QHBoxLayout()
        self.delete_button = QPushButton("Delete selected")
        self.delete_button.clicked.connect(self.delete_selected)
        self.export_button = QPushButton("Export…")
        self.export_button.clicked.connect(self._export_dialog)
        self.import_button = QPushButton("Import…")
        self.import_button.clicked.connect(self._import_dialog)
        for b in (self.delete_button, self.export_button, self.import_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        left.addLayout(buttons)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        left.addWidget(self.message)

        right = QVBoxLayout()
        outer.addLayout(right, 0)
        self.prompt = QLabel("Guided: draw each digit 3 times, so the model can learn your hand.")
        self.prompt.setWordWrap(True)
        right.addWidget(self.prompt)
        self.canvas = DrawingCanvas(size=280)
        right.addWidget(self.canvas, 0, Qt.AlignHCenter)
        row = QHBoxLayout()
        self.start_button = QPushButton("Start guided set")
        self.start_button.clicked.connect(self.start_guided)
        self.next_button = QPushButton("Save and next (Enter)")
        self.next_button.clicked.connect(self.guided_next)
        self.skip_button = QPushButton("Skip")
        self.skip_button.clicked.connect(self.guided_skip)
        for b in (self.start_button, self.next_button, self.skip_button):
            row.addWidget(b)
        right.addLayout(row)
        right.addStretch(1)
        for key in ("Return", "Enter"):
            sc = QShortcut(QKeySequence(key), self.canvas)
            sc.setContext(Qt.WidgetShortcut)
            sc.activated.connect(self.guided_next)
        self._set_guided_buttons()
        self.refresh()

    # -- the collection ------------------------------------------------------------------------
    def refresh(self) -> None:
        digit = self.filter.currentData()
        self.list.clear()
        for s in self.collection.samples(digit):
            item = QListWidgetItem(QIcon(_pixmap(s.image)), str(s.label))
            item.setData(Qt.UserRole, s.id)
            item.setToolTip(f"{s.label} · {s.source or 'sample'}")
            self.list.addItem(item)
        counts = self.collection.counts()
        self.counts_label.setText("  ".join(f"{d}: {n}" for d, n in enumerate(counts)) + f"   total {sum(counts)}")
        if self.collection.problems:
            names = ", ".join(p.name for p, _ in self.collection.problems[:3])
            self.message.setText(f"{len(self.collection.problems)} file(s) in {self.collection.folder} could not be "
                                 f"read and were left as they are: {names}")

    def delete_selected(self) -> int:
        ids = [it.data(Qt.UserRole) for it in self.list.selectedItems()]
        for sid in ids:
            self.collection.delete(sid)
        if ids:
            self.refresh()
            self.changed.emit()
        return len(ids)

    def export_to(self, path) -> None:
        try:
            n = self.collection.export(path)
            self.message.setText(f"Exported {n} digits to {path}.")
        except (OSError, CollectionError) as e:
            self.message.setText(f"Could not export: {e}")

    def import_from(self, path) -> None:
        try:
            n = self.collection.import_file(path)
        except (OSError, CollectionError) as e:
            self.message.setText(f"Could not import: {e}")
            return
        self.message.setText(f"Imported {n} digits.")
        self.refresh()
        self.changed.emit()

    def _export_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export my digits", "my_digits.npz", "Digit collections (*.npz)")
        if path:
            self.export_to(path)

    def _import_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import digits", "", "Digit collections (*.npz)")
        if path:
            self.import_from(path)

    # -- guided mode ----------------------------------------------------------------------------
    def start_guided(self) -> None:
        self.guided_queue = [d for d in range(10) for _ in range(GUIDED_REPEATS)]
        self.canvas.clear()
        self._show_prompt()
        self.canvas.setFocus()

    def _show_prompt(self) -> None:
        if self.guided_queue:
            d = self.guided_queue[0]
            done = GUIDED_REPEATS - sum(1 for x in self.guided_queue if x == d)
            self.prompt.setText(f"Draw a <b style='font-size:20px'>{d}</b> ({done + 1} of {GUIDED_REPEATS}), "
                                f"then press Enter.")
        else:
            self.prompt.setText("Done: thank you. Your digits are in the list.")
        self._set_guided_buttons()

    def _set_guided_buttons(self) -> None:
        on = bool(self.guided_queue)
        self.next_button.setEnabled(on)
        self.skip_button.setEnabled(on)
        self.start_button.setText("Restart guided set" if on else "Start guided set")

    def guided_next(self):
        if not self.guided_queue:
            return None
        try:
            sample = save_canvas(self.collection, self.canvas, self.guided_queue[0], "guided")
        except OSError as e:
            QMessageBox.warning(self, "My digits", f"Could not save: {e.strerror or e}")
            return None
        if sample is None:
            self.prompt.setText(self.prompt.text().split(" — ")[0] + " — draw it on the canvas first.")
            return None
        self.guided_queue.pop(0)
        self.canvas.clear()
        self._show_prompt()
        self.refresh()
        self.changed.emit()
        return sample

    def guided_skip(self) -> None:
        if self.guided_queue:
            self.guided_queue.pop(0)
            self.canvas.clear()
            self._show_prompt()


def install(window, collection: Collection | None = None):
    """Add the correction row under the Draw tab's canvas and a "My digits" tab."""
    collection = collection or Collection()
    wb = window.workbench
    bar = CorrectionBar(wb.canvas, collection, shortcut_scope=wb)
    layout = wb.canvas.parentWidget().layout()   # the Draw card: canvas, spacing, tools row, tips
    at = layout.indexOf(wb.canvas) + 1
    while at < layout.count() and layout.itemAt(at).layout() is None:
        at += 1
    at = min(at + 1, layout.count())             # just below the tools row
    layout.insertWidget(at, bar)
    layout.insertWidget(at + 1, bar.status)
    view = MyDigitsView(collection)
    window.add_tab(view, "My digits")
    bar.saved.connect(lambda _s: view.refresh())
    window.corrections, window.my_digits = bar, view
    return bar, view
