"""What the explore views read from a model's graph: its last hidden layer, and a batch session that
hands over the tensors they need.

The last hidden layer is the input of the final dense layer: walking back from the class scores
through the ops that only reshape, scale or normalise them (Softmax, a bias Add, Identity...), the
first Gemm or MatMul met; its input that is not a weight is the vector the classes are read from
(the shipped model: the 2,048 values of conv4's pooled maps, flattened). A graph whose scores come
from another op (a 1x1 conv and a global pool) has no such layer: its scores are used instead.

A tensor inside the graph is not handed over by ONNX Runtime unless it is an output, so the file is
opened again with the wanted tensors as its only outputs (as ``core.stage_probe`` and ``core.foreign``
do); imports onnx (~0.2 s): build it on a worker thread.
"""
from __future__ import annotations

import hashlib

import onnxruntime as ort

from .. import modelfile

DENSE = {"Gemm", "MatMul"}
# Ops between the final dense layer and the scores that keep one data input (the rest constants).
PASS_THROUGH = {"Add", "Sub", "Mul", "Div", "Identity", "Softmax", "LogSoftmax", "Reshape", "Flatten", "Squeeze",
                "Unsqueeze", "Cast", "Relu", "Sigmoid", "Dropout", "BatchNormalization"}


class ModelChanged(ValueError):
    """The file on disk is not the one the Predictor opened."""


def model_bytes(predictor) -> bytes:
    """The file's bytes, checked to be those the predictor opened (the caches are keyed by its digest)."""
    data = modelfile.read_model(predictor.path)
    if hashlib.sha256(data).hexdigest() != predictor.digest:
        raise ModelChanged(f"{predictor.path.name} changed on disk since it was opened; open it again")
    return data


def _constants(graph) -> set[str]:
    names = {t.name for t in graph.initializer}
    return names | {o for n in graph.node if n.op_type == "Constant" for o in n.output}


def hidden_tensor(graph, scores: str) -> str | None:
    """The name of the tensor the final dense layer reads (see the module's docstring), or None."""
    producers = {out: node for node in graph.node for out in node.output}
    constants = _constants(graph)
    name, steps = scores, 0
    while name in producers and steps < 32:
        node = producers[name]
        data = [i for i in node.input if i and i not in constants]
        if node.op_type in DENSE:
            return data[0] if len(data) == 1 else None
        if node.op_type not in PASS_THROUGH or len(data) != 1:
            return None
        name, steps = data[0], steps + 1
    return None


def session_with(data: bytes, outputs: list[str], threads: int, spinning: bool) -> tuple[ort.InferenceSession,
                                                                                          list[str]]:
    """A session of the model in ``data`` whose outputs are exactly ``outputs`` (in that order)."""
    import onnx  # lazy: protobuf is ~0.2 s to import, and this runs on a worker thread
    from onnx import TensorProto, helper

    from ..inference import Predictor

    model = onnx.load_from_string(data)
    graph = model.graph
    present = {o.name: o for o in graph.output}
    kept = [present[name] if name in present else helper.make_tensor_value_info(name, TensorProto.FLOAT, None)
            for name in outputs]
    del graph.output[:]
    graph.output.extend(kept)
    session = Predictor.open_session(model.SerializeToString(), threads=threads, spinning=spinning)
    return session, [o.name for o in session.get_outputs()]


def score_name(predictor) -> str:
    """The graph output the class scores are read from (logits, else probabilities)."""
    return predictor.logits_name or predictor.probs_name


def find_hidden(predictor, data: bytes) -> str:
    """The last hidden layer's tensor of the predictor's model (``data``: its bytes), else its scores."""
    import onnx

    graph = onnx.load_from_string(data).graph
    found = hidden_tensor(graph, score_name(predictor))
    if found is None or found in {i.name for i in graph.input}:
        return score_name(predictor)   # no dense layer (or a linear model on the pixels): the scores
    return found
