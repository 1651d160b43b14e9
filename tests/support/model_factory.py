"""Small ONNX model files built with onnx.helper, for tests that need odd or foreign models.

Random weights: these check behaviour (loading, shapes, switching, error handling), not
accuracy; accuracy tests use the trained fixture model or the shipped model.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from digitpad.core.contract import CIFAR10_CLASSES, CIFAR10_INPUT, CLASSES, DATASET_INPUTS, LayerInfo, ModelMetadata


def _conv_net(rng, channels=(4, 8), input_shape=("N", 1, 28, 28), act_outputs=True,
              logits_name="logits", probs_name="probs", input_name="image"):
    nodes, inits, outputs = [], [], []
    prev, c_in, size = input_name, input_shape[1] if isinstance(input_shape[1], int) else 1, input_shape[2]
    layers = []
    for i, c_out in enumerate(channels, 1):
        w = rng.normal(0, 0.5, (c_out, c_in, 3, 3)).astype(np.float32)
        b = np.zeros(c_out, np.float32)
        inits += [numpy_helper.from_array(w, f"conv{i}.weight"), numpy_helper.from_array(b, f"conv{i}.bias")]
        nodes += [
            helper.make_node("Conv", [prev, f"conv{i}.weight", f"conv{i}.bias"], [f"c{i}"], pads=[1, 1, 1, 1]),
            helper.make_node("Relu", [f"c{i}"], [f"r{i}"]),
            helper.make_node("MaxPool", [f"r{i}"], [f"p{i}"], kernel_shape=[2, 2], strides=[2, 2]),
        ]
        size //= 2
        if act_outputs:
            nodes.append(helper.make_node("Identity", [f"p{i}"], [f"act:conv{i}"]))
            outputs.append(helper.make_tensor_value_info(f"act:conv{i}", TensorProto.FLOAT,
                                                         ["N", c_out, size, size]))
        layers.append(LayerInfo(f"conv{i}", "conv", f"act:conv{i}", f"conv{i}.weight"))
        prev, c_in = f"p{i}", c_out
    flat = c_in * size * size
    fc = rng.normal(0, 0.05, (flat, 10)).astype(np.float32)
    inits += [numpy_helper.from_array(fc, "fc.weight"), numpy_helper.from_array(np.zeros(10, np.float32), "fc.bias"),
              numpy_helper.from_array(np.array([0, -1], np.int64), "flat_shape")]
    nodes += [
        helper.make_node("Reshape", [prev, "flat_shape"], ["flat"]),
        helper.make_node("MatMul", ["flat", "fc.weight"], ["mm"]),
        helper.make_node("Add", ["mm", "fc.bias"], [logits_name]),
    ]
    head = [helper.make_tensor_value_info(logits_name, TensorProto.FLOAT, ["N", 10])]
    if probs_name:
        nodes.append(helper.make_node("Softmax", [logits_name], [probs_name], axis=1))
        head.append(helper.make_tensor_value_info(probs_name, TensorProto.FLOAT, ["N", 10]))
    graph = helper.make_graph(
        nodes, "testnet",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, list(input_shape))],
        head + outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model, layers


def make_model(path: Path, *, seed: int = 0, channels=(4, 8), metadata: bool = True,
               arch: str = "testnet", accuracy: float = 0.5, dataset: str = "mnist", **kw) -> Path:
    """A small conv net in the digitpad contract (with metadata unless metadata=False). ``dataset``
    picks the metadata's classes and input description (the graph's input shape is ``input_shape``)."""
    rng = np.random.default_rng(seed)
    model, layers = _conv_net(rng, channels, **kw)
    if metadata:
        meta = ModelMetadata(arch=arch, dataset=dataset, classes=list(CLASSES[dataset]), layers=layers,
                             metrics={"test_accuracy": accuracy, "test_loss": 1.0},
                             training={"device": "cpu", "seconds": 12.5, "epochs": 1},
                             created="2025-01-02T03:04:05+00:00", input=DATASET_INPUTS[dataset].to_dict())
        helper.set_model_props(model, {"digitpad": meta.to_json()})
    onnx.checker.check_model(model)
    path = Path(path)
    onnx.save(model, str(path))
    return path


def make_foreign_model(path: Path, seed: int = 1) -> Path:
    """An MNIST-shaped model from elsewhere: input 'input', one output 'scores', no metadata."""
    return make_model(path, seed=seed, metadata=False, act_outputs=False, input_name="input",
                      logits_name="scores", probs_name=None)


def make_colour_model(path: Path, seed: int = 0, channels=(4, 8)) -> Path:
    """A CIFAR-10-shaped digitpad model: RGB [N, 3, 32, 32], the ten CIFAR-10 class names."""
    assert CIFAR10_INPUT.shape == (3, 32, 32) and len(CIFAR10_CLASSES) == 10
    return make_model(path, seed=seed, channels=channels, dataset="cifar10", arch="testnet-rgb",
                      input_shape=("N", 3, 32, 32))


def make_fashion_model(path: Path, seed: int = 0) -> Path:
    """A Fashion-MNIST digitpad model: grey 28x28 product pictures, the clothes' class names."""
    return make_model(path, seed=seed, dataset="fashion-mnist", arch="testnet-fashion")


