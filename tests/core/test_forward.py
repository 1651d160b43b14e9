"""The NumPy forward pass against ONNX Runtime: op by op, then every zoo net on all of MNIST test."""
from __future__ import annotations

import itertools

import numpy as np
import onnxruntime as ort
import pytest
from onnx_graphs import foreign_mnist, run_ort, single_op

from digitpad.core.forward import Network, UnsupportedModel

RNG = np.random.default_rng(0)


def _check(model: bytes, x: np.ndarray, atol: float = 1e-5) -> Network:
    net = Network.load(model)
    mine = net.run(x)["y"]
    ref = run_ort(model, x)["y"]
    assert mine.shape == ref.shape
    assert np.abs(mine - ref).max() <= atol
    return net


CONV_CASES = [
    # kernel, stride, pads (top, left, bottom, right), dilation, group
    (3, 1, (1, 1, 1, 1), 1, 1), (5, 1, (2, 2, 2, 2), 1, 1), (3, 2, (1, 1, 1, 1), 1, 1), (2, 2, (0, 0, 0, 0), 1, 1),
    (3, 1, (0, 1, 2, 0), 1, 1), (3, 2, (1, 0, 0, 1), 2, 1), (1, 3, (0, 0, 0, 0), 1, 1), (3, 1, (1, 1, 1, 1), 1, 2),
    (3, 1, (1, 1, 1, 1), 1, 4), (4, 3, (2, 1, 1, 2), 1, 4), (7, 1, (0, 0, 0, 0), 1, 1),
]


