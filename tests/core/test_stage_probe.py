"""StageProbe: ONNX Runtime's value of every stage, checked against the NumPy forward pass."""
from __future__ import annotations

import numpy as np
import pytest
from onnx_graphs import foreign_mnist

from digitpad.core.inference import Predictor
from digitpad.core.stage_probe import StageProbe


@pytest.mark.parametrize("name", ["shipped", "digitpad-s+bn", "digitpad-s+ceil", "seed001"])
def test_every_stage_from_onnxruntime_matches_the_forward_pass(zoo, mnist_test, name):
    if name not in zoo:
        pytest.skip("no shipped model")
    p = Predictor(zoo[name])
    probe = StageProbe(p)
    images, _ = mnist_test
    for x in images[:3]:
        ort_values, numpy_values = probe.values(x), p.trace(x)
        stages = [s for s in p.stages() if s.name != p.network.input_name]
        assert {s.name for s in stages} <= set(ort_values)   # pools, pre-ReLU convs, BN, flatten too
        for s in stages:
            assert np.abs(ort_values[s.name] - numpy_values[s.name]).max() <= 1e-4, s.title
    pooled = next(s for s in p.stages() if s.op == "MaxPool")
    e = p.explain(images[0], pooled.name, 1, 2, 3)
    assert e.onnxruntime is None   # not a graph output: the probe is what can check it
    assert probe.value(images[0], pooled.name, (1, 2, 3)) == pytest.approx(e.value, abs=1e-4)
    assert probe.value(images[0], p.network.input_name, (0, 0, 0)) is None


def test_foreign_model_stages_too(tmp_path):
    path = tmp_path / "mnist-like.onnx"
    foreign_mnist(path)
    p = Predictor(path)
    probe = StageProbe(p)
    x = np.random.default_rng(5).uniform(0, 1, (28, 28)).astype(np.float32)
    values = p.trace(x)
    for s in p.stages()[1:]:
        assert np.allclose(probe.values(x)[s.name], values[s.name], atol=1e-4), s.title
