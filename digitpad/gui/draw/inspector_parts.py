"""What the two inspectors (feature maps, kernels) share: a layer chooser with a line about
what is shown, a muted caption, and the page that says why there is nothing to draw."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QSizePolicy, QVBoxLayout, QWidget

from ..text import PlainLabel, plain_label


def caption(text: str = "", wrap: bool = True) -> PlainLabel:
    """A muted line; plain text, as layer names and file names come from the model (gui.text)."""
    return plain_label(text, "muted", wrap)


def message_page() -> tuple[QWidget, PlainLabel]:
    """A page that says why there is nothing to draw, at the top of the pane (not floating in it)."""
    page = QWidget()
    lay = QVBoxLayout(page)
    lay.setContentsMargins(8, 24, 8, 8)
    label = caption()
    label.setAlignment(Qt.AlignHCenter | Qt.AlignTop)
    lay.addWidget(label)
    lay.addStretch(1)
    return page, label


class LayerChooser(QWidget):
    """'Layer [combo]' (plus extra controls) and, under it, a muted line about what is shown."""

    def __init__(self, label: str, parent=None):
        super().__init__(parent)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(4)
        row = QHBoxLayout()
        row.addWidget(plain_label(label))
        self.combo = QComboBox()
        self.combo.setMinimumWidth(120)
        row.addWidget(self.combo)
        self.extra = QHBoxLayout()
        row.addLayout(self.extra)
        row.addStretch(1)
        col.addLayout(row)
        self.info = caption(wrap=False)
        # Fixed height, ignored width: it changes every frame while drawing, and a label
        # whose size cannot change does not make Qt re-lay out the window.
        self.info.setFixedHeight(self.info.sizeHint().height() + 4)
        self.info.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Fixed)
        col.addWidget(self.info)
