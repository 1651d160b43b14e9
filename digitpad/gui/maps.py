"""A grid of small images sharing one colour map and one value scale (pyqtgraph): the Draw tab's feature
maps and kernels, the Train tab's live kernels and maps.

The tiles are laid out into one mosaic image (NaN between tiles, which pyqtgraph draws
transparent) shown by a single ImageItem: one colour lookup and one draw per update
instead of one per tile, which matters at 60 Hz with 64 maps on a 2-core laptop.
Imported lazily (pyqtgraph takes ~0.4 s to import), after the window is on screen.
"""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtGui import QColor

from . import style

pg.setConfigOptions(imageAxisOrder="row-major", antialias=True, background=style.CARD, foreground=style.MUTED)

ACTIVATION_CMAP = "viridis"
WEIGHT_CMAP = "CET-D1A"   # diverging: negative weights blue, positive red, zero white-ish
GAP = 0.12                # space between tiles, as a fraction of a tile


_NICE_STEPS = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)


def nice_ceil(x: float) -> float:
    """The smallest of 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 (times a power of ten) that is >= x.

    Auto levels snap to these, so while someone draws the colour scale holds still instead
    of flickering with every new maximum, and the colour bar's axis (pyqtgraph lays out its
    ticks again on every change: ~2 ms a frame) is only redone when the scale really moves."""
    if not math.isfinite(x) or x <= 0:
        return 1.0
    exp = math.floor(math.log10(x))
    for step in _NICE_STEPS:
        value = step * 10.0 ** exp
        if value >= x * (1 - 1e-9):
            return value
    return 10.0 ** (exp + 1)


def kernel_rgb(w: np.ndarray) -> np.ndarray:
    """Kernels [N, 3, kh, kw] as colour patches [N, kh, kw, 3] in 0..1: 0.5 + w / (2 max|w|), one scale
    for the whole layer, so a patch's colour is what its weights favour and grey is no preference."""
    w = np.asarray(w, np.float32)
    m = float(np.abs(w).max()) or 1.0
    return np.clip(0.5 + w.transpose(0, 2, 3, 1) / (2 * m), 0, 1)


class _Mosaic(pg.ImageItem):
    def __init__(self, on_click, on_hover=None):
        super().__init__()
        self._on_click = on_click
        self._on_hover = on_hover

    def mouseClickEvent(self, ev):
        ev.accept()
        self._on_click(ev.pos().x(), ev.pos().y())

    def hoverEvent(self, ev):
        if self._on_hover is not None:
            self._on_hover(None if ev.isExit() else (ev.pos().x(), ev.pos().y()))


