"""Skeleton thinning and tracing: thin shapes, one loop per ring, MNIST digits re-stroked."""
from __future__ import annotations

import numpy as np

from digitpad.core.handwriting import raster
from digitpad.core.handwriting import skeleton as K
from digitpad.core.handwriting.strokes import split_rng


def test_thin_bar_is_one_pixel_wide():
    img = np.zeros((20, 30), bool)
    img[8:13, 3:27] = True
    sk = K.thin(img)
    assert sk.sum() > 15 and sk.sum(axis=0).max() == 1


def test_ring_traces_to_one_closed_stroke():
    yy, xx = np.mgrid[0:40, 0:40]
    r = np.hypot(yy - 20, xx - 20)
    paths = K.trace(K.thin((r > 10) & (r < 14)))
    assert len(paths) == 1
    p = paths[0]
    assert np.hypot(*(p[0] - p[-1])) < 1.5 and len(p) > 50


def test_mnist_digits_restroked_look_like_themselves(mnist_dir):
    from digitpad.core.datasets import load_split

    test = load_split(mnist_dir, "mnist", "test")
    imgs, labels = test.images[:20], test.labels[:20]
    rng = split_rng("bench", 0)
    for img, label, paths in zip(imgs, labels, K.polylines(imgs)):
        d = K.digit_drawing(paths, int(label), rng, "normal")
        x = raster.model_input(d)[0, 0]
        ink, core = x > 0.5, img > 128
        # each one's ink lies within 2 px of the other's: same shape, nothing added or lost
        assert (ink & _grow(img > 50, 2)).sum() >= 0.9 * ink.sum(), f"digit {label}: ink where there was none"
        assert (core & _grow(ink, 2)).sum() >= 0.9 * core.sum(), f"digit {label}: strokes missing"


def _grow(m, n):
    for _ in range(n):
        m = m | np.roll(m, 1, 0) | np.roll(m, -1, 0) | np.roll(m, 1, 1) | np.roll(m, -1, 1)
    return m
