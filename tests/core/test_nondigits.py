"""Generated non-digits: every kind draws, training and benchmark never share a drawing."""
from __future__ import annotations

import numpy as np
import pytest

from digitpad.core.handwriting import nondigits, raster
from digitpad.core.handwriting.strokes import CANVAS_SIZE


def glyph_t() -> np.ndarray:
    """A 'T' bitmap, as training/glyphs.py would give (no font needed)."""
    g = np.zeros((28, 28), np.float32)
    g[4:7, 6:22] = 1
    g[4:24, 12:15] = 1
    return g


LETTERS = nondigits.trace_letters([("test:T", glyph_t())])
DIGITS = [(1, [np.array([[0.0, 0.0], [0.0, 10.0]])]), (7, [np.array([[0.0, 0.0], [6.0, 0.0], [2.0, 10.0]])])]


@pytest.mark.parametrize("split", ["train", "bench"])
def test_every_kind_draws_a_non_digit_on_the_canvas(split):
    drawings = nondigits.generate(40, split, seed=3, condition="normal", letters=LETTERS, digits=DIGITS)
    assert len(drawings) == 40
    assert {d.meta["kind"] for d in drawings} == set(nondigits.KINDS)
    for d in drawings:
        assert d.label == nondigits.NOT_DIGIT
        x0, y0, x1, y1 = d.bbox()
        assert x0 >= -1 and x1 <= CANVAS_SIZE + 1 and y0 >= -1 and y1 <= CANVAS_SIZE + 1
        x = raster.model_input(d)
        assert x is not None and x.shape == (1, 1, 28, 28) and x.max() > 0.5


def test_kinds_without_their_material_are_skipped():
    drawings = nondigits.generate(30, "train", seed=0)
    assert {d.meta["kind"] for d in drawings} == {"scribble", "strokes", "shape"}
    assert nondigits.drawing("letter", np.random.default_rng(0), "train") is None


def test_a_slice_of_the_sequence_is_the_same_drawn_alone():
    whole = nondigits.generate(12, "train", seed=5, letters=LETTERS, digits=DIGITS)
    part = nondigits.generate(4, "train", seed=5, letters=LETTERS, digits=DIGITS, start=8)
    for a, b in zip(whole[8:], part):
        assert a.style == b.style and all(np.array_equal(p, q) for p, q in zip(a.strokes, b.strokes))


def test_training_and_benchmark_never_share_a_drawing():
    train = nondigits.generate(50, "train", seed=0, letters=LETTERS, digits=DIGITS)
    bench = nondigits.generate(50, "bench", seed=0, letters=LETTERS, digits=DIGITS)
    for a, b in zip(train, bench):
        assert a.bbox() != b.bbox()
    # shapes: the bench variants are other geometry, and some families only the bench draws
    assert set(nondigits.shape_names("train")) < set(nondigits.shape_names("bench"))
    for name in nondigits.shape_names("train"):
        train_v, bench_v = nondigits.SHAPES[name]["train"], nondigits.SHAPES[name]["bench"]
        assert all(v not in train_v for v in bench_v), name
    # scribbles come from different generators
    styles = {s: {d.style for d in ds if d.meta["kind"] == "scribble"}
              for s, ds in (("train", train), ("bench", bench))}
    assert "scribble:tangle" not in styles["bench"] and "scribble:walk" not in styles["train"]


def test_letters_that_are_digits_in_disguise_are_left_out():
    for ch in "OoQDIlJjSsZzBbGgqya":
        assert ch not in nondigits.LETTERS, ch
    assert set("AEFHKMNRTWXefhkmnrtwx") <= set(nondigits.LETTERS)


def test_side_by_side_puts_digits_left_to_right():
    rng = np.random.default_rng(0)
    out = nondigits.side_by_side([DIGITS[0][1], DIGITS[1][1]], rng)
    first, second = out[0], out[1]
    assert first[:, 0].max() < second[:, 0].min()   # a gap between them
