"""Every layer of the NumPy engine: its backward pass against PyTorch's autograd and against central
finite differences, in float64. The relative error ||analytic - reference|| / max(||analytic||,
||reference||) must be at most 1e-6 for the input gradient and every parameter gradient.

Each check differentiates L = sum(layer(x) * G) for a fixed random G, so dL/dy = G reaches the
backward pass as a dense, non-trivial output gradient.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from training.scratch import layers as L
from training.scratch.net import build

TOL = 1e-6
EPS = 1e-6


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    scale = max(np.linalg.norm(a), np.linalg.norm(b))
    return float(np.linalg.norm(a - b) / scale) if scale > 0 else 0.0


def to64(layer: L.Layer) -> L.Layer:
    for p in layer.params.values():
        p.value = p.value.astype(np.float64)
        p.grad = np.zeros_like(p.value)
    return layer


def numeric_grad(f, a: np.ndarray) -> np.ndarray:
    """Central differences of the scalar f() with respect to every element of ``a`` (changed in place)."""
    g = np.zeros_like(a)
    flat, gflat = a.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + EPS
        up = f()
        flat[i] = old - EPS
        down = f()
        flat[i] = old
        gflat[i] = (up - down) / (2 * EPS)
    return g


def check_layer(layer: L.Layer, x: np.ndarray, torch_fn) -> None:
    """Analytic gradients vs torch autograd and vs finite differences, for x and every parameter."""
    rng = np.random.default_rng(1)
    y = layer.forward(x)
    G = rng.normal(size=y.shape)
    dx = layer.backward(G)
    analytic = {"x": dx, **{k: p.grad.copy() for k, p in layer.params.items()}}

    # PyTorch autograd on the same numbers
    tx = torch.tensor(x, requires_grad=True)
    tparams = {k: torch.tensor(p.value, requires_grad=True) for k, p in layer.params.items()}
    ty = torch_fn(tx, **tparams)
    np.testing.assert_allclose(ty.detach().numpy(), y, rtol=1e-10, atol=1e-12)
    (ty * torch.tensor(G)).sum().backward()
    reference = {"x": tx.grad.numpy(), **{k: t.grad.numpy() for k, t in tparams.items()}}

    # finite differences
    def loss() -> float:
        return float((layer.forward(x) * G).sum())

    numeric = {"x": numeric_grad(loss, x), **{k: numeric_grad(loss, p.value) for k, p in layer.params.items()}}
    for name in analytic:
        assert analytic[name].shape == reference[name].shape
        e_torch, e_fd = rel_error(analytic[name], reference[name]), rel_error(analytic[name], numeric[name])
        assert e_torch <= TOL, f"{name}: relative error vs torch {e_torch:.2e}"
        assert e_fd <= TOL, f"{name}: relative error vs finite differences {e_fd:.2e}"


@pytest.mark.parametrize("c_in, c_out, size, kernel, stride, padding", [
    (1, 4, 8, 3, 1, 1),     # seed004's conv
    (2, 3, 7, 3, 2, 0),     # stride 2: the output gradient is dilated
    (2, 3, 8, 3, 2, 0),     # stride 2 that leaves the last row and column unused
    (3, 2, 6, 5, 2, 2),     # a 5x5 kernel, stride and padding together
    (2, 2, 5, 1, 1, 0),     # 1x1
])
def test_conv2d(c_in, c_out, size, kernel, stride, padding):
    rng = np.random.default_rng(0)
    layer = to64(L.Conv2d(c_in, c_out, kernel, stride, padding, rng=rng))
    x = rng.normal(size=(3, c_in, size, size))
    check_layer(layer, x, lambda t, weight, bias: F.conv2d(t, weight, bias, stride=stride, padding=padding))


def test_standardize():
    x = np.random.default_rng(0).uniform(0, 1, size=(3, 1, 4, 4))
    # 0.25 and 0.375 are exact in the float32 the layer keeps them in
    check_layer(L.Standardize(0.25, 0.375), x, lambda t: (t - 0.25) / 0.375)


def test_dense():
    rng = np.random.default_rng(0)
    check_layer(to64(L.Dense(7, 5, rng=rng)), rng.normal(size=(4, 7)), F.linear)


def test_relu():
    x = np.random.default_rng(0).normal(size=(3, 2, 5, 5))
    x[np.abs(x) < 1e-3] = 0.5   # finite differences need every input off the kink at 0
    check_layer(L.ReLU(), x, torch.relu)


def test_sigmoid():
    x = np.random.default_rng(0).normal(scale=3, size=(3, 2, 5, 5))
    check_layer(L.Sigmoid(), x, torch.sigmoid)


def test_sigmoid_does_not_overflow():
    y = L.Sigmoid().forward(np.array([-1000.0, 0.0, 1000.0]))
    assert np.allclose(y, [0, 0.5, 1]) and np.isfinite(y).all()


@pytest.mark.parametrize("size", [4, 5])   # 5: the last row and column are dropped, as in PyTorch
def test_maxpool(size):
    x = np.random.default_rng(0).normal(size=(2, 3, size, size))
    check_layer(L.MaxPool2d(2), x, lambda t: F.max_pool2d(t, 2))


def test_maxpool_sends_the_gradient_to_the_first_maximum_on_ties():
    x = np.ones((1, 1, 2, 2))
    pool = L.MaxPool2d(2)
    pool.forward(x)
    assert pool.backward(np.array([[[[3.0]]]])).tolist() == [[[[3.0, 0.0], [0.0, 0.0]]]]
    t = torch.tensor(x, requires_grad=True)
    F.max_pool2d(t, 2).backward(torch.tensor([[[[3.0]]]], dtype=torch.float64))
    assert t.grad.numpy().tolist() == [[[[3.0, 0.0], [0.0, 0.0]]]]


def test_flatten():
    x = np.random.default_rng(0).normal(size=(2, 3, 4, 4))
    check_layer(L.Flatten(), x, lambda t: t.flatten(1))


def test_softmax_cross_entropy():
    rng = np.random.default_rng(0)
    logits, labels = rng.normal(scale=2, size=(6, 10)), rng.integers(0, 10, 6)
    ce = L.SoftmaxCrossEntropy()
    loss = ce.forward(logits, labels)
    d = ce.backward()
    t = torch.tensor(logits, requires_grad=True)
    tl = F.cross_entropy(t, torch.tensor(labels))
    tl.backward()
    assert abs(loss - tl.item()) < 1e-12
    assert rel_error(d, t.grad.numpy()) <= TOL
    numeric = numeric_grad(lambda: ce.forward(logits, labels), logits)
    assert rel_error(d, numeric) <= TOL


def test_cross_entropy_of_huge_logits_is_finite():
    ce = L.SoftmaxCrossEntropy()
    loss = ce.forward(np.array([[1e4, 0.0, -1e4]]), np.array([2]))
    assert np.isfinite(loss) and np.isfinite(ce.backward()).all()


def test_whole_seed004_net_against_torch():
    """The layers chained: every parameter gradient of the net and loss, vs the same net in torch."""
    net = build("seed004", (1, 8, 8), seed=3, mean=0.25, std=0.375)
    for p in net.parameters().values():
        p.value = p.value.astype(np.float64)
    rng = np.random.default_rng(0)
    x, labels = rng.uniform(0, 1, (5, 1, 8, 8)), rng.integers(0, 10, 5)
    ce = L.SoftmaxCrossEntropy()
    ce.forward(net.forward(x), labels)
    net.backward(ce.backward())
    t = {k: torch.tensor(p.value, requires_grad=True) for k, p in net.parameters().items()}
    tx = (torch.tensor(x) - 0.25) / 0.375
    h = F.max_pool2d(torch.relu(F.conv2d(tx, t["conv1.weight"], t["conv1.bias"], padding=1)), 2)
    h = torch.relu(F.linear(h.flatten(1), t["fc1.weight"], t["fc1.bias"]))
    F.cross_entropy(F.linear(h, t["fc2.weight"], t["fc2.bias"]), torch.tensor(labels)).backward()
    for k, p in net.parameters().items():
        assert rel_error(p.grad, t[k].grad.numpy()) <= TOL, k
