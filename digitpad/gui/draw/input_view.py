"""The image the network really receives (28x28, 8x8 for a UCI-digits model, 32x32 RGB for a
photo model), enlarged, with an optional saliency overlay. Beside it, small, what it was made from
when that says something: the drawing's 28x28 image for a smaller input (an 8x8 model sees 64
counts), or a picture as it was opened (a photo, a scan of a digit) for the image the model takes."""
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
    (``set_input_size``); ``reference``: what the input was made from, shown small beside it."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.input_size = 28
        self.channels = 1
        self.pixels: np.ndarray | None = None      # [size, size] or [size, size, 3], what is shown
        self.reference: np.ndarray | None = None   # [H, W] or [H, W, 3], or None
        self.reference_caption = ""
        self.reference_region: tuple[float, float, float, float] | None = None
        self._image: QImage | None = None
        self._muted: QImage | None = None          # a colour input greyed and darkened, under saliency
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

    def set_input_size(self, size: int, channels: int = 1) -> None:
        """The side and channels of the active model's input; what was shown for another size goes."""
        if (size, channels) != (self.input_size, self.channels):
            self.input_size, self.channels = int(size), int(channels)
            self.show_input(None)

    def show_input(self, x: np.ndarray | None, reference: np.ndarray | None = None,
                   reference_caption: str = "", reference_region: tuple[float, float, float, float] | None = None
                   ) -> None:
        """``x``: the model input as shown (``InputAdapter.to_display``: [S, S] grey or [S, S, 3] RGB,
        ``input_size`` square; None: nothing shown). ``reference``: what it was made from ([H, W] or
        [H, W, 3], float 0..1 or uint8: the drawing's 28x28 image, an opened picture), shown small
        beside it under ``reference_caption``; ``reference_region``: the part of it the model's
        preprocessing keeps (left, top, width, height, as fractions of the reference), outlined."""
        s = self.input_size
        if x is not None:
            x = np.asarray(x, np.float32)
            x = x.reshape(s, s) if x.size == s * s else x.reshape(s, s, 3)
        self.pixels = x
        self._image = None if x is None else grey_image(self.pixels)
        self._muted = None
        if self._image is not None and x.ndim == 3:
            # Saliency's warm and cool read on black; over a colourful photo they would not.
            self._muted = grey_image(x @ np.array([0.299, 0.587, 0.114], np.float32) * 0.45)
        self.reference = None if x is None or reference is None else np.asarray(reference)
        self.reference_caption = reference_caption
        self.reference_region = reference_region if self.reference is not None else None
        self._reference_image = None if self.reference is None else self._fitted(grey_image(self.reference))
        if x is None:
            self._overlay = None
        self.update()

    def _fitted(self, image: QImage) -> QImage:
        """A picture scaled once to the side box (smoothly, when it is a photo larger than the box)."""
        side = int(self._reference_side())
        if image.width() <= side and image.height() <= side and image.width() == image.height():
            return image   # a small square image: drawn pixelated, square by square
        return image.scaled(side, side, Qt.KeepAspectRatio, Qt.SmoothTransformation)

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

    @property
    def side_box(self) -> bool:
        """Whether the reference's box is beside the input: always for an input smaller than the
        drawing's 28x28 (it keeps its place while drawing), else when there is a reference."""
        return self.input_size < REFERENCE_SIZE or self.reference is not None

    def input_rect(self) -> QRectF:
        """Where the model input is painted: a square of whole screen pixels per input pixel,
        centred, or to the left of the reference when one is shown."""
        size = self.input_size
        side = float(min(self.width(), self.height()))
        if self.side_box:
            side = min(side, max(float(size), self.width() - GAP - self._reference_side()))
        side = _crisp(side, size)
        if not self.side_box:
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
            salient = self.show_saliency and self._overlay is not None
            p.drawImage(r, self._muted if salient and self._muted is not None else self._image)
            if salient:
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
        if self.side_box:
            self._paint_reference(p, r)
        p.end()

    def _paint_reference(self, p: QPainter, main: QRectF) -> None:
        """What the input was made from, small, bottom-aligned right of the model input, captioned."""
        ref = self._reference_side()
        box = QRectF(main.right() + GAP, main.bottom() - ref, ref, ref)
        image = self._reference_image
        if image is not None and image.width() != image.height():   # a photo: its own shape, at the bottom
            k = min(1.0, ref / max(image.width(), image.height()))
            w, h = image.width() * k, image.height() * k
            box = QRectF(box.x() + (ref - w) / 2, box.bottom() - h, w, h)
        if image is not None or self.pixels is None:
            p.fillRect(box, QColor(style.INPUT_BG))   # an image, or its place kept while nothing is drawn
        if image is not None:
            p.drawImage(box, image)
        # An input shown with nothing it was made from (a test image): an empty box, not a black one that
        # reads as a blank drawing.
        p.setPen(QPen(QColor(style.BORDER), 1, Qt.SolidLine if image is not None or self.pixels is None
                      else Qt.DashLine))
        p.drawRect(box.adjusted(-0.5, -0.5, 0.5, 0.5))
        if image is not None and self.reference_region is not None and self.reference_region != (0, 0, 1, 1):
            left, top, width, height = self.reference_region   # what the model keeps of it
            p.setPen(QPen(QColor(style.ACCENT), 1.5))
            p.drawRect(QRectF(box.x() + left * box.width(), box.y() + top * box.height(), width * box.width(),
                              height * box.height()).adjusted(0.75, 0.75, -0.75, -0.75))
        font = p.font()
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        p.setFont(font)
        p.setPen(QColor(style.MUTED))
        text = QRectF(main.right() + GAP - 4, main.top(), ref + 8, box.top() - main.top() - 4)
        p.drawText(text, Qt.AlignHCenter | Qt.AlignBottom | Qt.TextWordWrap,
                   self.reference_caption or "reduced from\nthis 28 × 28")
