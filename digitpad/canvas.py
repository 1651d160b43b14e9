"""Stable import path named in DESIGN.md; the widget lives in :mod:`digitpad.gui.canvas`."""
from digitpad.gui.canvas import DrawingCanvas, Stroke

__all__ = ["DrawingCanvas", "Stroke"]
