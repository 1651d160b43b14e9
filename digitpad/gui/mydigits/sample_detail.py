"""What the active model reads for a saved sample of My digits, and what it answers.

A sample keeps its strokes and its 28x28 model input (the canvas's drawing through the MNIST
preprocessing, as the model it was saved under read it). The active model reads that input
through its own preprocessing: the same 28x28 image for an MNIST-style model, the 8x8 counts for a
UCI-digits model. Shown pixelated, white on black, as the Draw tab shows "What the network sees",
with the model's answer; "Open in the Draw tab" puts the sample on the canvas to draw over.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from ..images import thumbnail
from ..text import plain_label, set_tip
from ..widgets import muted, set_enabled

SIDE = 84    # px: three screen pixels per 28x28 input pixel
WIDTH = 260  # px beside the list


def model_reads(predictor, image: np.ndarray) -> np.ndarray | None:
    """A sample's uint8 [28, 28] input as the active model's canonical image ([1, 1, S, S]); None when the
    model takes pictures, not drawings."""
    if predictor is None or not predictor.input.drawn:
        return None
    x = image.astype(np.float32)[None, None] / 255.0
    if predictor.preprocessing == "mnist":
        return x   # the very input it was saved with
    return predictor.input.from_drawing(x[0, 0])


class SampleDetail(QWidget):
    """The selected sample as the active model reads it, beside the list. ``openRequested(sample)``:
    put it on the Draw tab's canvas."""

    openRequested = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.sample = None
        self.predictor = None
        self.body = QVBoxLayout(self)
        self.body.setContentsMargins(0, 0, 0, 0)
        self.body.addWidget(plain_label("WHAT THE MODEL READS", "cardTitle"))
        row = QHBoxLayout()
        self.image = plain_label()
        self.image.setFixedSize(SIDE, SIDE)
        self.image.setAlignment(Qt.AlignCenter)
        row.addWidget(self.image, 0, Qt.AlignTop)
        col = QVBoxLayout()
        self.answer = plain_label("", wrap=True)   # class names come from the model file: plain text
        col.addWidget(self.answer)
        self.note = muted("")
        col.addWidget(self.note)
        col.addStretch(1)
        row.addLayout(col, 1)
        self.body.addLayout(row)
        self.open_button = QPushButton("Open in the Draw tab")
        set_tip(self.open_button, "Put this sample on the Draw tab's canvas, to look at it again or draw over it")
        self.open_button.clicked.connect(lambda: self.sample is not None and self.openRequested.emit(self.sample))
        self.body.addWidget(self.open_button, 0, Qt.AlignLeft)
        self.body.addStretch(1)
        self.setFixedWidth(WIDTH)
        self.show_sample(None)

    def set_predictor(self, predictor) -> None:
        self.predictor = predictor
        self.show_sample(self.sample)

    def show_sample(self, sample) -> None:
        """``sample``: a collection Sample, or None (nothing selected, or several)."""
        self.sample = sample
        p = self.predictor
        x = model_reads(p, sample.image) if sample is not None else None
        if x is None:
            self.image.clear()   # nothing read: no black square that looks like an empty drawing
        else:
            self.image.setPixmap(thumbnail(x[0, 0], SIDE))
        if sample is None:
            self.answer.setText("Select one sample to see what the active model reads of it.")
            self.note.setText("")
        elif p is None:
            self.answer.setText(f"A {sample.label}. No model is loaded.")
            self.note.setText("")
        elif x is None:
            self.answer.setText(f"A {sample.label}. The active model takes pictures, not drawings.")
            self.note.setText("")
        else:
            probs = p.predict(x).probs
            top = int(np.argmax(probs))
            name = p.classes[top] if top < len(p.classes) else str(top)
            right = name == str(sample.label)
            self.answer.setText(f"Your {sample.label}: {p.name} reads {name} ({probs[top] * 100:.1f} %)"
                                + ("" if right else ", wrong."))
            size = p.input_size
            self.note.setText(f"Its {size} × {size} input, as the Draw tab shows it"
                              + (" (the counts of the 8×8 reduction)" if size == 8 else "") + ".")
        can_open = sample is not None and p is not None and p.input.drawn
        set_enabled(self.open_button, can_open, "Select one sample (and have a model that reads drawings).")
