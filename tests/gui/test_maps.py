"""The feature-map mosaic's colour scale: stable while drawing, always covering the values."""
import numpy as np
import pytest

from digitpad.gui.maps import MapGrid, nice_ceil


@pytest.mark.parametrize("x, expected", [(0.93, 1.0), (1.0, 1.0), (1.01, 1.2), (7.0, 8.0), (8.5, 10.0),
                                         (0.0123, 0.015), (2400.0, 2500.0), (0.0, 1.0), (float("nan"), 1.0)])
def test_nice_ceil(x, expected):
    assert nice_ceil(x) == pytest.approx(expected)


def test_scale_holds_still_while_values_creep_up_and_moves_when_they_jump(qtbot):
    grid = MapGrid()
    qtbot.addWidget(grid)
    maps = np.random.default_rng(0).random((32, 14, 14), dtype=np.float32)
    grid.set_maps(maps * 0.9)
    first = grid.levels
    grid.set_maps(maps * 0.97)  # a new maximum, as when a stroke grows
    assert grid.levels == first == (0.0, 1.0)
    assert tuple(grid.bar.levels()) == first
    grid.set_maps(maps * 3.3)
    assert grid.levels == (0.0, 4.0) and tuple(grid.bar.levels()) == (0.0, 4.0)
    grid.set_maps(maps - 0.7)  # signed values: the scale reaches below zero
    lo, hi = grid.levels
    assert lo <= float((maps - 0.7).min()) and hi >= float((maps - 0.7).max())