def make_wrong_shape_model(path: Path) -> Path:
    """A valid ONNX classifier that wants 3x32x32 colour images."""
    return make_model(path, input_shape=("N", 3, 32, 32))


CIFAR_MEAN, CIFAR_STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)


def make_seed003_model(path: Path, seed: int = 0, classes: list[str] | None = None) -> Path:
    """Seed 003's CIFAR-10 network with random (He-scaled) weights, as the engine exports a colour
    model: RGB [N, 3, 32, 32] in 0..1, normalisation inside the graph (Sub, Div), conv 32 'same',
    conv 32 'valid', pool, conv 64 'same', conv 64 'valid', pool, dense 512, dense K; an act:* output
    after each conv's ReLU, kernels named in the metadata. 1,250,858 parameters for 10 classes."""
    rng = np.random.default_rng(seed)
    classes = list(classes or CIFAR10_CLASSES)
    k = len(classes)
    nodes, inits, outs, layers = [], [], [], []
    inits += [numpy_helper.from_array(np.array(CIFAR_MEAN, np.float32).reshape(1, 3, 1, 1), "mean"),
              numpy_helper.from_array(np.array(CIFAR_STD, np.float32).reshape(1, 3, 1, 1), "std")]
    nodes += [helper.make_node("Sub", ["image", "mean"], ["centred"]),
              helper.make_node("Div", ["centred", "std"], ["normalised"])]
    prev, c_in, size = "normalised", 3, 32
    for i, (c_out, pad, pool) in enumerate(((32, 1, False), (32, 0, True), (64, 1, False), (64, 0, True)), 1):
        w = rng.normal(0, (2 / (c_in * 9)) ** 0.5, (c_out, c_in, 3, 3)).astype(np.float32)
        inits += [numpy_helper.from_array(w, f"conv{i}.weight"),
                  numpy_helper.from_array(rng.normal(0, 0.05, c_out).astype(np.float32), f"conv{i}.bias")]
        nodes += [helper.make_node("Conv", [prev, f"conv{i}.weight", f"conv{i}.bias"], [f"c{i}"], pads=[pad] * 4),
                  helper.make_node("Relu", [f"c{i}"], [f"act:conv{i}"])]
        size = size - 2 + 2 * pad
        outs.append(helper.make_tensor_value_info(f"act:conv{i}", TensorProto.FLOAT, ["N", c_out, size, size]))
        layers.append(LayerInfo(f"conv{i}", "conv", f"act:conv{i}", f"conv{i}.weight"))
        prev, c_in = f"act:conv{i}", c_out
        if pool:
            nodes.append(helper.make_node("MaxPool", [prev], [f"pool{i}"], kernel_shape=[2, 2], strides=[2, 2]))
            prev, size = f"pool{i}", size // 2
    flat = c_in * size * size
    inits += [numpy_helper.from_array(np.array([0, -1], np.int64), "flat_shape"),
              numpy_helper.from_array(rng.normal(0, (2 / flat) ** 0.5, (flat, 512)).astype(np.float32), "fc1.weight"),
              numpy_helper.from_array(np.zeros(512, np.float32), "fc1.bias"),
              numpy_helper.from_array(rng.normal(0, (1 / 512) ** 0.5, (512, k)).astype(np.float32), "fc2.weight"),
              numpy_helper.from_array(np.zeros(k, np.float32), "fc2.bias")]
    nodes += [helper.make_node("Reshape", [prev, "flat_shape"], ["flat"]),
              helper.make_node("MatMul", ["flat", "fc1.weight"], ["fc1.mm"]),
              helper.make_node("Add", ["fc1.mm", "fc1.bias"], ["fc1.pre"]),
              helper.make_node("Relu", ["fc1.pre"], ["fc1"]),
              helper.make_node("MatMul", ["fc1", "fc2.weight"], ["fc2.mm"]),
              helper.make_node("Add", ["fc2.mm", "fc2.bias"], ["logits"]),
              helper.make_node("Softmax", ["logits"], ["probs"], axis=1)]
    head = [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["N", k]) for n in ("logits", "probs")]
    graph = helper.make_graph(nodes, "seed003", [helper.make_tensor_value_info("image", TensorProto.FLOAT,
                                                                               ["N", 3, 32, 32])], head + outs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    meta = ModelMetadata(arch="seed003", dataset="cifar10", classes=classes, layers=layers,
                         metrics={"test_accuracy": 0.1, "test_loss": 2.3},
                         training={"device": "cpu", "seconds": 1.0, "epochs": 0},
                         created="2026-01-02T03:04:05+00:00", input=CIFAR10_INPUT.to_dict())
    helper.set_model_props(model, {"digitpad": meta.to_json()})
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return Path(path)