@pytest.mark.parametrize("k, s, pads, d, group", CONV_CASES)
@pytest.mark.parametrize("size", [7, 8])
def test_conv_matches_onnxruntime(k, s, pads, d, group, size):
    w = RNG.normal(0, 0.5, (8, 4 // group, k, k)).astype(np.float32)
    b = RNG.normal(0, 0.5, 8).astype(np.float32)
    model = single_op("Conv", [2, 4, size, size], {"w": w, "b": b}, kernel_shape=[k, k], strides=[s, s],
                      pads=list(pads), dilations=[d, d], group=group)
    _check(model, RNG.normal(0, 1, (2, 4, size, size)).astype(np.float32))


@pytest.mark.parametrize("auto_pad", ["SAME_UPPER", "SAME_LOWER", "VALID"])
@pytest.mark.parametrize("k, s", [(3, 1), (4, 2), (5, 3)])
def test_conv_auto_pad(auto_pad, k, s):
    w = RNG.normal(0, 0.5, (3, 2, k, k)).astype(np.float32)
    model = single_op("Conv", [1, 2, 9, 9], {"w": w}, kernel_shape=[k, k], strides=[s, s], auto_pad=auto_pad)
    _check(model, RNG.normal(0, 1, (1, 2, 9, 9)).astype(np.float32))


POOL_CASES = [
    # kernel, stride, pads, ceil_mode; size 5..8 covers floors, ceils and a last window in the padding
    (k, s, p, c) for k, s, p, c in itertools.product([2, 3], [1, 2, 3], [(0, 0, 0, 0), (1, 1, 1, 1), (0, 0, 1, 1),
                                                                        (1, 0, 0, 1)], [0, 1])
]


@pytest.mark.parametrize("op", ["MaxPool", "AveragePool"])
@pytest.mark.parametrize("k, s, pads, ceil", POOL_CASES)
def test_pool_matches_onnxruntime(op, k, s, pads, ceil):
    for size in (5, 6, 7, 8):
        extra = {"count_include_pad": int(RNG.integers(2))} if op == "AveragePool" else {}
        model = single_op(op, [1, 3, size, size], kernel_shape=[k, k], strides=[s, s], pads=list(pads),
                          ceil_mode=ceil, **extra)
        _check(model, RNG.normal(0, 1, (1, 3, size, size)).astype(np.float32))


def test_max_pool_dilation_and_global_pools():
    _check(single_op("MaxPool", [1, 2, 9, 9], kernel_shape=[2, 2], strides=[1, 1], dilations=[2, 2]),
           RNG.normal(0, 1, (1, 2, 9, 9)).astype(np.float32))
    for op in ("GlobalMaxPool", "GlobalAveragePool"):
        _check(single_op(op, [2, 3, 5, 5]), RNG.normal(0, 1, (2, 3, 5, 5)).astype(np.float32))


@pytest.mark.parametrize("trans_a, trans_b, alpha, beta", [(0, 1, 1.0, 1.0), (0, 0, 0.5, 2.0), (1, 1, 1.0, 0.0)])
def test_gemm(trans_a, trans_b, alpha, beta):
    x = RNG.normal(0, 1, (6, 4) if trans_a else (4, 6)).astype(np.float32)
    w = RNG.normal(0, 1, (5, 6) if trans_b else (6, 5)).astype(np.float32)
    c = RNG.normal(0, 1, 5).astype(np.float32)
    _check(single_op("Gemm", list(x.shape), {"w": w, "c": c}, transA=trans_a, transB=trans_b, alpha=alpha, beta=beta),
           x)


def test_batch_norm_softmax_flatten_reshape_elementwise():
    c = 3
    bn = {"g": RNG.uniform(0.5, 1.5, c), "b": RNG.normal(0, 1, c),
          "m": RNG.normal(0, 1, c), "v": RNG.uniform(0.1, 2, c)}
    x = RNG.normal(0, 1, (2, c, 4, 4)).astype(np.float32)
    _check(single_op("BatchNormalization", x.shape, {k: v.astype(np.float32) for k, v in bn.items()}, epsilon=1e-3), x)
    for opset, axis in ((11, 1), (13, -1), (13, 1)):
        _check(single_op("Softmax", [2, 7], opset=opset, axis=axis), RNG.normal(0, 3, (2, 7)).astype(np.float32))
    _check(single_op("Softmax", [2, 3, 4], opset=11, axis=1), RNG.normal(0, 1, (2, 3, 4)).astype(np.float32))
    _check(single_op("Flatten", x.shape, axis=1), x)
    _check(single_op("Reshape", x.shape, {"s": np.array([0, -1], np.int64)}), x)
    for op in ("Add", "Sub", "Mul", "Div"):
        _check(single_op(op, x.shape, {"k": RNG.uniform(0.5, 2, (c, 1, 1)).astype(np.float32)}), x)
    _check(single_op("MatMul", [2, 6], {"w": RNG.normal(0, 1, (6, 3)).astype(np.float32)}),
           RNG.normal(0, 1, (2, 6)).astype(np.float32))
    _check(single_op("LeakyRelu", x.shape, alpha=0.2), x)
    _check(single_op("Clip", x.shape, {"lo": np.array(0, np.float32), "hi": np.array(0.5, np.float32)}), x)


def test_unsupported_op_is_one_line_naming_it():
    model = single_op("LRN", [1, 3, 5, 5], size=3)
    with pytest.raises(UnsupportedModel) as e:
        Network.load(model)
    assert "LRN" in str(e.value) and "\n" not in str(e.value)


def test_foreign_opset8_model(tmp_path):
    path = tmp_path / "mnist-like.onnx"
    foreign_mnist(path)
    net = Network.load(path)
    x = RNG.uniform(0, 255, (1, 1, 28, 28)).astype(np.float32)
    ref = run_ort(path.read_bytes(), x)["Plus214_Output_0"]
    assert np.abs(net.run(x)["Plus214_Output_0"] - ref).max() <= 1e-4
    titles = [s.title for s in net.stages]
    assert titles[0] == "input" and titles[-1] == "Plus214_Output_0" and "Conv 1" in titles and "MaxPool 2" in titles


def test_stages_in_network_order_with_shapes(zoo):
    net = Network.load(zoo["digitpad-s+bn"], {f"act:conv{i}": f"conv{i}" for i in (1, 2, 3)})
    names = [s.name for s in net.stages]
    assert len(set(names)) == len(names)
    ops = [s.op for s in net.stages]
    assert ops == ["Input", "Sub", "Div"] + ["Conv", "BatchNormalization", "Relu", "MaxPool"] * 3 + \
        ["Flatten", "Gemm", "Softmax"]
    titles = [s.title for s in net.stages]
    assert titles[3:6] == ["conv1 · Conv", "conv1 · BatchNormalization", "conv1"]
    assert net.stage("act:conv2").shape == (32, 14, 14) and net.stage("logits").shape == (10,)
    assert net.stage("act:conv3").layer == "conv3" and [s for s in net.stages if s.op == "MaxPool"][-1].layer is None


def _max_diff_on(path, images, batch=500) -> float:
    net = Network.load(path)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    worst = 0.0
    for i in range(0, len(images), batch):
        x = images[i:i + batch]
        ref = sess.run(None, {net.input_name: x})
        mine = net.run(x, keep=set(names))
        worst = max(worst, *(float(np.abs(mine[n] - r).max()) for n, r in zip(names, ref)))
    return worst


@pytest.mark.slow
@pytest.mark.parametrize("name", ["digitpad", "digitpad-s", "seed001", "seed002", "seed000", "digitpad-s+bn",
                                  "digitpad-s+ceil"])
def test_zoo_matches_onnxruntime_on_mnist_test(zoo, mnist_test, name):
    """Every output (logits, probs, each act:*) on all 10,000 MNIST test digits within 1e-4.
    The digitpad arch is checked with the shipped model's trained weights when it is there
    (the largest net: ~15 M multiply-adds per digit, half a minute on a shared 2-core machine)."""
    path = zoo["shipped"] if name == "digitpad" and "shipped" in zoo else zoo[name]
    assert _max_diff_on(path, mnist_test[0]) <= 1e-4
