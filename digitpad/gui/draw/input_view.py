"""The 28x28 image the network really receives, enlarged, with an optional saliency overlay."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from .. import style
from ..images import grey_image


def _rgb(colour: str) -> np.ndarray:
    c = QColor(colour)
    return np.array([c.red(), c.green(), c.blue()], np.float32)


def saliency_rgba(sal: np.ndarray) -> np.ndarray:
    """[28, 28, 4] uint8: warm where ink supports the prediction, cool where it argues against.
    Opacity grows with |value| from ``style.SALIENCY_MIN_ALPHA`` (still readable on black) to 1;
    values under ``style.SALIENCY_FLOOR`` of the largest are not drawn."""
    scale = float(np.abs(sal).max())
    rgba = np.zeros((28, 28, 4), np.uint8)
    if scale > 1e-6:
        s = np.asarray(sal, np.float32) / scale
        m = np.abs(s)
        shown = m >= style.SALIENCY_FLOOR
        rgba[..., :3] = np.where((s > 0)[..., None], _rgb(style.SUPPORTS), _rgb(style.ARGUES_AGAINST))
        t = np.clip((m - style.SALIENCY_FLOOR) / (1 - style.SALIENCY_FLOOR), 0, 1) ** 0.7
        alpha = style.SALIENCY_MIN_ALPHA + (1 - style.SALIENCY_MIN_ALPHA) * t
        rgba[..., 3] = np.where(shown, np.round(alpha * 255), 0).astype(np.uint8)
    return rgba


def _saliency_image(sal: np.ndarray) -> QImage:
    rgba = np.ascontiguousarray(saliency_rgba(sal))
    return QImage(rgba.data, 28, 28, 28 * 4, QImage.Format_RGBA8888).copy()


class ModelInputView(QWidget):
    """Pixelated on purpose: each square is one input pixel."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._image: QImage | None = None
        self._overlay: QImage | None = None
        self.show_saliency = False
        self.outline: tuple[int, int, int, int] | None = None   # a receptive field: top, left, bottom, right
        # 5 to 8 screen pixels per input pixel: 5 fits a 1280x720 window, 8 is plenty anywhere.
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setMinimumHeight(5 * 28)
        self.setMaximumHeight(8 * 28)

    def sizeHint(self) -> QSize:
        return QSize(196, 5 * 28)   # the class bars come first when height is short

    def show_input(self, x28: np.ndarray | None) -> None:
        self._image = None if x28 is None else grey_image(np.asarray(x28).reshape(28, 28))
        if x28 is None:
            self._overlay = None
        self.update()

    def show_saliency_map(self, sal: np.ndarray | None) -> None:
        self._overlay = None if sal is None else _saliency_image(sal)
        self.update()

    def set_saliency_visible(self, on: bool) -> None:
        self.show_saliency = on
        self.update()

    def set_outline(self, box: tuple[int, int, int, int] | None) -> None:
        """Outline input pixels rows top..bottom, columns left..right (inclusive); None: none."""
        if box != self.outline:
            self.outline = box
            self.update()

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        side = float(min(self.width(), self.height()))
        side -= side % 28  # whole screen pixels per input pixel: crisp squares
        r = QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)
        p.fillRect(r, QColor(style.INPUT_BG))
        if self._image is not None:
            p.setRenderHint(QPainter.SmoothPixmapTransform, False)
            p.drawImage(r, self._image)
            if self.show_saliency and self._overlay is not None:
                p.drawImage(r, self._overlay)
            if self.outline is not None:
                top, left, bottom, right = self.outline
                px = side / 28
                p.setPen(QPen(QColor(style.ACCENT), 2))
                p.drawRect(QRectF(r.x() + left * px, r.y() + top * px, (right - left + 1) * px,
                                  (bottom - top + 1) * px).adjusted(1, 1, -1, -1))
        else:
            p.setPen(QColor(style.INPUT_EMPTY_TEXT))
            p.drawText(r, Qt.AlignCenter, "28 × 28\nmodel input")
        p.setPen(QPen(QColor(style.BORDER), 1))
        p.drawRect(r.adjusted(-0.5, -0.5, 0.5, 0.5))
        p.end()
