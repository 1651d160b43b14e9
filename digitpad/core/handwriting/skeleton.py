"""Pen strokes traced from the skeleton of a bitmap digit (numpy only).

MNIST digits were written with a pen whose width and pressure varied; the canvas
draws with a uniform round pen. Thinning an MNIST digit to its one-pixel skeleton
(Zhang-Suen) and tracing the skeleton into polylines gives the strokes a person would
have drawn, ready to replay through the canvas with any pen width.

- :func:`thin` Zhang-Suen thinning of a batch of boolean images;
- :func:`trace` a skeleton -> polylines (pixel-centre coordinates, spurs pruned);
- :func:`polylines` bitmap digits -> traced strokes; :func:`digit_drawing` -> a canvas drawing.
"""
from __future__ import annotations

import numpy as np

from .strokes import CANVAS_SIZE, Drawing, place

# neighbours P2..P9 clockwise from north, as (dy, dx)
_NB = [(-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1)]


def _neighbours(b: np.ndarray) -> list[np.ndarray]:
    p = np.pad(b, [(0, 0)] * (b.ndim - 2) + [(1, 1), (1, 1)])
    h, w = b.shape[-2:]
    return [p[..., 1 + dy:1 + dy + h, 1 + dx:1 + dx + w] for dy, dx in _NB]


def thin(images: np.ndarray, max_iter: int = 100) -> np.ndarray:
    """Zhang-Suen thinning. ``images``: bool [..., H, W]; returns the skeletons, same shape."""
    b = np.asarray(images, dtype=bool).copy()
    for _ in range(max_iter):
        changed = False
        for step in (0, 1):
            n = [x.astype(np.uint8) for x in _neighbours(b)]
            count = sum(n)
            seq = n + [n[0]]
            transitions = sum(((seq[i] == 0) & (seq[i + 1] == 1)).astype(np.uint8) for i in range(8))
            p2, p4, p6, p8 = n[0], n[2], n[4], n[6]
            # The two sub-iterations differ only in which neighbour triples must hold background.
            c = ((p2 * p4 * p6 == 0) & (p4 * p6 * p8 == 0) if step == 0
                 else (p2 * p4 * p8 == 0) & (p2 * p6 * p8 == 0))
            remove = b & (count >= 2) & (count <= 6) & (transitions == 1) & c
            if remove.any():
                b &= ~remove
                changed = True
        if not changed:
            break
    return b


def _upsample(img: np.ndarray, k: int) -> np.ndarray:
    """Bilinear enlargement by an integer factor (pixel centres preserved)."""
    h, w = img.shape
    ys = (np.arange(h * k) + 0.5) / k - 0.5
    xs = (np.arange(w * k) + 0.5) / k - 0.5
    rows = np.stack([np.interp(xs, np.arange(w), r) for r in img])
    return np.stack([np.interp(ys, np.arange(h), c) for c in rows.T]).T


def trace(skel: np.ndarray, min_spur: float = 3.0) -> list[np.ndarray]:
    """Polylines [(x, y), ...] in pixel-centre coordinates covering every skeleton pixel.

    Paths run between end points and junctions (8-connectivity); a closed loop without
    either is traced from any pixel round to itself. Spurs (an end point to a junction)
    shorter than ``min_spur`` pixels are dropped: thinning leaves them at blunt stroke ends.
    """
    sk = np.asarray(skel, dtype=bool)
    pix = set(zip(*np.nonzero(sk)))
    if not pix:
        return []

    def nbrs(p):
        y, x = p
        out = [(y + dy, x + dx) for dy, dx in _NB if (y + dy, x + dx) in pix]
        # prefer 4-neighbours: drop a diagonal neighbour reachable through a 4-neighbour
        four = {q for q in out if q[0] == y or q[1] == x}
        return [q for q in out if q in four or not any(abs(q[0] - f[0]) + abs(q[1] - f[1]) == 1 for f in four)]

    deg = {p: len(nbrs(p)) for p in pix}
    nodes = {p for p, d in deg.items() if d != 2}
    used = set()   # undirected edges (frozenset of two pixels)
    paths = []
    for start in sorted(nodes) + sorted(pix):
        for nxt in nbrs(start):
            e = frozenset((start, nxt))
            if e in used:
                continue
            used.add(e)
            path = [start, nxt]
            prev, cur = start, nxt
            while cur not in nodes and cur != start:
                cand = [q for q in nbrs(cur) if q != prev and frozenset((cur, q)) not in used]
                if not cand:
                    break
                prev, cur = cur, cand[0]
                used.add(frozenset((prev, cur)))
                path.append(cur)
            paths.append(path)
        if start not in nodes:
            nodes.add(start)   # a loop's start now acts as a node so the loop is traced once
    out = []
    for path in paths:
        a, b = path[0], path[-1]
        length = len(path) - 1
        spur = (deg[a] == 1) != (deg[b] == 1) and length < min_spur
        if spur and len(paths) > 1:
            continue
        out.append(np.array([(x + 0.5, y + 0.5) for y, x in path], dtype=np.float64))
    return _join(out)


