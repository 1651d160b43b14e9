"""Stroke templates: train and bench kept apart, drawings reproducible and on the canvas."""
from __future__ import annotations

import numpy as np
import pytest

from digitpad.core.handwriting import strokes as S


def test_every_digit_has_styles_and_both_splits():
    assert sorted({d for d, _ in S.STYLES.values()}) == list(range(10))
    for name, (_digit, splits) in S.STYLES.items():
        assert splits["train"] and splits["bench"], name


def test_bench_geometry_is_not_a_training_variant():
    for name in S.styles():
        train = [[S.stroke_polyline(s) for s in v] for v in S.variants(name, "train")]
        for v in S.variants(name, "bench"):
            bench = [S.stroke_polyline(s) for s in v]
            for t in train:
                same = len(t) == len(bench) and all(a.shape == b.shape and np.allclose(a, b) for a, b in zip(t, bench))
                assert not same, f"{name}: a bench variant is also a training variant"


def test_split_streams_differ_and_repeat():
    a = S.split_rng("train", 5).random(4)
    assert np.array_equal(a, S.split_rng("train", 5).random(4))
    assert not np.allclose(a, S.split_rng("bench", 5).random(4))
    with pytest.raises(ValueError):
        S.split_rng("test", 1)
    with pytest.raises(ValueError):
        S.variants("7 plain", "other")


@pytest.mark.parametrize("condition", list(S.CONDITIONS) + ["mixed"])
def test_drawings_fit_the_canvas_and_repeat(condition):
    for style in S.styles():
        d1 = S.draw(style, S.split_rng("bench", 1), "bench", condition)
        d2 = S.draw(style, S.split_rng("bench", 1), "bench", condition)
        assert all(np.array_equal(a, b) for a, b in zip(d1.strokes, d2.strokes)) and d1.width == d2.width
        x0, y0, x1, y1 = d1.bbox()
        r = d1.width / 2
        assert x0 - r >= -1 and y0 - r >= -1 and x1 + r <= d1.canvas_size + 1 and y1 + r <= d1.canvas_size + 1
        assert d1.label == S.STYLES[style][0]
        assert condition == "mixed" or d1.condition == condition


def test_resample_keeps_ends():
    p = np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 10.0]])
    r = S.resample(p, 3.0)
    assert np.allclose(r[0], p[0]) and np.allclose(r[-1], p[-1])
    assert np.all(np.hypot(*np.diff(r, axis=0).T) <= 3.0 + 1e-9)
