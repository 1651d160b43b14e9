"""Shapes, filled-in size formulas, params and multiply-adds; the what-if function."""
from __future__ import annotations

import itertools

import numpy as np
import onnx
import pytest
from onnx import numpy_helper
from onnx_graphs import run_ort, single_op

from digitpad.core.inference import Predictor
from digitpad.core.shapes import LayerSpec, SizeFormula, specs_of, what_if


def test_model_shapes_of_the_digitpad_arch(zoo):
    path = zoo["digitpad+floor"]
    p = Predictor(path)
    table = p.shapes()
    assert [r.stage for r in table.stages] == [s.name for s in p.stages()]
    assert [r.shape for r in table.stages] == [s.shape for s in p.stages()]
    by_title = {r.title: r for r in table.stages}
    conv1 = by_title["conv1 · Conv"]
    assert conv1.formula_text() == "(28 - 3 + 2·1) / 1 + 1 = 28"
    assert conv1.params == 32 * 9 + 32 and conv1.macs == 32 * 28 * 28 * 9
    assert by_title["MaxPool 3"].formula_text() == "(7 - 2 + 2·0) / 2 + 1 = 3.5 → 3 (rounded down)"
    assert by_title["logits"].params == 1152 * 10 + 10 and by_title["logits"].macs == 11520
    weights = [v for v in (numpy_helper.to_array(i) for i in onnx.load(str(path)).graph.initializer)
               if v.dtype == np.float32 and v.size > 1]
    assert table.params == sum(v.size for v in weights)
    assert table.macs == 32 * 784 * 9 + 64 * 196 * 32 * 9 + 64 * 196 * 64 * 9 + 128 * 49 * 64 * 9 + 11520


def test_batch_norm_counts_params_and_statistics(zoo):
    rows = {r.title: r for r in Predictor(zoo["digitpad-s+bn"]).shapes().stages}
    bn = rows["conv2 · BatchNormalization"]
    assert (bn.params, bn.statistics, bn.macs) == (64, 64, 0)
    assert rows["Sub 1"].statistics == 1 and rows["Sub 1"].params == 0


@pytest.mark.parametrize("op", ["MaxPool", "Conv"])
def test_size_formula_agrees_with_onnxruntime(op):
    for size, k, s, p, ceil in itertools.product([5, 6, 7, 8], [1, 2, 3], [1, 2, 3], [0, 1], [0, 1]):
        if op == "Conv" and ceil:
            continue
        if op == "MaxPool" and p >= k:
            continue
        extra = {"w": np.ones((1, 1, k, k), np.float32)} if op == "Conv" else {}
        attrs = {"ceil_mode": ceil} if op == "MaxPool" else {}
        model = single_op(op, [1, 1, size, size], extra, kernel_shape=[k, k], strides=[s, s], pads=[p] * 4, **attrs)
        out = run_ort(model, np.zeros((1, 1, size, size), np.float32))["y"].shape[-1]
        assert SizeFormula(size, k, s, p, p, ceil_mode=bool(ceil)).out == out, (size, k, s, p, ceil)


def test_formula_texts():
    assert SizeFormula(7, 2, 2, ceil_mode=True).text() == "(7 - 2 + 2·0) / 2 + 1 = 3.5 → 4 (rounded up: ceil mode)"
    dropped = SizeFormula(5, 2, 3, 1, 1, ceil_mode=True)
    assert dropped.out == 2 and "start in the padding" in dropped.text()
    assert SizeFormula(28, 5, 1, 1, 3).text() == "(28 - 5 + 1 + 3) / 1 + 1 = 28"
    assert SizeFormula(3, 5).text().endswith("no window fits")


def test_what_if_follows_the_shapes():
    rows = what_if(28, [LayerSpec("conv", 3, 1, 1, channels=32), LayerSpec("maxpool", 2, 2),
                        LayerSpec("conv", 5, 2, 0, channels=8), LayerSpec("avgpool", 2, 2, ceil_mode=True)])
    assert [r.output for r in rows] == [(32, 28), (32, 14), (8, 5), (8, 3)]
    assert all(r.ok for r in rows)
    assert rows[0].params == 32 * 9 + 32 and rows[0].macs == 32 * 28 * 28 * 9
    assert rows[2].formula.text() == "(14 - 5 + 2·0) / 2 + 1 = 5.5 → 5 (rounded down)"
    assert rows[2].notes == [
        "9 is not a multiple of the stride 2: rounded down, so the last input position is never read."]
    assert any("Ceil mode" in n for n in rows[3].notes)


def test_what_if_explains_invalid_settings():
    rows = what_if(8, [LayerSpec("maxpool", 2, 2), LayerSpec("conv", 7, 1, 0), LayerSpec("conv", 3)])
    assert rows[0].ok and not rows[1].ok and rows[2].problems == ["Follows a layer that cannot run."]
    assert rows[1].problems[0].startswith("The kernel (7) is larger than the padded input (4 + 0 = 4)")
    assert what_if(28, [LayerSpec("conv", 3, 0)])[0].problems == ["The stride must be at least 1 (it is 0)."]
    assert "PyTorch refuses" in what_if(28, [LayerSpec("maxpool", 2, 2, 2)])[0].problems[0]
    assert "never read" in what_if(28, [LayerSpec("conv", 1, 3)])[0].notes[0]
    assert what_if(28, [LayerSpec("conv", 3, channels=0)])[0].problems[0].startswith("A conv needs")


def test_what_if_from_the_loaded_model_reproduces_it(zoo):
    for name in ("digitpad-s", "seed002", "digitpad-s+ceil"):
        p = Predictor(zoo[name])
        size, channels, specs = specs_of(p.network)
        rows = what_if(size, specs, channels)
        shapes = [s.shape for s in p.stages() if s.op in ("Conv", "MaxPool")]
        assert [(r.output[0], r.output[1], r.output[1]) for r in rows] == shapes
