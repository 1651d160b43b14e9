"""Write a NumPy-engine network as an ONNX model that follows digitpad's contract, node by node
with the ``onnx.helper`` API (no PyTorch exporter, no torch at all).

Each layer becomes the ONNX operator that computes the same thing (Conv, Relu, Sigmoid,
MaxPool, Flatten, Gemm); the weights become initializers under their own names. The graph
takes ``image`` [N, C, H, W] and returns ``logits`` and ``probs`` [N, 10], then ``act:<layer>``
for each inspectable layer. The model is checked with ``onnx.checker`` and run with ONNX
Runtime on the test images against the NumPy forward pass before it is written.
"""
from __future__ import annotations

import datetime as dt
import platform
from pathlib import Path
from typing import Any

import numpy as np

from digitpad.core import contract

from ..errors import TrainError
from ..finish import write_model
from .layers import Conv2d, Dense, Flatten, MaxPool2d, ReLU, Sigmoid, Standardize, softmax
from .net import Net

OPSET = 17
IR_VERSION = 8  # what ONNX Runtime has read since 1.10; the graph needs nothing newer


def _nodes(net: Net) -> tuple[list, list, str]:
    """The layers as ONNX nodes and initializers; returns (nodes, initializers, last output name)."""
    from onnx import helper, numpy_helper

    nodes, inits, prev = [], [], contract.INPUT_NAME
    for name, layer in net.layers:
        out = name
        if isinstance(layer, Standardize):
            inits += [numpy_helper.from_array(layer.buffers[k].astype(np.float32), f"{name}.{k}")
                      for k in ("mean", "std")]
            nodes += [helper.make_node("Sub", [prev, f"{name}.mean"], [f"{name}.centred"], name=f"{name}.sub"),
                      helper.make_node("Div", [f"{name}.centred", f"{name}.std"], [out], name=name)]
        elif isinstance(layer, Conv2d):
            p = layer.padding
            inits += [numpy_helper.from_array(layer.params[k].value.astype(np.float32), f"{name}.{k}")
                      for k in ("weight", "bias")]
            nodes.append(helper.make_node("Conv", [prev, f"{name}.weight", f"{name}.bias"], [out], name=name,
                                          kernel_shape=[layer.kernel] * 2, strides=[layer.stride] * 2,
                                          pads=[p, p, p, p]))
        elif isinstance(layer, Dense):
            inits += [numpy_helper.from_array(layer.params[k].value.astype(np.float32), f"{name}.{k}")
                      for k in ("weight", "bias")]
            nodes.append(helper.make_node("Gemm", [prev, f"{name}.weight", f"{name}.bias"], [out], name=name,
                                          transB=1))
        elif isinstance(layer, ReLU):
            nodes.append(helper.make_node("Relu", [prev], [out], name=name))
        elif isinstance(layer, Sigmoid):
            nodes.append(helper.make_node("Sigmoid", [prev], [out], name=name))
        elif isinstance(layer, MaxPool2d):
            nodes.append(helper.make_node("MaxPool", [prev], [out], name=name, kernel_shape=[layer.size] * 2,
                                          strides=[layer.size] * 2))
        elif isinstance(layer, Flatten):
            nodes.append(helper.make_node("Flatten", [prev], [out], name=name, axis=1))
        else:
            raise TypeError(f"no ONNX form for {type(layer).__name__}")
        prev = out
    return nodes, inits, prev


def to_proto(net: Net, metadata: contract.ModelMetadata | None = None):
    """The network as an ONNX ModelProto in the contract's shape, checked by onnx.checker."""
    import onnx
    from onnx import TensorProto, helper

    nodes, inits, last = _nodes(net)
    nodes.append(helper.make_node("Identity", [last], [contract.LOGITS]))
    nodes.append(helper.make_node("Softmax", [contract.LOGITS], [contract.PROBS], axis=1))
    c, h, w = net.input_shape
    outputs = [helper.make_tensor_value_info(contract.LOGITS, TensorProto.FLOAT, ["N", 10]),
               helper.make_tensor_value_info(contract.PROBS, TensorProto.FLOAT, ["N", 10])]
    for layer, source in net.activations.items():
        nodes.append(helper.make_node("Identity", [source], [contract.activation_output(layer)]))
        outputs.append(helper.make_tensor_value_info(contract.activation_output(layer), TensorProto.FLOAT, None))
    graph = helper.make_graph(
        nodes, "digitpad-numpy",
        [helper.make_tensor_value_info(contract.INPUT_NAME, TensorProto.FLOAT, ["N", c, h, w])], outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="digitpad-train")
    model.ir_version = IR_VERSION
    model = onnx.shape_inference.infer_shapes(model, strict_mode=True)   # fills in the act:* output shapes
    if metadata is not None:
        helper.set_model_props(model, {contract.METADATA_KEY: metadata.to_json()})
    onnx.checker.check_model(model, full_check=True)
    return model


def parity(proto_bytes: bytes, net: Net, x: np.ndarray, batch: int = 1000) -> dict[str, float]:
    """ONNX Runtime against the NumPy forward pass on ``x``: top-1 agreement and max |prob diff|."""
    import onnxruntime as ort

    sess = ort.InferenceSession(proto_bytes, providers=["CPUExecutionProvider"])
    agree, max_diff = 0, 0.0
    for i in range(0, len(x), batch):
        xb = np.ascontiguousarray(x[i:i + batch], np.float32)
        p_np = softmax(net.forward(xb).astype(np.float64))
        p_ort = sess.run([contract.PROBS], {contract.INPUT_NAME: xb})[0]
        agree += int((p_np.argmax(1) == p_ort.argmax(1)).sum())
        max_diff = max(max_diff, float(np.abs(p_np - p_ort).max()))
    return {"parity_top1_agreement": agree / max(len(x), 1), "parity_max_prob_diff": max_diff,
            "parity_images": len(x)}


def library_versions() -> dict[str, str]:
    import onnx
    import onnxruntime

    return {"python": platform.python_version(), "numpy": np.__version__, "onnx": onnx.__version__,
            "onnxruntime": onnxruntime.__version__}


def export(net: Net, out: Path, *, arch: str, dataset: str, metrics: dict[str, Any], training: dict[str, Any],
           parity_x: np.ndarray | None = None) -> dict[str, Any]:
    """Write ``out`` (.onnx) atomically; return the metadata dict written into it."""
    out = Path(out)
    layers = [contract.LayerInfo(name, "conv", contract.activation_output(name), f"{name}.weight")
              for name in net.activations]
    metrics = dict(metrics)
    if parity_x is not None:
        metrics.update(parity(to_proto(net).SerializeToString(), net, parity_x))
    spec = contract.DATASET_INPUTS.get(dataset, contract.MNIST_INPUT)
    if spec.shape != tuple(net.input_shape):
        raise TrainError(f"the network takes {list(net.input_shape)} images; {dataset} models take {list(spec.shape)}")
    meta = contract.ModelMetadata(
        arch=arch, dataset=dataset, classes=contract.CLASSES.get(dataset, contract.MNIST_CLASSES), layers=layers,
        metrics=metrics, training={**training, "versions": library_versions()},
        created=dt.datetime.now(dt.timezone.utc).astimezone().isoformat(timespec="seconds"),
        input=spec.to_dict(),
    )
    proto = to_proto(net, meta)
    write_model(out, proto.SerializeToString())
    return {**meta.__dict__, "layers": [vars(layer) for layer in layers]}
