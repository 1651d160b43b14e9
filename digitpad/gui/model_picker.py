"""The active model, chosen from the library: a combo in the window's tab bar, seen from every
tab (the Draw tab draws with it, Evaluate judges it, My digits fine-tunes it), beside
"Open…" (any .onnx file) and "Manage…" (rename and delete the library's models)."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QAbstractListModel, QModelIndex, Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QPushButton, QWidget

from digitpad.core.fileio import resolved
from digitpad.core.library import ModelEntry, describe

from .text import item_tip, plain_label, set_tip

# The closed combo is as wide as this line (a model's line from a 1280 px window on), down to COMBO_MIN px.
COMBO_LINE = "digitpad-s-mnist-20260101-120000  ·  digitpad-s on mnist  ·  99.12 %"
COMBO_MIN = 160


def entry_text(entry: ModelEntry) -> str:
    """One line per model: its name, network, data set and test accuracy."""
    meta = entry.metadata
    if entry.pending:
        return entry.name   # described in a moment (the library's background listing)
    if meta is None:
        return f"{entry.name}  ·  no metadata"
    acc = meta.metrics.get("test_accuracy")
    # Two decimals: at MNIST's level 99.56 and 99.6 are different models.
    acc_text = f"  ·  {acc * 100:.2f} %" if isinstance(acc, (int, float)) and acc <= 1 else ""
    return f"{entry.name}  ·  {meta.arch} on {meta.dataset}{acc_text}"


class EntriesModel(QAbstractListModel):
    """The picker's rows, computed when Qt asks for them (the rows on screen): filling a combo
    item by item took 50 ms for 5,000 models, replacing this model's list takes microseconds."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.entries: list[ModelEntry] = []

    def set_entries(self, entries: list[ModelEntry]) -> None:
        self.beginResetModel()
        self.entries = entries
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008, N802 - Qt's signature
        return 0 if parent.isValid() else max(len(self.entries), 1)

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        if not self.entries:
            return "No models found" if role == Qt.DisplayRole else None
        e = self.entries[index.row()]
        if role == Qt.DisplayRole:
            return entry_text(e)
        if role == Qt.UserRole:
            return str(e.path)
        return item_tip(role, f"{entry_text(e)}\n{e.path}")


class ModelPicker(QWidget):
    """Combo of known models plus "Open…" and "Manage…". Emits the chosen path."""

    chosen = Signal(Path)
    openRequested = Signal()
    manageRequested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 6, 0)   # the tab bar's height is all there is
        row.setSpacing(6)
        row.addWidget(plain_label("Model", "muted"))
        self.combo = QComboBox()
        # Wide enough for "digitpad-s-mnist-20260101-120000 · digitpad-s on mnist · 99.12 %" in a large
        # window (``fit``: less in a small one); a longer name is cut in the closed combo, never the window
        # made wider.
        self.combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMinimumContentsLength(8)
        self.combo.setFixedWidth(self._widest())
        self.combo.view().setTextElideMode(Qt.ElideMiddle)
        set_tip(self.combo, "The active model: the Draw tab predicts with it, Evaluate judges it, "
                            "My digits fine-tunes it")
        self.model = EntriesModel(self)
        self.combo.setModel(self.model)
        self.combo.activated.connect(self._activated)
        row.addWidget(self.combo)
        self.open_button = QPushButton("Open…")
        set_tip(self.open_button, "Open an ONNX model file from anywhere (Ctrl+O)")
        self.open_button.clicked.connect(self.openRequested.emit)
        row.addWidget(self.open_button)
        self.manage_button = QPushButton("Manage…")
        set_tip(self.manage_button, "Rename or delete the models in the library")
        self.manage_button.clicked.connect(self.manageRequested.emit)
        row.addWidget(self.manage_button)
        self.entries: list[ModelEntry] = []

    def _widest(self) -> int:
        return self.combo.fontMetrics().horizontalAdvance(COMBO_LINE) + 40   # and the arrow

    def fit(self, room: int) -> None:
        """Take at most ``room`` pixels: the combo narrower, a model's line cut shorter (the whole line is in
        its list and tooltip). The tab bar's tabs come first: in an 800 px window the picker at its full
        width left them a sliver, two tabs hidden behind scroll arrows. (A fixed width: QComboBox keeps
        its first minimum size hint when its minimum contents length changes.)"""
        fixed = self.sizeHint().width() - self.combo.width()
        width = int(max(COMBO_MIN, min(self._widest(), room - fixed)))
        if width != self.combo.width():
            self.combo.setFixedWidth(width)

    def set_entries(self, entries: list[ModelEntry], current: Path | None) -> None:
        self.entries = list(entries)
        current_key = str(resolved(current)) if current else None
        index = next((i for i, e in enumerate(self.entries) if e.key == current_key), None)
        if current_key and index is None:
            self.entries.append(describe(Path(current), "opened"))
            index = len(self.entries) - 1
        self.combo.blockSignals(True)
        try:
            self.model.set_entries(self.entries)
            self.combo.setCurrentIndex(index if index is not None else 0)
        finally:
            self.combo.blockSignals(False)
        self.combo.setEnabled(bool(self.entries))

    def _activated(self, index: int) -> None:
        if 0 <= index < len(self.entries):
            self.chosen.emit(self.entries[index].path)
