"""The active model: what it says about itself, and what the app cannot show for it."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QVBoxLayout, QWidget

from digitpad.core.library import summary_lines

from ..text import PlainLabel, plain_label


def _form_label(text: str) -> PlainLabel:
    return plain_label(text, "formLabel")


CLASSES_LISTED = 24   # names listed on the Model page; a 100-class model says how many more


def _classes(names: list[str]) -> str:
    listed = ", ".join(names[:CLASSES_LISTED])
    more = f", and {len(names) - CLASSES_LISTED} more" if len(names) > CLASSES_LISTED else ""
    return f"{len(names)}: {listed}{more}"


class ModelInfoView(QWidget):
    """The active model's metadata, and what the app cannot show for it."""

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(16, 14, 16, 14)
        # Everything here comes from the file (its name, its metadata, its graph): plain text.
        self.title = plain_label("No model loaded", "heading", wrap=True)  # style.py QSS; a long name wraps
        lay.addWidget(self.title)
        self.path = plain_label("", "muted", wrap=True)
        self.path.setTextInteractionFlags(Qt.TextSelectableByMouse)
        lay.addWidget(self.path)
        self.form = QFormLayout()
        self.form.setHorizontalSpacing(18)
        self.form.setVerticalSpacing(8)
        lay.addLayout(self.form)
        self.note = plain_label("", "muted", wrap=True)
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
        rows = summary_lines(predictor.metadata)
        # What it takes and tells apart: from its input adapter and class names (file text: plain).
        rows[2:2] = predictor.input.describe() + [("Classes", _classes(predictor.classes))]
        for label, value in rows:
            v = plain_label(value, wrap=True)
            v.setTextInteractionFlags(Qt.TextSelectableByMouse)
            self.form.addRow(_form_label(label), v)
        io = f"input {predictor.input_name}; outputs {', '.join(predictor.output_names)}"
        graph = plain_label(io, wrap=True)
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