class MapGrid(pg.GraphicsLayoutWidget):
    """Maps [N, H, W] in a near-square grid with a colour bar. ``clicked(i)`` on a tile;
    ``pixelClicked(i, row, col)`` and ``hovered(i, row, col)`` name the pixel (``hovered``
    gives i = -1 when the pointer leaves the maps)."""

    clicked = Signal(int)
    pixelClicked = Signal(int, int, int)
    hovered = Signal(int, int, int)

    def __init__(self, cmap: str = ACTIVATION_CMAP, symmetric: bool = False, bar: bool = True, parent=None):
        super().__init__(parent)
        self.symmetric = symmetric
        self.cmap = pg.colormap.get(cmap)
        self.ci.layout.setContentsMargins(4, 4, 4, 4)
        self.view = self.addViewBox(lockAspect=True, invertY=True, enableMouse=False, enableMenu=False)
        self.view.setDefaultPadding(0.01)
        self.image = _Mosaic(self._click_at, self._hover_at)
        self.image.setColorMap(self.cmap)
        self.view.addItem(self.image)
        self.frame: pg.QtWidgets.QGraphicsRectItem | None = None
        self.maps: np.ndarray | None = None
        self.levels = (0.0, 1.0)
        self.bar = None
        if bar:
            self.bar = pg.ColorBarItem(values=(0, 1), colorMap=self.cmap, interactive=False, width=12)
            self.bar.setImageItem(self.image)
            self.addItem(self.bar)
            self.bar.setVisible(False)   # until there are maps
        self._shape: tuple[int, int, int] | None = None
        self._colour = False          # the image holds RGB tiles (set_colour_maps), not values to colour
        self.cols = self.rows = 1
        self.gap = 1
        self._hover = (-1, -1, -1)

    @property
    def count(self) -> int:
        return 0 if self.maps is None else len(self.maps)

    def _layout(self, n: int, h: int, w: int) -> None:
        self.cols = max(1, math.ceil(math.sqrt(n * h / w)))
        self.rows = math.ceil(n / self.cols)
        self.gap = max(1, round(0.15 * max(h, w)))
        self._shape = (n, h, w)
        self._mosaic = np.full((self.rows * self.cols, h + self.gap, w + self.gap), np.nan, np.float32)
        full_h = self.rows * (h + self.gap) - self.gap
        full_w = self.cols * (w + self.gap) - self.gap
        self.view.setRange(xRange=(0, full_w), yRange=(0, full_h), padding=0.02)
        self.highlight(None)

    def set_colour_maps(self, rgb: np.ndarray) -> None:
        """Colour tiles [N, H, W, 3], 0..1 (a first layer's kernels as RGB patches): no colour map, no bar.
        The tiles keep their places (``tile_at``) as with ``set_maps``."""
        rgb = np.clip(np.asarray(rgb, dtype=np.float32), 0, 1)
        n, h, w, _ = rgb.shape
        if self._shape != (n, h, w):
            self._layout(n, h, w)
        self.maps = rgb
        g = self.gap
        # RGB with levels, the gaps in the card's colour: RGBA without levels is not drawn while a colour
        # bar is linked to the image (pyqtgraph 0.14).
        mosaic = np.empty((self.rows * self.cols, h + g, w + g, 3), np.uint8)
        mosaic[:] = QColor(style.CARD).getRgb()[:3]
        mosaic[:n, :h, :w] = np.round(rgb * 255)
        mosaic = (mosaic.reshape(self.rows, self.cols, h + g, w + g, 3).transpose(0, 2, 1, 3, 4)
                  .reshape(self.rows * (h + g), self.cols * (w + g), 3)[:-g, :-g])
        self.image.setLookupTable(None)   # pyqtgraph would look RGB values up in the colour map too
        self.image.setImage(np.ascontiguousarray(mosaic), autoLevels=False, levels=(0, 255))
        self.image.setLevels((0, 255))   # again: on an image's first setImage pyqtgraph keeps the bar's (0, 1)
        self.image.setVisible(True)
        if self.bar is not None:
            self.bar.setVisible(False)
        self._colour = True

    def set_maps(self, maps: np.ndarray, levels: tuple[float, float] | None = None) -> None:
        maps = np.asarray(maps, dtype=np.float32)
        if maps.ndim == 2:
            maps = maps[None]
        if self._shape != maps.shape:
            self._layout(*maps.shape)
        if self._colour:   # back from colour tiles: the colour map again
            self._colour = False
            self.image.setColorMap(self.cmap)
        if levels is None:
            if self.symmetric:
                m = nice_ceil(float(np.abs(maps).max()))
                levels = (-m, m)
            else:
                lo, hi = float(maps.min()), float(maps.max())
                lo = 0.0 if lo >= 0 else -nice_ceil(-lo)   # ReLU maps start at 0
                levels = (lo, nice_ceil(hi) if hi > 0 else lo + 1.0)
        changed = levels != self.levels
        self.maps = maps
        self.levels = levels
        n, h, w = maps.shape
        self._mosaic[:n, :h, :w] = maps
        g = self.gap
        mosaic = (self._mosaic.reshape(self.rows, self.cols, h + g, w + g).transpose(0, 2, 1, 3)
                  .reshape(self.rows * (h + g), self.cols * (w + g))[:-g, :-g])
        self.image.setImage(np.ascontiguousarray(mosaic), levels=levels, autoLevels=False)
        self.image.setVisible(True)
        if self.bar is not None:
            if changed:
                self.bar.setLevels(levels)
            if not self.bar.isVisible():
                self.bar.setVisible(True)

    def tile_origin(self, index: int) -> tuple[float, float]:
        _, h, w = self._shape
        return (index % self.cols) * (w + self.gap), (index // self.cols) * (h + self.gap)

    def tile_at(self, x: float, y: float) -> tuple[int, int, int] | None:
        """(tile, row, col) of the pixel at mosaic coordinates (x, y); None between tiles."""
        if self._shape is None or x < 0 or y < 0:
            return None
        n, h, w = self._shape
        col, row = int(x // (w + self.gap)), int(y // (h + self.gap))
        inside = x % (w + self.gap) < w and y % (h + self.gap) < h
        index = row * self.cols + col
        if inside and 0 <= col < self.cols and index < n:
            return index, int(y % (h + self.gap)), int(x % (w + self.gap))
        return None

    def _click_at(self, x: float, y: float) -> None:
        hit = self.tile_at(x, y)
        if hit is not None:
            self.clicked.emit(hit[0])
            self.pixelClicked.emit(*hit)

    def _hover_at(self, pos: tuple[float, float] | None) -> None:
        hit = (None if pos is None else self.tile_at(*pos)) or (-1, -1, -1)
        if hit != self._hover:   # one signal per pixel entered, not per mouse move
            self._hover = hit
            self.hovered.emit(*hit)

    def highlight(self, index: int | None) -> None:
        """Outline one tile (the one shown large)."""
        if self.frame is not None:
            self.view.removeItem(self.frame)
            self.frame = None
        if index is None or self._shape is None or index >= self._shape[0]:
            return
        _, h, w = self._shape
        x, y = self.tile_origin(index)
        self.frame = pg.QtWidgets.QGraphicsRectItem(x - 0.4, y - 0.4, w + 0.8, h + 0.8)
        self.frame.setPen(pg.mkPen(QColor(style.ACCENT), width=2, cosmetic=True))
        self.view.addItem(self.frame)

    def clear_maps(self) -> None:
        """Nothing to show: no image, and no colour bar floating beside nothing."""
        self.maps = None
        self._shape = None
        self.image.setVisible(False)
        if self.bar is not None:
            self.bar.setVisible(False)
        self.highlight(None)
