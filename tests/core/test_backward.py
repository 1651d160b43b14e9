"""The NumPy backward pass against PyTorch's autograd: op by op, every zoo net, the shipped model, the NumPy
engine's net (and its own hand-written backward pass), through the input seam."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from onnx_graphs import foreign_mnist, single_op
from torch_graph import _apply, autograd

from digitpad.core.backward import Request, Scores, backward, gradients
from digitpad.core.contract import InputSpec
from digitpad.core.forward import Network
from digitpad.core.inference import ExplainUnavailable, Predictor
from digitpad.core.model_input import InputAdapter

RNG = np.random.default_rng(7)
TOL = 1e-5      # the bar: relative to autograd's


def close(mine: np.ndarray, ref: np.ndarray, what: str, float64: bool = True) -> None:
    """Within TOL relative: element by element in float64 (a floor of 1e-10 of the tensor's largest value for
    entries that cancel to about 0); in float32 (the app's arithmetic) relative to the tensor's largest."""
    mine, ref = np.asarray(mine, np.float64), np.asarray(ref, np.float64)
    assert mine.shape == ref.shape, what
    scale = float(np.abs(ref).max())
    err = np.abs(mine - ref)
    if float64:
        bad = err > TOL * np.abs(ref) + 1e-10 * scale
        assert not bad.any(), f"{what}: {int(bad.sum())} entries differ, worst {float(err.max()):.3g} of {scale:.3g}"
    else:
        assert err.max() <= TOL * scale, f"{what}: {float(err.max()) / scale:.3g} relative"


def check_against_autograd(predictor: Predictor, x: np.ndarray, label: int) -> None:
    """Every gradient, in float64 (the arithmetic) and as the app computes it (float32, Predictor.gradients)."""
    net = predictor.network
    tensor = predictor.input.to_tensor(x)
    probs = predictor.probs_name if predictor.probs_name else None
    ref = autograd(net, tensor, label, probs=probs or predictor.logits_name, logits=probs is None)
    net64 = net.with_dtype(np.float64)
    scores = Scores(probs, True) if probs else Scores(predictor.logits_name, False)
    g64 = gradients(net64, net64.run(tensor), label, Request(scores))
    g32 = predictor.gradients(x, label)
    assert g64.loss == pytest.approx(ref.loss, rel=1e-9) and g32.loss == pytest.approx(ref.loss, rel=1e-5)
    close(g64.stages[net.input_name], ref.input[0], "dL/d(input tensor)")
    for name, g in ref.stages.items():
        close(g64.stages[name], g[0], f"dL/d({name})")
        close(g32.stages[name], g[0], f"dL/d({name}), float32", float64=False)
    for name, g in ref.initializers.items():
        close(g64.initializers[name], g, f"dL/d({name})")
        # In float32 only what a step changes: the input normalisation's mean is one number whose gradient sums
        # 784 terms that nearly cancel (5e-5 relative in float32, 1e-15 in float64 above).
        if name in g32.learnt:
            close(g32.initializers[name], g, f"dL/d({name}), float32", float64=False)
    for layer, g in g32.kernels.items():
        assert g.shape == predictor.kernels(layer).shape
        info = next(i for i in predictor.layer_infos if i.name == layer)
        close(g, ref.initializers[info.kernel], f"kernel {layer}", float64=False)
    assert g32.input.shape == np.shape(x)
    assert set(g32.activations) == {k for k in predictor.layers if g32.stages[predictor.stage_name(k)].ndim == 3}


def sample_inputs(predictor: Predictor, mnist_test) -> list[np.ndarray]:
    """A real digit (lots of exactly tied background for the pools) where the model takes 28x28 grey
    images, and a sparse random image of the model's shape."""
    c, s, _ = predictor.input_shape
    out = [(RNG.random((1, c, s, s)) * (RNG.random((1, c, s, s)) > 0.6)).astype(np.float32)]
    if (c, s) == (1, 28):
        out.append(mnist_test[0][7:8])
    return out


def test_every_zoo_net_and_the_shipped_model_match_autograd(zoo, mnist_test):
    for arch, path in zoo.items():
        predictor = Predictor(path)
        if predictor.gradients_unavailable is not None:   # the cifar10 arch's ReduceMax: said in one line
            assert arch == "cifar10" and "\n" not in predictor.gradients_unavailable
            with pytest.raises(ExplainUnavailable):
                predictor.gradients(predictor.input.blank())
            continue
        for x in sample_inputs(predictor, mnist_test):
            answer = predictor.predict(x).top
            for label in (answer, (answer + 3) % predictor.num_classes):
                check_against_autograd(predictor, x, label)


def test_the_numpy_engines_net_matches_autograd_and_its_own_backward_pass(tmp_path, mnist_dir):
    """seed004 as the NumPy engine builds and exports it: the ONNX file's gradients equal autograd's and the
    ones the engine itself trains with (training/scratch/layers.py)."""
    from digitpad.core import optdigits
    from training.scratch.export import export
    from training.scratch.layers import SoftmaxCrossEntropy
    from training.scratch.net import build

    net = build("seed004", (1, 8, 8), seed=3, mean=4.9, std=6.0)
    path = tmp_path / "seed004.onnx"
    export(net, path, arch="seed004", dataset="optdigits", metrics={}, training={})
    predictor = Predictor(path)
    images, labels = optdigits.load(mnist_dir, "test")
    for i in (0, 1, 2):
        x = (images[i].astype(np.float32) / 16).reshape(1, 1, 8, 8)
        label = int(labels[i])
        check_against_autograd(predictor, x, label)
        mine = predictor.gradients(x, label)
        loss = SoftmaxCrossEntropy()
        assert loss.forward(net.forward(x.astype(np.float64)), np.array([label])) == pytest.approx(mine.loss, rel=1e-5)
        net.backward(loss.backward())
        for name, param in net.parameters().items():
            close(mine.initializers[name], param.grad, f"engine's {name}", float64=False)


def test_a_file_from_elsewhere(tmp_path):
    """No probabilities in the graph (the loss on its logits), SAME_UPPER padding, conv biases as Adds."""
    path = tmp_path / "mnist-8-like.onnx"
    foreign_mnist(path)
    predictor = Predictor(path)
    x = (RNG.random((1, 1, 28, 28)) * (RNG.random((1, 1, 28, 28)) > 0.7)).astype(np.float32)
    check_against_autograd(predictor, x, 4)
    assert "b1" in predictor.gradients(x, 4).learnt and "scale" not in predictor.gradients(x, 4).learnt


def test_the_input_gradient_is_carried_back_through_the_input_seam(tmp_path):
    """A model normalised by the app and fed black-on-white: dL/dx in the canonical image's space is the
    graph tensor's gradient through the seam's transpose (checked against autograd on the canonical image)."""
    import onnx
    from model_factory import make_model
    from onnx import helper

    from digitpad.core.contract import METADATA_KEY, ModelMetadata

    path = make_model(tmp_path / "normalised.onnx")
    model = onnx.load(str(path))
    prop = next(p for p in model.metadata_props if p.key == METADATA_KEY)
    meta = ModelMetadata.from_json(prop.value)
    meta.input = InputSpec(mean=(0.2,), std=(0.4,), polarity="black-on-white").to_dict()
    del model.metadata_props[:]
    helper.set_model_props(model, {METADATA_KEY: meta.to_json()})
    onnx.save(model, str(path))
    predictor = Predictor(path)
    assert not predictor.input.identity
    x = (RNG.random((1, 1, 28, 28)) * (RNG.random((1, 1, 28, 28)) > 0.7)).astype(np.float32)
    g = predictor.gradients(x, 2)
    tx = torch.tensor(x.astype(np.float64), requires_grad=True)
    tensor = ((1 - tx) - 0.2) / 0.4          # the seam's to_tensor, written out
    ref = autograd(predictor.network, tensor.detach().numpy(), 2)
    tensor.backward(torch.tensor(ref.input))
    close(g.input, tx.grad.numpy(), "dL/d(canonical image)", float64=False)


@pytest.mark.parametrize("spec, graph", [
    (InputSpec(layout="NHWC"), ["N", 28, 28, 1]), (InputSpec(layout="flat"), ["N", 784]),
    (InputSpec(layout="flat"), ["N", 28, 28]), (InputSpec(range=(-1.0, 1.0)), ["N", 1, 28, 28]),
    (InputSpec(mean=(0.1307,), std=(0.3081,)), ["N", 1, 28, 28]),
    (InputSpec(polarity="black-on-white"), ["N", 1, 28, 28]), (InputSpec(), ["N", 3, 28, 28]),
    (InputSpec(range=(0.0, 255.0), layout="NHWC", mean=(127.5,), std=(127.5,)), [1, 28, 28, 1]),
    (InputSpec(size=32, channels=3, preprocessing="photo", polarity="natural", mean=(0.49, 0.48, 0.45),
               std=(0.25, 0.24, 0.26), layout="NHWC"), ["N", 32, 32, 3]),
])
def test_the_input_seam_carries_a_gradient_back_as_its_transpose(spec, graph):
    """to_tensor is affine, T(x) = A x + c; canonical_gradient must be A^T: <g, A d> == <A^T g, d>."""
    adapter = InputAdapter(spec, graph)
    x = RNG.random((2, *spec.shape)).astype(np.float64)
    d = RNG.normal(0, 1, x.shape)
    moved = adapter.to_tensor(x + d).astype(np.float64) - adapter.to_tensor(x).astype(np.float64)
    g = RNG.normal(0, 1, moved.shape)
    back = adapter.canonical_gradient(g)
    assert back.shape == x.shape
    assert float((g * moved).sum()) == pytest.approx(float((back * d).sum()), rel=1e-4)


# -- op by op: the seed r of L = sum(y * r), so dL/dy = r ------------------------------------------------

def one_op(model: bytes, x: np.ndarray) -> None:
    net = Network.load(model).with_dtype(np.float64)
    values = net.run(x)
    r = RNG.normal(0, 1, values["y"].shape)
    mine = backward(net, values, {"y": r})
    leaves = {n: torch.tensor(net.constants[n], requires_grad=True) for n in net.initializers}
    tx = torch.tensor(x.astype(np.float64), requires_grad=True)
    node = net.nodes[0]
    y = _apply(node, [tx, *(leaves[i] for i in node.inputs[1:])], net.opset)
    (y * torch.tensor(r)).sum().backward()
    close(mine[net.input_name], tx.grad.numpy(), f"{node.op} dL/dx")
    for name, leaf in leaves.items():
        close(mine[name], leaf.grad.numpy(), f"{node.op} dL/d{name}")


@pytest.mark.parametrize("k, s, pads, d, group", [
    (3, 1, (1, 1, 1, 1), 1, 1), (5, 1, (2, 2, 2, 2), 1, 1), (3, 2, (1, 1, 1, 1), 1, 1), (2, 2, (0, 0, 0, 0), 1, 1),
    (3, 1, (0, 1, 2, 0), 1, 1), (3, 2, (1, 0, 0, 1), 2, 1), (1, 3, (0, 0, 0, 0), 1, 1), (3, 1, (1, 1, 1, 1), 1, 2),
    (3, 1, (1, 1, 1, 1), 1, 4), (4, 3, (2, 1, 1, 2), 1, 4),
])
def test_conv(k, s, pads, d, group):
    w = RNG.normal(0, 0.5, (8, 4 // group, k, k)).astype(np.float32)
    b = RNG.normal(0, 0.5, 8).astype(np.float32)
    model = single_op("Conv", [2, 4, 8, 8], {"w": w, "b": b}, kernel_shape=[k, k], strides=[s, s], pads=list(pads),
                      dilations=[d, d], group=group)
    one_op(model, RNG.normal(0, 1, (2, 4, 8, 8)))


@pytest.mark.parametrize("op", ["MaxPool", "AveragePool"])
@pytest.mark.parametrize("k, s, p, ceil", [(2, 2, 0, 0), (2, 2, 0, 1), (3, 2, 1, 1), (3, 1, 1, 0), (3, 3, 0, 1),
                                           (2, 1, 0, 0)])
def test_pools(op, k, s, p, ceil):
    for size in (5, 6, 7):
        extra = {"count_include_pad": int(RNG.integers(2))} if op == "AveragePool" else {}
        model = single_op(op, [1, 3, size, size], kernel_shape=[k, k], strides=[s, s], pads=[p] * 4, ceil_mode=ceil,
                          **extra)
        x = RNG.normal(0, 1, (1, 3, size, size))
        x[0, 0, :2, :2] = 0.5   # a tie: the first largest takes it, in both
        one_op(model, x)


def test_the_other_ops():
    for op in ("GlobalAveragePool", "GlobalMaxPool"):
        one_op(single_op(op, [2, 3, 5, 5]), RNG.normal(0, 1, (2, 3, 5, 5)))
    cases = [
        single_op("Relu", [2, 3, 4, 4]), single_op("LeakyRelu", [2, 3, 4, 4], alpha=0.1),
        single_op("Sigmoid", [2, 3, 4, 4]), single_op("Tanh", [2, 3, 4, 4]),
        single_op("BatchNormalization", [2, 3, 4, 4], {k: RNG.random(3).astype(np.float32) + 0.5
                                                        for k in ("g", "b", "m", "v")}, epsilon=1e-3),
        single_op("Add", [2, 3, 4, 4], {"c": RNG.normal(0, 1, (3, 1, 1)).astype(np.float32)}),
        single_op("Sub", [2, 3, 4, 4], {"c": RNG.normal(0, 1, (1, 4)).astype(np.float32)}),
        single_op("Mul", [2, 3, 4, 4], {"c": RNG.normal(0, 1, (3, 1, 1)).astype(np.float32)}),
        single_op("Div", [2, 3, 4, 4], {"c": RNG.random((3, 1, 1)).astype(np.float32) + 1}),
        single_op("Flatten", [2, 3, 4, 4], axis=1),
    ]
    for model in cases:
        one_op(model, RNG.normal(0, 1, (2, 3, 4, 4)))
    one_op(single_op("Softmax", [2, 10], axis=1), RNG.normal(0, 1, (2, 10)))
    for ta, tb in ((0, 1), (0, 0), (1, 1)):
        x = RNG.normal(0, 1, (6, 4) if ta else (4, 6))
        w = RNG.normal(0, 1, (5, 6) if tb else (6, 5)).astype(np.float32)
        c = RNG.normal(0, 1, 5).astype(np.float32)
        one_op(single_op("Gemm", list(x.shape), {"w": w, "c": c}, transA=ta, transB=tb, alpha=0.5, beta=2.0), x)
    one_op(single_op("MatMul", [3, 6], {"w": RNG.normal(0, 1, (6, 5)).astype(np.float32)}), RNG.normal(0, 1, (3, 6)))


def test_an_op_without_a_backward_pass_is_said_in_one_line(tmp_path):
    from onnx import TensorProto, helper, numpy_helper

    idx = numpy_helper.from_array(np.array([2, 0, 1], np.int64), "idx")
    nodes = [helper.make_node("Gather", ["image", "idx"], ["g"], axis=3),
             helper.make_node("Flatten", ["g"], ["f"]),
             helper.make_node("MatMul", ["f", "w"], ["logits"])]
    w = numpy_helper.from_array(RNG.normal(0, 0.1, (28 * 3, 10)).astype(np.float32), "w")
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 28, 28])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])], [idx, w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / "gather.onnx"
    path.write_bytes(model.SerializeToString())
    predictor = Predictor(path)
    reason = predictor.gradients_unavailable
    assert reason is not None and "Gather" in reason and "\n" not in reason
    with pytest.raises(ExplainUnavailable, match="Gather"):
        predictor.gradients(predictor.input.blank())
