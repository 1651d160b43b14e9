"""A row of small test images to click: the map's nearest test images, the images a filter responds to.

Each image may carry a patch (a unit's receptive field, ``coverage.Field``): the rest of the image
is dimmed and the patch outlined, so what the unit sees stands out. A click emits the image's key
(its index in the test set). The view only renders what it is handed.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPen
from PySide6.QtWidgets import QHBoxLayout, QSizePolicy, QToolButton, QWidget

from .. import style
from ..images import thumbnail
from ..text import set_tip


def patch_pixmap(image: np.ndarray, side: int, box: tuple[int, int, int, int] | None = None):
    """A thumbnail of a canonical image ([C, S, S]) ``side`` px across, with the patch ``box`` (top, left,
    bottom, right, inclusive, in image pixels) outlined and the rest dimmed."""
    pix = thumbnail(image, side)
    if box is None or box[2] < box[0]:
        return pix
    s = image.shape[-1]
    scale = side / s
    top, left, bottom, right = box
    rect = QRectF(left * scale, top * scale, (right - left + 1) * scale, (bottom - top + 1) * scale)
    p = QPainter(pix)
    p.setRenderHint(QPainter.Antialiasing, False)
    veil = QColor(0, 0, 0, 140)
    full = QRectF(0, 0, side, side)
    if rect != full:
        for part in (QRectF(0, 0, side, rect.top()), QRectF(0, rect.bottom(), side, side - rect.bottom()),
                     QRectF(0, rect.top(), rect.left(), rect.height()),
                     QRectF(rect.right(), rect.top(), side - rect.right(), rect.height())):
            if part.width() > 0 and part.height() > 0:
                p.fillRect(part, veil)
    p.setPen(QPen(QColor(style.PATCH), 1.5))
    p.drawRect(rect.adjusted(0.75, 0.75, -0.75, -0.75))
    p.end()
    return pix


class ImageRow(QWidget):
    """Up to ``count`` thumbnails ``side`` px across in a row; ``clicked(key)``."""

    clicked = Signal(int)

    def __init__(self, count: int, side: int = 40, parent=None):
        super().__init__(parent)
        self.side = side
        self.keys: list[int] = []
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(3)
        self.buttons: list[QToolButton] = []
        for i in range(count):
            b = QToolButton()
            b.setAutoRaise(True)
            b.setIconSize(QSize(side, side))
            b.setFixedSize(side + 6, side + 6)
            b.setFocusPolicy(Qt.TabFocus)
            b.clicked.connect(lambda _c=False, i=i: self._clicked(i))
            b.setVisible(False)
            row.addWidget(b)
            self.buttons.append(b)
        row.addStretch(1)
        self.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Fixed)
        self.setFixedHeight(side + 6)

    def _clicked(self, i: int) -> None:
        if i < len(self.keys):
            self.clicked.emit(self.keys[i])

    def set_images(self, items: list[tuple[int, np.ndarray, str, tuple | None]]) -> None:
        """(key, canonical image, tooltip, patch box or None) per thumbnail; the rest are hidden."""
        self.keys = [key for key, *_ in items][:len(self.buttons)]
        for b, item in zip(self.buttons, items):
            _key, image, tip, box = item
            b.setIcon(QIcon(patch_pixmap(image, self.side, box)))
            set_tip(b, tip)
            b.setVisible(True)
        for b in self.buttons[len(items):]:
            b.setVisible(False)

    def clear(self) -> None:
        self.set_images([])
