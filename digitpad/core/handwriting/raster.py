"""A numpy rasteriser for drawings: what ``DrawingCanvas`` paints, without Qt.

The canvas joins the pen samples with quadratic pieces through their midpoints (a
quadratic B-spline) and paints them with a round, antialiased pen; this does the same
with a distance field: coverage = clip(radius - distance + 0.5, 0, 1), union by max.
It renders only the drawing's bounding box, at most ``target`` pixels across (the app
shrinks the digit to 20 px anyway), so a digit costs a few milliseconds.

``model_input(drawing)`` then runs the app's own ``preprocess.to_model_input``, so the
28x28 image is made exactly the way the app makes it.
"""
from __future__ import annotations

import numpy as np

from ..preprocess import to_model_input
from .strokes import Drawing


def canvas_path(points: np.ndarray, per_piece: int = 5) -> np.ndarray:
    """The polyline the canvas paints for these samples (see canvas._piece): a line to the
    first midpoint, quadratic pieces midpoint to midpoint bent through each sample, a line
    from the last midpoint to the last sample."""
    p = np.asarray(points, dtype=np.float64)[:, :2]
    if len(p) < 2:
        return p.copy()
    mids = (p[:-1] + p[1:]) / 2
    t = np.linspace(0, 1, per_piece + 1)[1:, None, None]              # [T, 1, 1]
    a, c, b = mids[:-1][None], p[1:-1][None], mids[1:][None]         # [1, K, 2]
    curves = ((1 - t) ** 2 * a + 2 * (1 - t) * t * c + t ** 2 * b)   # [T, K, 2]
    curves = curves.transpose(1, 0, 2).reshape(-1, 2)
    return np.vstack([p[:1], mids[:1], curves, p[-1:]])


def _paint(img: np.ndarray, a: np.ndarray, b: np.ndarray, r: float, chunk: int = 12) -> None:
    """Max-composite round-capped segments a[i] -> b[i] (pixel units) into img."""
    h, w = img.shape
    a = a.astype(np.float32)
    b = b.astype(np.float32)
    for i in range(0, len(a), chunk):
        sa, sb = a[i:i + chunk], b[i:i + chunk]
        lo = np.floor(np.minimum(sa.min(0), sb.min(0)) - r - 1).astype(int)
        hi = np.ceil(np.maximum(sa.max(0), sb.max(0)) + r + 1).astype(int)
        x0, y0 = max(lo[0], 0), max(lo[1], 0)
        x1, y1 = min(hi[0], w), min(hi[1], h)
        if x1 <= x0 or y1 <= y0:
            continue
        xs = np.arange(x0, x1, dtype=np.float32)[None, :, None] + 0.5     # [1, W, 1]
        ys = np.arange(y0, y1, dtype=np.float32)[:, None, None] + 0.5     # [H, 1, 1]
        dx, dy = sb[:, 0] - sa[:, 0], sb[:, 1] - sa[:, 1]                 # [S]
        inv = 1.0 / np.maximum(dx * dx + dy * dy, 1e-12)
        rx, ry = xs - sa[:, 0], ys - sa[:, 1]                             # [1, W, S], [H, 1, S]
        t = np.clip((rx * dx + ry * dy) * inv, 0, 1)                      # [H, W, S]
        ex, ey = rx - t * dx, ry - t * dy
        d2 = (ex * ex + ey * ey).min(-1)
        cov = np.clip(r + 0.5 - np.sqrt(d2), 0, 1)
        np.maximum(img[y0:y1, x0:x1], cov, out=img[y0:y1, x0:x1])


def render(drawing: Drawing, target: int = 96) -> np.ndarray:
    """White-on-black float32 image of the drawing's ink (its bounding box, scaled so the
    longer side is at most ``target`` px; never enlarged beyond canvas resolution)."""
    allp = np.vstack([s[:, :2] for s in drawing.strokes if len(s)])
    r0 = drawing.width / 2
    lo = allp.min(0) - r0 - 1
    extent = float((allp.max(0) + r0 + 1 - lo).max())
    f = min(1.0, target / extent)
    side = (np.ceil((allp.max(0) + r0 + 1 - lo) * f) + 1).astype(int)
    img = np.zeros((side[1], side[0]), np.float32)
    r = r0 * f
    for s in drawing.strokes:
        if not len(s):
            continue
        # pieces about 1.5 rendered px long: finer adds nothing visible, coarser shows corners
        step = float(np.hypot(*np.diff(s[:, :2], axis=0).T).mean()) * f if len(s) > 1 else 1.0
        q = (canvas_path(s, per_piece=int(np.clip(np.ceil(step / 1.5), 1, 6))) - lo) * f
        if len(q) == 1:
            q = np.vstack([q, q + [0.01, 0]])
        _paint(img, q[:-1], q[1:], r)
    return img


def model_input(drawing: Drawing, target: int = 96) -> np.ndarray | None:
    """The 28x28 float32 [1, 1, 28, 28] the app would feed the model for this drawing."""
    return to_model_input(render(drawing, target))


def to_uint8(x28: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(np.asarray(x28).reshape(28, 28) * 255), 0, 255).astype(np.uint8)
