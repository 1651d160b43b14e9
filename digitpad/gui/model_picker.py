"""The active model, chosen from the library: a combo in the window's tab bar, seen from every
tab (the Draw tab draws with it, Evaluate judges it, My digits fine-tunes it), beside
"Open…" (any .onnx file) and "Manage…" (rename and delete the library's models)."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QPushButton, QWidget

from digitpad.core.library import ModelEntry, describe

from .text import plain_label, set_item_tip, set_tip


def entry_text(entry: ModelEntry) -> str:
    """One line per model: its name, network, data set and test accuracy."""
    meta = entry.metadata
    if meta is None:
        return f"{entry.name}  ·  no metadata"
    acc = meta.metrics.get("test_accuracy")
    # Two decimals: at MNIST's level 99.56 and 99.6 are different models.
    acc_text = f"  ·  {acc * 100:.2f} %" if isinstance(acc, (int, float)) and acc <= 1 else ""
    return f"{entry.name}  ·  {meta.arch} on {meta.dataset}{acc_text}"


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
        # Wide enough for "digitpad-s-mnist-20260101-120000 · digitpad-s on mnist · 99.12 %";
        # a longer name is cut in the closed combo, never the window made wider.
        self.combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMinimumContentsLength(44)
        self.combo.view().setTextElideMode(Qt.ElideMiddle)
        set_tip(self.combo, "The active model: the Draw tab predicts with it, Evaluate judges it, "
                            "My digits fine-tunes it")
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

    def set_entries(self, entries: list[ModelEntry], current: Path | None) -> None:
        self.entries = list(entries)
        current_key = str(Path(current).resolve()) if current else None
        if current_key and all(e.key != current_key for e in self.entries):
            self.entries.append(describe(Path(current), "opened"))
        self.combo.blockSignals(True)
        self.combo.clear()
        for e in self.entries:
            self.combo.addItem(entry_text(e), str(e.path))
            set_item_tip(self.combo, self.combo.count() - 1, f"{entry_text(e)}\n{e.path}")
        if not self.entries:
            self.combo.addItem("No models found")
        for i, e in enumerate(self.entries):
            if e.key == current_key:
                self.combo.setCurrentIndex(i)
        self.combo.setEnabled(bool(self.entries))
        self.combo.blockSignals(False)

    def _activated(self, index: int) -> None:
        if 0 <= index < len(self.entries):
            self.chosen.emit(self.entries[index].path)
