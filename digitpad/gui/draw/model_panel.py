"""Choosing a model and reading what it says about itself."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from digitpad.core.library import ModelEntry, describe, summary_lines


def _short(entry: ModelEntry) -> str:
    meta = entry.metadata
    if meta is None:
        return f"{entry.name}  ·  no metadata"
    acc = meta.metrics.get("test_accuracy")
    # Two decimals: at MNIST's level 99.56 and 99.6 are different models.
    acc_text = f"  ·  {acc * 100:.2f} %" if isinstance(acc, (int, float)) and acc <= 1 else ""
    return f"{entry.name}  ·  {meta.arch} on {meta.dataset}{acc_text}"


def _form_label(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("formLabel")
    return label


class ModelPicker(QWidget):
    """Combo of known models plus 'Open ONNX file...'. Emits the chosen path."""

    chosen = Signal(Path)
    openRequested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        label = QLabel("Model")
        label.setObjectName("muted")
        row.addWidget(label)
        self.combo = QComboBox()
        self.combo.setMinimumWidth(360)
        self.combo.setSizeAdjustPolicy(QComboBox.AdjustToContents)
        self.combo.activated.connect(self._activated)
        row.addWidget(self.combo)
        self.open_button = QPushButton("Open ONNX file…")
        self.open_button.clicked.connect(self.openRequested.emit)
        row.addWidget(self.open_button)
        self.entries: list[ModelEntry] = []

    def set_entries(self, entries: list[ModelEntry], current: Path | None) -> None:
        self.entries = list(entries)
        current_key = str(Path(current).resolve()) if current else None
        if current_key and all(e.key != current_key for e in self.entries):
            self.entries.append(describe(Path(current), "opened"))
        self.combo.blockSignals(True)
        self.combo.clear()
        for e in self.entries:
            self.combo.addItem(_short(e), str(e.path))
            self.combo.setItemData(self.combo.count() - 1, str(e.path), Qt.ToolTipRole)
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


class ModelInfoView(QWidget):
    """The active model's metadata, and what the app cannot show for it."""

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(16, 14, 16, 14)
        self.title = QLabel("No model loaded")
        self.title.setObjectName("heading")  # style.py QSS
        lay.addWidget(self.title)
        self.path = QLabel("")
        self.path.setObjectName("muted")
        self.path.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.path.setWordWrap(True)
        lay.addWidget(self.path)
        self.form = QFormLayout()
        self.form.setHorizontalSpacing(18)
        self.form.setVerticalSpacing(8)
        lay.addLayout(self.form)
        self.note = QLabel("")
        self.note.setObjectName("muted")
        self.note.setWordWrap(True)
        lay.addWidget(self.note)
        lay.addStretch(1)

    def show_model(self, predictor) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        if predictor is None:
            self.title.setText("No model loaded")
            self.path.setText("")
            self.note.setText("")
            return
        self.title.setText(predictor.name)
        self.path.setText(str(predictor.path))
        for label, value in summary_lines(predictor.metadata):
            v = QLabel(value)
            v.setWordWrap(True)
            v.setTextInteractionFlags(Qt.TextSelectableByMouse)
            self.form.addRow(_form_label(label), v)
        io = f"input {predictor.input_name}; outputs {', '.join(predictor.output_names)}"
        graph = QLabel(io)
        graph.setWordWrap(True)
        self.form.addRow(_form_label("Graph"), graph)
        notes = []
        if predictor.metadata_error:
            notes.append(f"Its digitpad metadata could not be read ({predictor.metadata_error}).")
        if predictor.metadata is None:
            notes.append("Without digitpad metadata the app shows predictions and saliency, "
                         "but cannot name layers or show kernels.")
        if not predictor.layers:
            notes.append("It exposes no layer activations, so there are no feature maps.")
        self.note.setText(" ".join(notes))
