"""Preprocessing: MNIST's own recipe, checked by its properties."""
from __future__ import annotations

import numpy as np
import pytest

from digitpad.core.preprocess import input_hints, stroke_width, to_model_input

CENTRE = 13.5  # pixel-index centre of a 28-pixel field


def ring(size=300, cy=150, cx=150, ry=80, rx=50, width=14):
    """An antialiased-ish ellipse outline (a drawn 0), white on black."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    r = np.sqrt(((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2)
    d = np.abs(r - 1) * min(ry, rx)
    return np.clip(width / 2 - d + 0.5, 0, 1).astype(np.float32)


def bar(size=300, top=40, bottom=260, left=140, right=160):
    img = np.zeros((size, size), np.float32)
    img[top:bottom, left:right] = 1
    return img


def centre_of_mass(x):
    x = x.reshape(28, 28)
    ys, xs = np.mgrid[0:28, 0:28]
    return (x * ys).sum() / x.sum(), (x * xs).sum() / x.sum()


def ink_extent(x, thr=0.05):
    x = x.reshape(28, 28)
    rows = np.flatnonzero((x > thr).any(axis=1))
    cols = np.flatnonzero((x > thr).any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def weighted_extent(x):
    """Extent of the ink as the sum of per-row maxima: fractional edges counted fractionally."""
    x = x.reshape(28, 28)
    return x.max(axis=1).sum() / x.max(), x.max(axis=0).sum() / x.max()


def test_empty_and_noise_give_none():
    assert to_model_input(np.zeros((200, 200), np.float32)) is None
    noise = np.random.default_rng(0).uniform(0, 0.05, (200, 200)).astype(np.float32)
    assert to_model_input(noise) is None


def test_shape_dtype_range():
    x = to_model_input(ring())
    assert x.shape == (1, 1, 28, 28) and x.dtype == np.float32
    assert x.min() >= 0.0 and x.max() <= 1.0 and x.max() > 0.5


@pytest.mark.parametrize("img", [ring(), bar(), ring(cy=60, cx=230, ry=40, rx=30, width=8),
                                 bar(top=10, bottom=80, left=200, right=290)])
def test_centre_of_mass_within_half_a_pixel(img):
    cy, cx = centre_of_mass(to_model_input(img))
    assert abs(cy - CENTRE) < 0.5 and abs(cx - CENTRE) < 0.5


def test_centre_of_mass_of_lopsided_digit():
    img = bar(top=40, bottom=260, left=100, right=120) + bar(top=40, bottom=60, left=100, right=220)
    cy, cx = centre_of_mass(to_model_input(np.clip(img, 0, 1)))
    assert abs(cy - CENTRE) < 0.5 and abs(cx - CENTRE) < 0.5


@pytest.mark.parametrize("tall", [True, False])
def test_longer_side_is_20px_and_aspect_kept(tall):
    img = bar(top=50, bottom=250, left=100, right=200) if tall else bar(top=100, bottom=200, left=50, right=250)
    x = to_model_input(img)
    h, w = weighted_extent(x)
    long_side, short_side = (h, w) if tall else (w, h)
    assert long_side == pytest.approx(20, abs=0.6)
    assert short_side == pytest.approx(10, abs=0.6)   # 200 x 100 keeps its 2:1 shape
    assert max(ink_extent(x)) <= 21


def test_thin_line_fits_20px_tall():
    x = to_model_input(bar(top=30, bottom=270, left=148, right=152))
    h, _ = ink_extent(x)
    assert 20 <= h <= 21


def test_invariant_to_position():
    a = to_model_input(ring(cy=150, cx=150))
    b = to_model_input(ring(cy=100, cx=200))
    c = to_model_input(ring(cy=200, cx=90))
    assert np.abs(a - b).max() < 0.05 and np.abs(a - c).max() < 0.05


def test_invariant_to_size():
    big = to_model_input(ring(size=600, cy=300, cx=300, ry=240, rx=150, width=42))
    small = to_model_input(ring(size=600, cy=200, cx=400, ry=80, rx=50, width=14))
    assert np.abs(big - small).mean() < 0.02
    assert np.abs(big - small).max() < 0.25


def test_any_canvas_size_and_dtype():
    canvas = ring(size=120, cy=60, cx=60, ry=40, rx=25, width=6).astype(np.float64)
    assert to_model_input(canvas).shape == (1, 1, 28, 28)
    with pytest.raises(ValueError):
        to_model_input(np.zeros((2, 3, 4)))


def test_stroke_width_estimate():
    x = to_model_input(ring())
    assert 1.5 < stroke_width(x) < 4.5  # MNIST-like stroke


def test_hints_quiet_for_typical_digit():
    assert input_hints(ring()) == []
    assert input_hints(np.zeros((100, 100), np.float32)) == []


def test_hint_small_drawing():
    assert any("small" in h for h in input_hints(ring(size=400, cy=200, cx=200, ry=20, rx=12, width=4)))


def test_hint_thin_and_thick():
    thin = ring(size=600, cy=300, cx=300, ry=250, rx=160, width=3)
    assert any("thin" in h for h in input_hints(thin))
    thick = ring(size=300, cy=150, cx=150, ry=90, rx=60, width=70)
    assert any("thick" in h for h in input_hints(thick))


def test_hint_separate_blobs():
    img = np.clip(bar(top=40, bottom=260, left=60, right=80) + bar(top=40, bottom=260, left=220, right=240), 0, 1)
    assert any("separate" in h for h in input_hints(img))


@pytest.mark.parametrize("shape, scale, offset", [((300, 200), 20 / 300, 3.7), ((50, 50), 0.4, 4.2),
                                                  ((400, 400), 0.05, -0.3), ((21, 9), 20 / 21, 4.0)])
def test_fast_shrink_equals_dense_area_resampling(shape, scale, offset):
    from digitpad.core.preprocess import _area_weights, _shrink_rows

    a = np.random.default_rng(1).uniform(0, 1, shape).astype(np.float32)
    dense = _area_weights(shape[0], 28, scale, offset) @ a
    assert np.allclose(_shrink_rows(a, 28, scale, offset), dense, atol=1e-4)


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_a_non_finite_pixel_is_read_as_ink_or_background(bad):
    """One damaged pixel must not turn the whole input into NaN (or blank it)."""
    img = np.zeros((280, 280), np.float32)
    img[60:220, 130:150] = 1.0
    reference = to_model_input(img)
    img[120, 140] = bad
    x = to_model_input(img)
    assert x is not None and np.isfinite(x).all()
    assert np.abs(x - reference).max() < 0.2
