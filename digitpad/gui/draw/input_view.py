"""The image the network really receives (28x28, or 8x8 for a UCI-digits model), enlarged, with an
optional saliency overlay. For a model whose input is not the 28x28 MNIST-style image, the drawing's
28x28 image is shown small beside it, so the reduction is visible (an 8x8 model sees 64 counts)."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from .. import style
from ..images import grey_image

REFERENCE_SIZE = 28   # the MNIST-style image shown beside a smaller model input
GAP = 10              # screen pixels between the model input and the 28x28 reference


def _rgb(colour: str) -> np.ndarray:
    c = QColor(colour)
    return np.array([c.red(), c.green(), c.blue()], np.float32)


def saliency_rgba(sal: np.ndarray) -> np.ndarray:
    """[H, W, 4] uint8 for a [H, W] map: warm where ink supports the prediction, cool where it argues
    against. Opacity grows with |value| from ``style.SALIENCY_MIN_ALPHA`` (still readable on black) to 1;
    values under ``style.SALIENCY_FLOOR`` of the largest are not drawn."""
    sal = np.asarray(sal, np.float32)
    scale = float(np.abs(sal).max()) if sal.size else 0.0
    rgba = np.zeros((*sal.shape, 4), np.uint8)
    if scale > 1e-6:
        s = sal / scale
        m = np.abs(s)
        shown = m >= style.SALIENCY_FLOOR
        rgba[..., :3] = np.where((s > 0)[..., None], _rgb(style.SUPPORTS), _rgb(style.ARGUES_AGAINST))
        t = np.clip((m - style.SALIENCY_FLOOR) / (1 - style.SALIENCY_FLOOR), 0, 1) ** 0.7
        alpha = style.SALIENCY_MIN_ALPHA + (1 - style.SALIENCY_MIN_ALPHA) * t
        rgba[..., 3] = np.where(shown, np.round(alpha * 255), 0).astype(np.uint8)
    return rgba


def _saliency_image(sal: np.ndarray) -> QImage:
    rgba = np.ascontiguousarray(saliency_rgba(sal))
    h, w = rgba.shape[:2]
    return QImage(rgba.data, w, h, w * 4, QImage.Format_RGBA8888).copy()


def _crisp(side: float, size: int) -> float:
    """The largest whole number of screen pixels per input pixel that fits: crisp squares."""
    return max(float(size), side - side % size)


class ModelInputView(QWidget):
    """Pixelated on purpose: each square is one input pixel. ``input_size``: the model's side
    (``set_input_size``); ``reference``: the 28x28 image shown small beside a smaller input."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.input_size = 28
        self.pixels: np.ndarray | None = None      # [size, size], what is shown
        self.reference: np.ndarray | None = None   # [28, 28] or None
        self._image: QImage | None = None
        self._reference_image: QImage | None = None
        self._overlay: QImage | None = None
        self.show_saliency = False
        self.outline: tuple[int, int, int, int] | None = None   # a receptive field: top, left, bottom, right
        # 5 to 8 screen pixels per 28x28 input pixel: 5 fits a 1280x720 window, 8 is plenty anywhere.
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setMinimumHeight(5 * 28)
        self.setMaximumHeight(8 * 28)

    def sizeHint(self) -> QSize:
        return QSize(196, 5 * 28)   # the class bars come first when height is short

    @property
    def caption(self) -> str:
        return f"{self.input_size} × {self.input_size} model input"

    def set_input_size(self, size: int) -> None:
        """The side of the active model's input; what was shown for another size goes."""
        if size != self.input_size:
            self.input_size = int(size)
            self.show_input(None)

    def show_input(self, x: np.ndarray | None, reference: np.ndarray | None = None) -> None:
        """``x``: the model input as shown (``InputAdapter.to_display``: [S, S] grey or [S, S, 3] RGB,
        ``input_size`` square; None: nothing drawn). ``reference``: the same drawing as a 28x28
        MNIST-style image, shown beside a smaller input (ignored at 28)."""
        s = self.input_size
        if x is not None:
            x = np.asarray(x, np.float32)
            x = x.reshape(s, s) if x.size == s * s else x.reshape(s, s, 3)
        self.pixels = x
        self._image = None if x is None else grey_image(self.pixels)
        show_ref = x is not None and reference is not None and s != REFERENCE_SIZE
        self.reference = np.asarray(reference, np.float32).reshape(REFERENCE_SIZE, REFERENCE_SIZE) if show_ref \
            else None
        self._reference_image = None if self.reference is None else grey_image(self.reference)
        if x is None:
            self._overlay = None
        self.update()

    def show_saliency_map(self, sal: np.ndarray | None) -> None:
        ok = sal is not None and np.shape(sal) == (self.input_size, self.input_size)
        self._overlay = _saliency_image(sal) if ok else None
        self.update()

    def set_saliency_visible(self, on: bool) -> None:
        self.show_saliency = on
        self.update()

    def set_outline(self, box: tuple[int, int, int, int] | None) -> None:
        """Outline input pixels rows top..bottom, columns left..right (inclusive); None: none."""
        if box != self.outline:
            self.outline = box
            self.update()

    def input_rect(self) -> QRectF:
        """Where the model input is painted: a square of whole screen pixels per input pixel,
        centred, or to the left of the 28x28 reference when one is shown."""
        size = self.input_size
        side = float(min(self.width(), self.height()))
        if self.input_size != REFERENCE_SIZE:
            side = min(side, max(float(size), self.width() - GAP - self._reference_side()))
        side = _crisp(side, size)
        if self.input_size == REFERENCE_SIZE:
            return QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)
        total = side + GAP + self._reference_side()
        return QRectF(max(0.0, (self.width() - total) / 2), (self.height() - side) / 2, side, side)

    def _reference_side(self) -> float:
        """The 28x28 reference: 2 to 3 screen pixels per pixel, as the width allows."""
        return 3.0 * REFERENCE_SIZE if self.width() >= 3 * REFERENCE_SIZE + GAP + 8 * 12 else 2.0 * REFERENCE_SIZE

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        size = self.input_size
        r = self.input_rect()
        side = r.width()
        p.fillRect(r, QColor(style.INPUT_BG))
        p.setRenderHint(QPainter.SmoothPixmapTransform, False)
        if self._image is not None:
            p.drawImage(r, self._image)
            if self.show_saliency and self._overlay is not None:
                p.drawImage(r, self._overlay)
            if self.outline is not None:
                top, left, bottom, right = self.outline
                px = side / size
                p.setPen(QPen(QColor(style.ACCENT), 2))
                p.drawRect(QRectF(r.x() + left * px, r.y() + top * px, (right - left + 1) * px,
                                  (bottom - top + 1) * px).adjusted(1, 1, -1, -1))
        else:
            p.setPen(QColor(style.INPUT_EMPTY_TEXT))
            p.drawText(r, Qt.AlignCenter | Qt.TextWordWrap, self.caption.replace(" model", "\nmodel"))
        p.setPen(QPen(QColor(style.BORDER), 1))
        p.drawRect(r.adjusted(-0.5, -0.5, 0.5, 0.5))
        if size != REFERENCE_SIZE:
            self._paint_reference(p, r)
        p.end()

    def _paint_reference(self, p: QPainter, main: QRectF) -> None:
        """The drawing as a 28x28 image, small, bottom-aligned right of the model input, captioned."""
        ref = self._reference_side()
        box = QRectF(main.right() + GAP, main.bottom() - ref, ref, ref)
        p.fillRect(box, QColor(style.INPUT_BG))
        if self._reference_image is not None:
            p.drawImage(box, self._reference_image)
        p.setPen(QPen(QColor(style.BORDER), 1))
        p.drawRect(box.adjusted(-0.5, -0.5, 0.5, 0.5))
        font = p.font()
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        p.setFont(font)
        p.setPen(QColor(style.MUTED))
        text = QRectF(box.x() - 4, main.top(), ref + 8, box.top() - main.top() - 4)
        p.drawText(text, Qt.AlignHCenter | Qt.AlignBottom | Qt.TextWordWrap,
                   "reduced from\nthis 28 × 28")
