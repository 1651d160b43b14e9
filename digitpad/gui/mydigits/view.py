"""The My digits tab: the user's own labelled drawings, a guided set, and fine-tuning on them.

The data side is ``digitpad.core.handwriting.collection`` (one file per sample) and
``...finetune``; the Draw tab's correction row adds to the same collection.
"""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from digitpad.core.handwriting.collection import Collection, CollectionError

from ..canvas import DrawingCanvas, save_drawing
from ..images import thumbnail
from ..widgets import card
from .finetune_panel import FineTunePanel

GUIDED_REPEATS = 3
THUMB = 56   # px: two screen pixels per input pixel


class MyDigitsView(QWidget):
    """The user's collection per digit (delete, export, import), a guided set on its own canvas,
    and fine-tuning (``FineTunePanel``). ``changed()`` when the collection changed here."""

    changed = Signal()

    def __init__(self, collection: Collection, controller=None, engine_slot=None, parent=None):
        super().__init__(parent)
        self.setObjectName("workbench")
        self.collection = collection
        self.guided_queue: list[int] = []
        outer = QHBoxLayout(self)
        outer.setContentsMargins(14, 12, 14, 10)
        outer.setSpacing(12)

        collection_card, left = card("My digits")
        outer.addWidget(collection_card, 1)
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
        right.setSpacing(12)
        outer.addLayout(right, 0)
        guided_card, guided = card("Guided set")
        right.addWidget(guided_card)
        self.prompt = QLabel("Guided: draw each digit 3 times, so the model can learn your hand.")
        self.prompt.setWordWrap(True)
        guided.addWidget(self.prompt)
        self.canvas = DrawingCanvas(size=280)
        guided.addWidget(self.canvas, 0, Qt.AlignHCenter)
        row = QHBoxLayout()
        self.start_button = QPushButton("Start guided set")
        self.start_button.clicked.connect(self.start_guided)
        self.next_button = QPushButton("Save and next (Enter)")
        self.next_button.clicked.connect(self.guided_next)
        self.skip_button = QPushButton("Skip")
        self.skip_button.clicked.connect(self.guided_skip)
        for b in (self.start_button, self.next_button, self.skip_button):
            row.addWidget(b)
        guided.addLayout(row)
        self.finetune = FineTunePanel(collection, controller, engine_slot)
        right.addWidget(self.finetune)
        self.changed.connect(self.finetune.update_state)
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
            item = QListWidgetItem(QIcon(thumbnail(s.image, THUMB, invert=True, smooth=True)), str(s.label))
            item.setData(Qt.UserRole, s.id)
            item.setToolTip(f"{s.label} · {s.source or 'sample'}")
            self.list.addItem(item)
        counts = self.collection.counts()
        self.counts_label.setText("  ".join(f"{d}: {n}" for d, n in enumerate(counts)) + f"   total {sum(counts)}")
        self.finetune.update_state()
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
            sample = save_drawing(self.collection, self.canvas, self.guided_queue[0], "guided")
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
