"""The benchmark set is reproducible, held out, and scored per class, style and condition."""
from __future__ import annotations

import numpy as np

from digitpad.core.handwriting import bench, strokes


def test_template_set_is_reproducible_and_bench_only(monkeypatch):
    calls = []
    real = strokes.variants

    def spy(style, split):
        calls.append(split)
        return real(style, split)

    monkeypatch.setattr(strokes, "variants", spy)
    a = bench.template_drawings(seed=2, per_cell=1)
    b = bench.template_drawings(seed=2, per_cell=1)
    assert set(calls) == {"bench"}
    assert len(a) == len(strokes.styles()) * len(bench.BENCH_CONDITIONS)
    assert all(np.array_equal(x, y) for da, db in zip(a, b) for x, y in zip(da.strokes, db.strokes))


def test_mnist_set_is_balanced(mnist_dir):
    from digitpad.core.datasets import load_split

    test = load_split(mnist_dir, "mnist", "test")
    ds = bench.mnist_drawings(test.images[:400], test.labels[:400], per_class=3)
    assert np.bincount([d.label for d in ds], minlength=10).tolist() == [3] * 10
    assert {d.condition for d in ds} == set(bench.BENCH_CONDITIONS)


def test_summary():
    ds = [strokes.Drawing(label=label, strokes=[], width=1, style=s, condition=c)
          for label, s, c in [(1, "1 plain", "thin"), (1, "1 flag", "thin"), (7, "7 plain", "normal"),
                          (7, bench.MNIST_STYLE, "normal")]]
    s = bench.summarise(ds, np.array([1, 7, 7, 1]))
    assert s["overall"] == 0.5 and s["class"]["1"]["accuracy"] == 0.5 and s["style"]["1 flag"]["accuracy"] == 0
    assert s["source"]["mnist-test skeletons"]["accuracy"] == 0
    assert s["confusions"][0]["count"] == 1 and s["min_class"] == 0.5
    assert "1 flag" in bench.format_report(s)
