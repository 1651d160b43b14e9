"""Mouse clicks and hovers on a pyqtgraph map view (posted to its viewport), as a user makes them."""
from __future__ import annotations

from PySide6.QtCore import QPointF, Qt


def _viewport_pos(grid, tile: int, row: int, col: int):
    x, y = grid.tile_origin(tile)
    return grid.mapFromScene(grid.view.mapViewToScene(QPointF(x + col + 0.5, y + row + 0.5)))


def click_unit(qtbot, grid, tile: int, row: int, col: int) -> None:
    qtbot.mouseClick(grid.viewport(), Qt.LeftButton, pos=_viewport_pos(grid, tile, row, col))


def open_unit(qtbot, fm, tile: int, row: int, col: int) -> None:
    """As a user does: a click on a map in the grid opens it large (the tab stays), a click on the
    large map's pixel opens its arithmetic."""
    click_unit(qtbot, fm.grid, tile, row, col)
    assert fm.selected == tile and fm.isVisible()
    qtbot.wait(50)   # the large map lays itself out
    click_unit(qtbot, fm.large, 0, row, col)


def hover_unit(qtbot, grid, tile: int, row: int, col: int) -> None:
    qtbot.mouseMove(grid.viewport(), pos=_viewport_pos(grid, tile, row, col))
