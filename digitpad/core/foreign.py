"""A model file from elsewhere (no digitpad metadata), made as inspectable as the graph allows.

Two things a digitpad file says about itself are found here instead:
- its inspectable layers: every Conv node, read after the activation that directly follows it
  (Relu and the like), named conv1, conv2, ... in graph order, its kernel the Conv's weight
  initializer; their tensors are added to the graph's outputs so ONNX Runtime hands them over
  on every prediction (the feature maps, kernels and arithmetic views then work as for our files);
- its input convention (``convention.search``), unless it is remembered for this file's content.

``prepare`` does the slow part (imports onnx, ~0.2 s; rebuilds the session; scores the candidates)
and touches nothing shared, so the app runs it on a worker thread and hands the result to
``Predictor.adopt`` on the UI thread. ``Predictor(path)`` runs both at once.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import convention
from .contract import LayerInfo

if TYPE_CHECKING:
    import onnxruntime as ort

# Element-wise activations a conv's output may go through before the next layer reads it.
ACTIVATIONS = {"Relu", "LeakyRelu", "PRelu", "Elu", "Selu", "Sigmoid", "Tanh", "Clip", "HardSigmoid", "HardSwish",
               "Softplus", "Mish", "Gelu"}


# Ops with constant operands that may come between a conv and its activation (bias, batch norm).
AFFINE = {"Add", "Sub", "Mul", "Div", "BatchNormalization"}


@dataclass
class ForeignSetup:
    layers: list[LayerInfo]
    session: ort.InferenceSession | None   # the model with its layers' tensors as outputs; None: nothing added
    found: convention.Found | None          # None: the convention is not searched for (not a 28x28 digit model)


def derive_layers(model_bytes: bytes) -> tuple[list[LayerInfo], bytes | None]:
    """The conv layers of a graph, and the graph with their tensors added as outputs (None when every
    one already is, or there are none)."""
    import onnx  # lazy: ~0.2 s, on a worker thread
    from onnx import TensorProto, helper

    model = onnx.load_from_string(model_bytes)
    graph = model.graph
    constants = {t.name for t in graph.initializer}
    constants |= {o for n in graph.node if n.op_type == "Constant" for o in n.output}
    consumers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    present = {o.name for o in graph.output}
    layers: list[LayerInfo] = []
    for node in graph.node:
        if node.op_type != "Conv" or not node.output:
            continue
        out = node.output[0]
        # Follow a bias Add or a batch norm (constants only) to the activation that ends the layer.
        while out not in present and len(consumers.get(out, [])) == 1:
            nxt = consumers[out][0]
            per_channel = nxt.op_type in AFFINE and all(i == out or i in constants for i in nxt.input)
            if not (per_channel or nxt.op_type in ACTIVATIONS) or not nxt.output:
                break
            out = nxt.output[0]
            if nxt.op_type in ACTIVATIONS:
                break
        kernel = node.input[1] if len(node.input) > 1 and node.input[1] in constants else None
        layers.append(LayerInfo(f"conv{len(layers) + 1}", "conv", out, kernel))
    added = [layer.output for layer in layers if layer.output not in present]
    if not added:
        return layers, None
    for name in added:
        graph.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))
    return layers, model.SerializeToString()


def prepare_job(task, predictor) -> ForeignSetup:
    """``prepare`` as a background job (``core.background``): the file read again, through the one
    model reader, and checked to be the one that was opened."""
    from .modelfile import read_model

    return prepare(predictor, read_model(predictor.path))


def prepare(predictor, model_bytes: bytes, search: bool = True) -> ForeignSetup:
    """The layers and (when ``search`` and the model is a 28x28 grey digit model whose convention is
    not remembered) the scored conventions of a file without metadata. Reads ``predictor``, changes
    nothing of it."""
    if hashlib.sha256(model_bytes).hexdigest() != predictor.digest:
        raise ValueError(f"{predictor.path.name} changed on disk since it was opened; open it again")
    layers, with_outputs = derive_layers(model_bytes)
    session = predictor.open_session(with_outputs) if with_outputs is not None else None
    found = predictor.remembered_convention() if predictor.convention_applies else None
    if found is None and search and predictor.convention_applies:
        batch = predictor.open_session(model_bytes, threads=2, spinning=True)
        base = predictor.input.spec

        def run(tensor, outputs):
            return predictor.run_outputs(batch, outputs, tensor)

        found = convention.search(run, base, predictor.graph_input_shape, predictor.score_outputs)
    return ForeignSetup(layers, session, found)
