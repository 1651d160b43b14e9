"""The numpy rasteriser paints what the real canvas paints (after the app's preprocessing)."""
from __future__ import annotations

import numpy as np

from digitpad.core.handwriting import raster
from digitpad.core.handwriting import strokes as S
from digitpad.core.preprocess import to_model_input


def test_numpy_raster_matches_the_canvas(qapp):
    from digitpad.gui.canvas import DrawingCanvas

    canvas = DrawingCanvas(size=S.CANVAS_SIZE)
    rng = S.split_rng("bench", 11)
    diffs = []
    for i, style in enumerate(S.styles()):
        d = S.draw(style, rng, "bench", list(S.CONDITIONS)[i % len(S.CONDITIONS)])
        canvas.clear()
        for s in d.strokes:
            canvas.draw_stroke(s, width=d.width)
        q = to_model_input(canvas.to_array())
        r = raster.model_input(d)
        diffs.append(np.abs(q - r).mean())
        assert np.abs(q - r).max() < 0.4, style
    assert np.mean(diffs) < 0.01 and np.max(diffs) < 0.025


def test_dot_and_uint8():
    d = S.Drawing(label=0, strokes=[np.array([[50.0, 50.0]])], width=20)
    img = raster.render(d)
    assert img.max() == 1.0 and img.sum() > 100
    u = raster.to_uint8(raster.model_input(d))
    assert u.dtype == np.uint8 and u.shape == (28, 28) and u.max() == 255
