"""The Draw tab's left card for a model that takes pictures (CIFAR-10, a folder of images,
Fashion-MNIST), in place of the canvas that cannot serve it: the model's test images to pick from,
"Open image…" and "Paste", and the line that says what is shown or why a picture could not be opened.
A picture dropped anywhere on the tab opens too (the workbench takes the drop)."""
from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QPushButton

from ..text import set_tip
from ..widgets import Card
from .message_line import MessageLine
from .test_strip import TestStrip

TIPS = ("Pick a test image, or open a picture of your own: Open image… (Ctrl+Shift+O), Paste (Ctrl+V), "
        "or drop a file here.")


class PictureCard(Card):
    """``strip`` (the test images), ``open_button``, ``paste_button``, ``message``."""

    def __init__(self, settings, width: int, parent=None):
        super().__init__("Pictures", parent)
        self.setFixedWidth(width)
        self.strip = TestStrip(settings)
        self.body.addWidget(self.strip, 1)
        row = QHBoxLayout()
        row.setSpacing(6)
        self.open_button = QPushButton("Open image…")
        set_tip(self.open_button, "Open a picture file: PNG, JPEG, BMP, WebP, GIF, TIFF (Ctrl+Shift+O)")
        self.paste_button = QPushButton("Paste")
        set_tip(self.paste_button, "Paste a picture, or a picture file, from the clipboard (Ctrl+V)")
        row.addWidget(self.open_button)
        row.addWidget(self.paste_button)
        row.addStretch(1)
        self.body.addLayout(row)
        self.message = MessageLine(TIPS)
        self.body.addWidget(self.message)
