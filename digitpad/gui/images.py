"""Model inputs as Qt images: one conversion for every view that shows a 28x28 digit."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap


def grey_image(pixels: np.ndarray, invert: bool = False) -> QImage:
    """A [H, W] image, float 0..1 or uint8 0..255, as an 8-bit grey QImage (a copy: the array
    may go away). ``invert``: dark ink on white, like paper."""
    a = np.asarray(pixels)
    if a.dtype != np.uint8:
        a = (np.clip(np.nan_to_num(a.astype(np.float32)), 0, 1) * 255 + 0.5).astype(np.uint8)
    if invert:
        a = 255 - a
    a = np.ascontiguousarray(a)
    h, w = a.shape
    return QImage(a.data, w, h, w, QImage.Format_Grayscale8).copy()


def thumbnail(pixels: np.ndarray, size: int, invert: bool = False, smooth: bool = False) -> QPixmap:
    """A square pixmap ``size`` px across; pixelated unless ``smooth``."""
    mode = Qt.SmoothTransformation if smooth else Qt.FastTransformation
    return QPixmap.fromImage(grey_image(pixels, invert).scaled(size, size, Qt.IgnoreAspectRatio, mode))
