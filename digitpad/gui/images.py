"""Images as Qt images: one conversion for every view that shows an input, grey or colour."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap


def _as_uint8(a: np.ndarray) -> np.ndarray:
    if a.dtype != np.uint8:
        a = (np.clip(np.nan_to_num(a.astype(np.float32)), 0, 1) * 255 + 0.5).astype(np.uint8)
    return a


def _channels_last(a: np.ndarray) -> np.ndarray:
    """[H, W] and [H, W, 3] as they are; a canonical image [1, H, W] or [3, H, W] channels last."""
    if a.ndim == 3 and a.shape[0] in (1, 3) and a.shape[2] not in (1, 3):
        a = a.transpose(1, 2, 0)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] != 3):
        raise ValueError(f"an image is [H, W], [H, W, 3] or [C, H, W], not {list(a.shape)}")
    return a


def grey_image(pixels: np.ndarray, invert: bool = False) -> QImage:
    """An image as a QImage (a copy: the array may go away): [H, W] grey as 8-bit grey, [H, W, 3] or a
    canonical [C, H, W] as RGB; float 0..1 or uint8. ``invert``: dark ink on white, like paper."""
    a = _as_uint8(_channels_last(np.asarray(pixels)))
    if invert:
        a = 255 - a
    a = np.ascontiguousarray(a)
    h, w = a.shape[:2]
    if a.ndim == 3:
        return QImage(a.data, w, h, 3 * w, QImage.Format_RGB888).copy()
    return QImage(a.data, w, h, w, QImage.Format_Grayscale8).copy()


def thumbnail(pixels: np.ndarray, size: int, invert: bool = False, smooth: bool = False) -> QPixmap:
    """A square pixmap ``size`` px across; pixelated unless ``smooth``."""
    mode = Qt.SmoothTransformation if smooth else Qt.FastTransformation
    return QPixmap.fromImage(grey_image(pixels, invert).scaled(size, size, Qt.IgnoreAspectRatio, mode))


def qimage_array(image: QImage) -> np.ndarray:
    """A QImage (the clipboard's, a drop's) as uint8 [H, W, 4] RGBA, a copy; ``core.picture.picture_array``
    takes it from there (alpha flattened onto white)."""
    img = image.convertToFormat(QImage.Format_RGBA8888)
    w, h = img.width(), img.height()
    if w < 1 or h < 1:
        return np.zeros((0, 0, 4), np.uint8)
    rows = np.frombuffer(img.constBits(), np.uint8, count=img.bytesPerLine() * h).reshape(h, img.bytesPerLine())
    return rows[:, :4 * w].reshape(h, w, 4).copy()
