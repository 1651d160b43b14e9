"""A small contract-following model that keeps BatchNormalization nodes (no torch needed).

The engine's exporter folds batch norm into the conv (the shipped model); a model exported
without that optimisation keeps Conv -> BatchNormalization -> Relu. This builds one with
onnx.helper: two such blocks with max pooling, random weights and batch-norm statistics like
a trained net's (mean near 0, var 0.25..1.75, gamma 0.5..1.5), flatten, Gemm, softmax.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from digitpad.core.contract import LayerInfo, ModelMetadata


def make_bn_model(path: Path, seed: int = 3, channels=(4, 8)) -> Path:
    rng = np.random.default_rng(seed)
    f32 = lambda a: np.asarray(a, np.float32)   # noqa: E731
    nodes, inits, outputs, layers = [], [], [], []
    prev, c_in, size = "image", 1, 28
    for i, c_out in enumerate(channels, 1):
        p = f"net.blocks.conv{i}"
        inits += [numpy_helper.from_array(f32(rng.normal(0, 0.5, (c_out, c_in, 3, 3))), f"{p}.conv.weight"),
                  numpy_helper.from_array(f32(rng.uniform(0.5, 1.5, c_out)), f"{p}.bn.weight"),
                  numpy_helper.from_array(f32(rng.uniform(-0.3, 0.3, c_out)), f"{p}.bn.bias"),
                  numpy_helper.from_array(f32(rng.uniform(-0.5, 0.5, c_out)), f"{p}.bn.running_mean"),
                  numpy_helper.from_array(f32(rng.uniform(0.25, 1.75, c_out)), f"{p}.bn.running_var")]
        nodes += [helper.make_node("Conv", [prev, f"{p}.conv.weight"], [f"conv{i}_out"], pads=[1, 1, 1, 1]),
                  helper.make_node("BatchNormalization", [f"conv{i}_out", f"{p}.bn.weight", f"{p}.bn.bias",
                                                          f"{p}.bn.running_mean", f"{p}.bn.running_var"],
                                   [f"bn{i}_out"], epsilon=1e-5),
                  helper.make_node("Relu", [f"bn{i}_out"], [f"act:conv{i}"]),
                  helper.make_node("MaxPool", [f"act:conv{i}"], [f"pool{i}"], kernel_shape=[2, 2], strides=[2, 2])]
        outputs.append(helper.make_tensor_value_info(f"act:conv{i}", TensorProto.FLOAT, ["N", c_out, size, size]))
        layers.append(LayerInfo(f"conv{i}", "conv", f"act:conv{i}", f"{p}.conv.weight"))
        prev, c_in, size = f"pool{i}", c_out, size // 2
    flat = c_in * size * size
    inits += [numpy_helper.from_array(f32(rng.normal(0, 0.05, (10, flat))), "head.weight"),
              numpy_helper.from_array(f32(rng.normal(0, 0.1, 10)), "head.bias")]
    nodes += [helper.make_node("Flatten", [prev], ["flat"]),
              helper.make_node("Gemm", ["flat", "head.weight", "head.bias"], ["logits"], transB=1),
              helper.make_node("Softmax", ["logits"], ["probs"], axis=1)]
    graph = helper.make_graph(
        nodes, "bn-net", [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 28, 28])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10]),
         helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", 10]), *outputs], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    meta = ModelMetadata(arch="bn-net", dataset="mnist", classes=[str(d) for d in range(10)], layers=layers,
                         metrics={"test_accuracy": 0.5}, training={}, created="2025-01-02T03:04:05+00:00")
    helper.set_model_props(model, {"digitpad": meta.to_json()})
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return Path(path)