def _join(paths: list[np.ndarray], tol: float = 1.5) -> list[np.ndarray]:
    """Join paths that meet end to end in the straightest way, so strokes are long, as drawn."""
    paths = [p for p in paths if len(p)]
    joined = True
    while joined and len(paths) > 1:
        joined = False
        best = None
        for i, a in enumerate(paths):
            for j, b in enumerate(paths):
                if i >= j:
                    continue
                for ra in (False, True):
                    for rb in (False, True):
                        pa = a[::-1] if ra else a
                        pb = b[::-1] if rb else b
                        if np.hypot(*(pa[-1] - pb[0])) > tol:
                            continue
                        da = pa[-1] - pa[max(0, len(pa) - 4)]
                        db = pb[min(len(pb) - 1, 3)] - pb[0]
                        cos = float(da @ db / (np.hypot(*da) * np.hypot(*db) + 1e-9))
                        if cos > 0.3 and (best is None or cos > best[0]):
                            best = (cos, i, j, pa, pb)
        if best:
            _, i, j, pa, pb = best
            merged = np.vstack([pa, pb[1:]])
            paths = [p for k, p in enumerate(paths) if k not in (i, j)] + [merged]
            joined = True
    return paths


def _smooth(p: np.ndarray, k: int = 5) -> np.ndarray:
    if len(p) < k + 2:
        return p
    closed = np.hypot(*(p[0] - p[-1])) < 1e-6
    w = np.ones(k) / k
    if closed:
        ext = np.vstack([p[-k:-1], p, p[1:k]])
        s = np.column_stack([np.convolve(ext[:, i], w, mode="same") for i in (0, 1)])[k - 1:k - 1 + len(p)]
        s[-1] = s[0]
        return s
    ext = np.vstack([np.repeat(p[:1], k // 2, 0), p, np.repeat(p[-1:], k // 2, 0)])
    s = np.column_stack([np.convolve(ext[:, i], w, mode="valid") for i in (0, 1)])
    s[0], s[-1] = p[0], p[-1]
    return s


def polylines(images: np.ndarray, upsample: int = 4, threshold: float = 0.35) -> list[list[np.ndarray]]:
    """Traced strokes of a batch of bitmap digits ([N, H, W] or [H, W], uint8 or 0..1, white on
    black): per digit a list of [n, 2] polylines (x, y) in the bitmap's pixel units.

    Each digit is enlarged ``upsample`` times (bilinear), thresholded and thinned (all at
    once); the skeleton is traced, joined into long strokes and smoothed.
    """
    imgs = np.asarray(images, dtype=np.float64)
    single = imgs.ndim == 2
    imgs = imgs[None] if single else imgs
    if imgs.size and imgs.max() > 1.5:
        imgs = imgs / 255.0
    skels = thin(np.stack([_upsample(im, upsample) for im in imgs]) > threshold)
    out = []
    for sk in skels:
        paths = trace(sk, min_spur=1.5 * upsample)
        out.append([_smooth(p, upsample + 1) / upsample for p in paths if len(p) >= 2])
    return out[0] if single else out


def digit_drawing(paths: list[np.ndarray], label: int, rng: np.random.Generator, condition: str = "normal",
                  canvas_size: int = CANVAS_SIZE, style: str = "mnist skeleton") -> Drawing | None:
    """Traced strokes (from :func:`polylines`) placed on the canvas like a user's drawing:
    size, pen width and position from ``condition`` (see strokes.CONDITIONS); no other change
    to the shape, which is a real person's. None if nothing was traced."""
    if not paths:
        return None
    return place(paths, int(label), rng, condition, canvas_size, style=style)
