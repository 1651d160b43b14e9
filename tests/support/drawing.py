"""Digits drawn as pen strokes in canvas pixel coordinates (canvas side given)."""
from __future__ import annotations

import numpy as np


def vertical_line(size: int = 400, x: float | None = None) -> list[list[tuple[float, float]]]:
    x = size / 2 if x is None else x
    return [[(x, size * 0.18 + i * size * 0.064 / 1) for i in range(11)]]


def loop(size: int = 400, cx: float | None = None, cy: float | None = None, scale: float = 1.0):
    cx = size / 2 if cx is None else cx
    cy = size / 2 if cy is None else cy
    t = np.linspace(0, 2 * np.pi, 64)
    return [[(cx + scale * size * 0.2 * np.sin(a), cy - scale * size * 0.3 * np.cos(a)) for a in t]]


def seven(size: int = 400):
    s = size
    return [[(0.28 * s, 0.2 * s), (0.72 * s, 0.2 * s), (0.6 * s, 0.45 * s), (0.46 * s, 0.8 * s)]]


def draw(canvas, strokes, width: float | None = None) -> None:
    for stroke in strokes:
        canvas.draw_stroke(stroke, width=width)
