"""The backward side of a unit's arithmetic: its numbers are the backward pass's, and the shares of every unit
add up to the whole gradients (dL/dW of a kernel, dL/dx of a map)."""
from __future__ import annotations

import numpy as np
import pytest

from digitpad.core import paths
from digitpad.core.evaluation import load_test_set
from digitpad.core.explain_backward import explain_backward
from digitpad.core.inference import Predictor


@pytest.fixture(scope="module")
def seed004(tmp_path_factory):
    from training.scratch.export import export
    from training.scratch.net import build

    path = tmp_path_factory.mktemp("seed004") / "seed004.onnx"
    export(build("seed004", (1, 8, 8), seed=1, mean=4.9, std=6.0), path, arch="seed004", dataset="optdigits",
           metrics={}, training={})
    return Predictor(path)


def backward_of(p: Predictor, x, g, stage, index):
    e = p.explain(x, stage, *index)
    return explain_backward(e, p.network, p.trace(x), g)


def test_the_chain_multiplies_out_and_every_units_share_adds_up(seed004):
    p = seed004
    x = np.random.default_rng(0).integers(0, 17, (1, 1, 8, 8)).astype(np.float32) / 16
    g = p.gradients(x, 4)
    weight_sum = np.zeros((4, 1, 3, 3))
    input_sum = np.zeros((1, 8, 8))
    for c in range(4):
        for r in range(8):
            for col in range(8):
                e = p.explain(x, "conv1", c, r, col)
                b = explain_backward(e, p.network, p.trace(x), g)
                assert b.kind == "conv" and b.grad == pytest.approx(float(g.activations["conv1"][c, r, col]))
                for link in b.chain:   # dL/d(input) = dL/d(output) x the step's derivative here
                    assert link.grad_in == pytest.approx(link.product, rel=1e-5, abs=1e-12)
                assert b.grad_at == pytest.approx(b.chain[-1].grad_in) and b.shares == 64
                # this unit's shares: the gradient times its window (to the weights), times the kernel (to the inputs)
                pad = np.broadcast_to(e.terms.padding, e.terms.window.shape)
                np.testing.assert_allclose(b.weight_share, b.grad_at * e.terms.window, rtol=1e-6, atol=1e-12)
                np.testing.assert_allclose(b.input_share[~pad], b.grad_at * e.terms.kernel[~pad], rtol=1e-6,
                                           atol=1e-12)
                assert np.isnan(b.input_share[pad]).all()
                np.testing.assert_allclose(b.weight_total, g.kernels["conv1"][c], rtol=1e-6)
                weight_sum[c] += b.weight_share
                inside = ~e.terms.padding
                rows, cols = np.meshgrid(e.terms.rows, e.terms.cols, indexing="ij")
                np.add.at(input_sum[0], (rows[inside], cols[inside]), b.input_share[0][inside])
    # every unit's share, summed: the whole gradient of the kernels and of the map the conv reads
    np.testing.assert_allclose(weight_sum, g.kernels["conv1"], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(input_sum, g.stages[b.input], rtol=1e-4, atol=1e-7)


def test_dense_softmax_and_pool_units(seed004):
    p = seed004
    x = np.random.default_rng(1).integers(0, 17, (1, 1, 8, 8)).astype(np.float32) / 16
    g = p.gradients(x, 7)
    logits = [backward_of(p, x, g, "logits", (j,)) for j in range(10)]
    for j, b in enumerate(logits):   # dL/dz = p - onehot; a dense unit's weights are used once per image
        assert b.kind == "dense" and b.grad == pytest.approx(g.probs[j] - (j == 7), abs=1e-6)
        np.testing.assert_allclose(b.weight_share, b.weight_total, rtol=1e-5, atol=1e-9)
        assert b.bias_share == pytest.approx(b.grad_at)
    np.testing.assert_allclose(sum(b.input_share for b in logits), logits[0].input_total, rtol=1e-5, atol=1e-9)
    probs = [backward_of(p, x, g, "probs", (k,)) for k in range(10)]
    assert probs[7].grad == pytest.approx(-1 / g.probs[7], rel=1e-5) and probs[3].grad == 0
    np.testing.assert_allclose(sum(b.input_share for b in probs), g.stages["logits"], rtol=1e-5, atol=1e-9)
    pool = next(s.name for s in p.stages() if s.op == "MaxPool")
    b = backward_of(p, x, g, pool, (1, 2, 3))
    assert b.kind == "pool" and np.nansum(b.input_share) == pytest.approx(b.grad_at)
    assert np.count_nonzero(np.nan_to_num(b.input_share)) <= 1


def test_the_shipped_model_through_batch_norm(mnist_dir):
    p = Predictor(paths.shipped_model_path())
    x = (load_test_set(mnist_dir, "mnist").images[0].astype(np.float32) / 255)[None, None]
    g = p.gradients(x, 2)
    acts = g.activations["conv2"]
    c, r, col = np.unravel_index(int(np.argmax(np.abs(acts))), acts.shape)
    b = backward_of(p, x, g, "conv2", (int(c), int(r), int(col)))
    assert [link.op for link in b.chain] == ["Relu", "BatchNormalization"]
    assert b.grad_at == pytest.approx(b.grad * b.chain[0].factor * b.chain[1].factor, rel=1e-5)
    assert b.weight_share.shape == (32, 3, 3) and b.weight_total.shape == (32, 3, 3) and b.shares == 14 * 14
    off = np.argwhere(p.trace(x)["act:conv2"][0] == 0)[0]   # a ReLU that was off: nothing flows back
    stopped = backward_of(p, x, g, "conv2", tuple(int(i) for i in off))
    assert stopped.stops and stopped.grad_at == 0 and not np.any(stopped.weight_share)
