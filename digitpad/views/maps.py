"""A grid of small images sharing one colour map and one value scale (pyqtgraph).

All tiles are ImageItems in a single ViewBox, positioned on a grid: one scene, one
colour bar for all tiles, and updating 64 tiles costs a few hundred microseconds.
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


class _Tile(pg.ImageItem):
    def __init__(self, index: int, on_click):
        super().__init__()
        self.index = index
        self._on_click = on_click

    def mouseClickEvent(self, ev):
        ev.accept()
        self._on_click(self.index)


class MapGrid(pg.GraphicsLayoutWidget):
    """Tiles [N, H, W] in a near-square grid with a colour bar. ``clicked(i)`` on a tile."""

    clicked = Signal(int)

    def __init__(self, cmap: str = ACTIVATION_CMAP, symmetric: bool = False, bar: bool = True, parent=None):
        super().__init__(parent)
        self.symmetric = symmetric
        self.cmap = pg.colormap.get(cmap)
        self.ci.layout.setContentsMargins(4, 4, 4, 4)
        self.view = self.addViewBox(lockAspect=True, invertY=True, enableMouse=False, enableMenu=False)
        self.view.setDefaultPadding(0.01)
        self.tiles: list[_Tile] = []
        self.frame: pg.QtWidgets.QGraphicsRectItem | None = None
        self.levels = (0.0, 1.0)
        self.bar = None
        if bar:
            self.bar = pg.ColorBarItem(values=(0, 1), colorMap=self.cmap, interactive=False, width=12)
            self.addItem(self.bar)
        self._shape: tuple[int, int, int] | None = None

    def _layout(self, n: int, h: int, w: int) -> None:
        for t in self.tiles:
            self.view.removeItem(t)
        cols = max(1, math.ceil(math.sqrt(n * h / w)))
        self.cols = cols
        self.tiles = []
        step_x, step_y = w * (1 + GAP), h * (1 + GAP)
        for i in range(n):
            t = _Tile(i, self.clicked.emit)
            t.setColorMap(self.cmap)
            t.setPos((i % cols) * step_x, (i // cols) * step_y)
            self.view.addItem(t)
            self.tiles.append(t)
        rows = math.ceil(n / cols)
        self.view.setRange(xRange=(0, cols * step_x - w * GAP), yRange=(0, rows * step_y - h * GAP), padding=0.02)
        if self.bar is not None:
            self.bar.setImageItem(self.tiles)  # one scale for every tile
        self._shape = (n, h, w)
        self.highlight(None)

    def set_maps(self, maps: np.ndarray, levels: tuple[float, float] | None = None) -> None:
        maps = np.asarray(maps, dtype=np.float32)
        if maps.ndim == 2:
            maps = maps[None]
        if self._shape != maps.shape:
            self._layout(*maps.shape)
        if levels is None:
            if self.symmetric:
                m = float(np.abs(maps).max()) or 1.0
                levels = (-m, m)
            else:
                lo, hi = float(maps.min()), float(maps.max())
                levels = (lo, hi if hi > lo else lo + 1.0)
        self.levels = levels
        for t, m in zip(self.tiles, maps):
            t.setImage(m, levels=levels, autoLevels=False)
        if self.bar is not None:
            self.bar.setLevels(levels)

    def highlight(self, index: int | None) -> None:
        """Outline one tile (the one shown large)."""
        if self.frame is not None:
            self.view.removeItem(self.frame)
            self.frame = None
        if index is None or self._shape is None or index >= len(self.tiles):
            return
        _, h, w = self._shape
        pos = self.tiles[index].pos()
        self.frame = pg.QtWidgets.QGraphicsRectItem(pos.x() - 0.4, pos.y() - 0.4, w + 0.8, h + 0.8)
        pen = pg.mkPen(QColor(style.ACCENT), width=2, cosmetic=True)
        self.frame.setPen(pen)
        self.view.addItem(self.frame)

    def clear_maps(self) -> None:
        for t in self.tiles:
            self.view.removeItem(t)
        self.tiles = []
        self._shape = None
        self.highlight(None)
