"""Marks drawn over a MapGrid's maps: honest dimming and the unit being explained.

Honest maps (issue 11): a 7x7 map max-pooled 2x2 without ceil mode gives 3x3, so its last row
and column feed nothing; ``set_used`` dims such rows and columns on every tile with one
semi-transparent overlay image (built when the grid's layout changes, not per frame: the
60 Hz path stays one ``setImage``). ``set_unit`` outlines one pixel of one tile.

Call ``sync()`` after the grid's ``set_maps`` or ``clear_maps``: it compares the layout
with the one the marks were built for and redraws only when it moved.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from .. import style
from ..maps import MapGrid

DIM_ALPHA = 170          # of 255: dimmed units stay readable but clearly set back


class MapMarks:
    """Dimmed rows/columns (the same on every tile) and one outlined unit over ``grid``."""

    def __init__(self, grid: MapGrid):
        self.grid = grid
        self.used = None                    # a core.coverage.UsedMap, or None: nothing dimmed
        self.unit: tuple[int, int, int] | None = None
        self._overlay = pg.ImageItem()
        self._overlay.setZValue(5)
        self._overlay.setVisible(False)
        self._overlay.setAcceptedMouseButtons(Qt.NoButton)   # clicks and hovers reach the maps
        self._overlay.setAcceptHoverEvents(False)
        grid.view.addItem(self._overlay)
        self._box = pg.QtWidgets.QGraphicsRectItem(0, 0, 1, 1)
        self._box.setPen(pg.mkPen(QColor(style.ACCENT), width=2.5, cosmetic=True))
        self._box.setZValue(6)
        self._box.setVisible(False)
        self._box.setAcceptedMouseButtons(Qt.NoButton)
        grid.view.addItem(self._box)
        self._built_for = None

    @property
    def reason(self) -> str | None:
        return None if self.used is None else self.used.reason

    def set_used(self, used) -> None:
        """``used``: a UsedMap whose mask matches the maps' [H, W], or None."""
        self.used = None if used is None or used.complete else used
        self._built_for = None
        self.sync()

    def set_unit(self, unit: tuple[int, int, int] | None) -> None:
        """Outline pixel (row, col) of tile ``unit[0]``; None removes the outline."""
        self.unit = unit
        self._place_box()

    def dimmed(self, row: int, col: int) -> bool:
        return self.used is not None and not bool(self.used.mask[row, col])

    def sync(self) -> None:
        g = self.grid
        shape = g._shape
        if shape is None:
            self._overlay.setVisible(False)
            self._box.setVisible(False)
            self._built_for = None
            return
        key = (shape, g.cols, g.gap, id(self.used))
        if key != self._built_for:
            self._built_for = key
            self._build_overlay()
        self._place_box()

    def _build_overlay(self) -> None:
        g = self.grid
        n, h, w = g._shape
        mask = None if self.used is None else self.used.mask
        if mask is None or mask.shape != (h, w):
            self._overlay.setVisible(False)
            return
        tile = np.zeros((h + g.gap, w + g.gap, 4), np.uint8)
        tile[:h, :w][~mask] = (*QColor(style.CARD).getRgb()[:3], DIM_ALPHA)
        tiles = np.zeros((g.rows * g.cols, *tile.shape), np.uint8)
        tiles[:n] = tile
        rgba = (tiles.reshape(g.rows, g.cols, h + g.gap, w + g.gap, 4).transpose(0, 2, 1, 3, 4)
                .reshape(g.rows * (h + g.gap), g.cols * (w + g.gap), 4)[:-g.gap, :-g.gap])
        self._overlay.setImage(np.ascontiguousarray(rgba), levels=(0, 255), autoLevels=False)
        self._overlay.setVisible(True)

    def _place_box(self) -> None:
        g = self.grid
        if self.unit is None or g._shape is None or self.unit[0] >= g._shape[0]:
            self._box.setVisible(False)
            return
        tile, row, col = self.unit
        x, y = g.tile_origin(tile)
        self._box.setRect(x + col, y + row, 1, 1)
        self._box.setVisible(True)


def hover_text(title: str, tile: int, row: int, col: int, value: float, marks: MapMarks | None,
               vector: bool = False) -> str:
    """What a tooltip or status line says about the unit under the pointer."""
    where = f"{title} [{tile}]" if vector else f"{title} · map {tile} · row {row}, col {col}"
    text = f"{where} = {value:.4g}"
    if marks is not None and not vector and marks.dimmed(row, col):
        text += f"\nDimmed: {marks.reason}"
    return text
