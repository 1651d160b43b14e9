"""Digit models "from elsewhere": a trained digitpad model re-exported with another exporter's input
convention, as other people's files come (channels last, 0..255, mean/std, -1..1, dark ink on light,
flat vectors, the grey image on three channels, a fixed batch of 1, an extra output, no softmax).

Each is the real trained graph behind a prefix of ONNX nodes that turns the foreign convention back
into the canonical image, so in its own convention it reads exactly as well as the original, and
fed the canonical image as it is it reads worse. No digitpad metadata, no act:* outputs.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081

# name -> (graph input shape, prefix: the nodes computing the canonical "image" from "x", constants)
CONVENTIONS = {
    "0..1 NCHW": ("NCHW", None),
    "0..255 NHWC": ("NHWC", ("div", 255.0)),
    "mean/std NCHW": ("NCHW", ("norm", None)),
    "-1..1 flat": ("flat", ("affine", None)),
    "black-on-white 0..1": ("NCHW", ("invert", None)),
    "0..255 on three channels, batch 1": ("NCHW3-batch1", ("div", 255.0)),
    "0..1 [N, 28, 28] extra output, no softmax": ("NHW", None),
}


def _const(name: str, value) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(value, np.float32), name)


def wrap(source: Path, target: Path, convention: str) -> Path:
    """``source``: a digitpad model (canonical input ``image`` [N, 1, 28, 28]); ``target``: the same
    network as a file from elsewhere in ``convention`` (a key of CONVENTIONS)."""
    layout, value = CONVENTIONS[convention]
    model = onnx.load(str(source))
    g = model.graph
    del model.metadata_props[:]
    nodes, inits = [], []
    cur = "x"
    batch = 1 if layout.endswith("batch1") else "N"
    if layout == "NHWC":
        shape = [batch, 28, 28, 1]
        nodes.append(helper.make_node("Transpose", [cur], ["x_nchw"], perm=[0, 3, 1, 2]))
        cur = "x_nchw"
    elif layout in ("flat", "NHW"):
        shape = [batch, 784] if layout == "flat" else [batch, 28, 28]
        inits.append(numpy_helper.from_array(np.array([-1, 1, 28, 28], np.int64), "to_image"))
        nodes.append(helper.make_node("Reshape", [cur, "to_image"], ["x_nchw"]))
        cur = "x_nchw"
    elif layout.startswith("NCHW3"):
        shape = [batch, 3, 28, 28]
        inits.append(numpy_helper.from_array(np.array([1], np.int64), "channel_axis"))
        nodes.append(helper.make_node("ReduceMean", [cur, "channel_axis"], ["x_grey"], keepdims=1))
        cur = "x_grey"
    else:
        shape = [batch, 1, 28, 28]
    if value is not None:
        kind, k = value
        if kind == "div":
            inits.append(_const("k", k))
            nodes.append(helper.make_node("Div", [cur, "k"], ["x_scaled"]))
        elif kind == "norm":      # x = (c - mean) / std  ->  c = x * std + mean
            inits += [_const("s", MNIST_STD), _const("m", MNIST_MEAN)]
            nodes += [helper.make_node("Mul", [cur, "s"], ["x_m"]),
                      helper.make_node("Add", ["x_m", "m"], ["x_scaled"])]
        elif kind == "affine":    # x = 2c - 1  ->  c = (x + 1) / 2
            inits += [_const("one", 1.0), _const("half", 0.5)]
            nodes += [helper.make_node("Add", [cur, "one"], ["x_p"]),
                      helper.make_node("Mul", ["x_p", "half"], ["x_scaled"])]
        elif kind == "invert":    # x = 1 - c  ->  c = 1 - x
            inits.append(_const("one", 1.0))
            nodes.append(helper.make_node("Sub", ["one", cur], ["x_scaled"]))
        cur = "x_scaled"
    nodes.append(helper.make_node("Identity", [cur], ["image"]))
    outputs = [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [batch, 10])]
    tail = [helper.make_node("Identity", ["probs" if layout != "NHW" else "logits"], ["scores"])]
    if layout == "NHW":     # an embedding-like extra output first, and raw scores (no softmax)
        act = next(o for o in g.output if o.name.startswith("act:"))
        tail.append(helper.make_node("Identity", [act.name], ["features"]))
        dims = [d.dim_param or d.dim_value for d in act.type.tensor_type.shape.dim]
        outputs.insert(0, helper.make_tensor_value_info("features", TensorProto.FLOAT, dims))
    graph = helper.make_graph(nodes + list(g.node) + tail, "foreign",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)], outputs,
                              inits + list(g.initializer))
    foreign = helper.make_model(graph, opset_imports=list(model.opset_import))
    foreign.ir_version = model.ir_version
    onnx.checker.check_model(foreign)
    onnx.save(foreign, str(target))
    return target
