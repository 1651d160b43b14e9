"""A CNN's forward pass from scratch, in NumPy, read from its ONNX file.

This is the network without a framework. ``Network.load`` reads the graph, checks that every
op is one of onnx_ops.py's, folds what does not depend on the image into constants and names
every tensor the image flows through (a ``Stage``). ``Network.run`` applies the nodes in order
and keeps every intermediate tensor, so that each number can be looked at (explain.py), sized
(shapes.py) and traced back to the input (coverage.py). It reproduces ONNX Runtime's outputs
for every net in the zoo to 1e-4 on the MNIST test set (tests/core/test_forward.py).

The graph is read with the ``onnx`` package, imported when a network is loaded, not before:
the app imports this module only when the user first asks how a number was computed.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import modelfile
from .onnx_ops import (
    ELEMENTWISE_BINARY,
    OPS,
    PER_UNIT,
    Geometry,
    Node,
    UnsupportedModel,
    geometry,
    pool_counts,
    softmax,
)

# The graph's own names, and the op-level names its users reach for with it (re-exported).
__all__ = ["ELEMENTWISE_BINARY", "Geometry", "Network", "Node", "Stage", "UnsupportedModel", "geometry",
           "pool_counts"]

_NOT_STAGES = {"Shape"}  # outputs describe a tensor's shape, not its values


# -- the network ---------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Stage:
    """One tensor the forward pass computes from the image, in network order.

    ``name`` is the ONNX tensor name: unique in the file and stable, so it is the address
    every API here takes. ``title`` is for people: a layer name from the metadata ("conv1",
    the ReLU output that the app shows as a feature map), the block plus the op for the steps
    inside that layer ("conv1 · Conv", "conv1 · BatchNormalization"), a graph output's name
    ("logits", "probs"), or else the op and its count ("MaxPool 2", "Gemm 1").
    """

    name: str
    op: str                              # ONNX op type; "Input" for the image
    title: str
    shape: tuple[int, ...]               # for one image (no batch axis)
    inputs: tuple[str, ...] = ()         # the stages it reads
    constants: tuple[str, ...] = ()      # the constant tensors it reads (weights, bias, ...)
    attrs: dict[str, Any] = field(default_factory=dict)
    layer: str | None = None             # the metadata layer whose block it belongs to
    node: Node | None = None


class Network:
    """An ONNX graph ready to run in NumPy, with its stages in network order.

    ``Network.load(path_or_bytes, layer_names={"act:conv1": "conv1", ...})``; then
    ``run(x)`` returns every stage's tensor for the batch ``x`` [N, C, H, W].
    """

    def __init__(self, nodes: list[Node], constants: dict[str, np.ndarray], input_name: str,
                 input_shape: tuple[int, ...], outputs: list[str], opset: int,
                 layer_names: dict[str, str] | None = None, batch: int | None = None):
        self.constants = dict(constants)
        self.initializers = tuple(constants)   # the file's own weights; the rest of ``constants`` is made from them
        self.dtype = np.dtype(np.float32)      # what ``run`` computes in (``with_dtype``)
        self.input_name = input_name
        self.input_shape = tuple(input_shape)   # one image, e.g. (1, 28, 28)
        self.outputs = list(outputs)
        self.opset = opset
        for node in nodes:
            if node.op not in OPS:
                where = f" (node '{node.name}')" if node.name else ""
                raise UnsupportedModel(f"op {node.op}{where} is not in digitpad's NumPy forward pass")
        zeros = np.zeros((batch or 1, *self.input_shape), np.float32)  # a fixed batch is kept: shapes hold
        self.nodes = nodes
        self.folded: list[Node] = []   # the nodes computed once at load, in order (the backward pass follows them)
        self._last_use = {}
        dtypes = {k: v.dtype for k, v in self.run(zeros).items()}
        self.nodes = self._fold_constants(nodes, dtypes)
        self.producer = {out: node for node in self.nodes for out in node.outputs}
        self.consumers: dict[str, list[Node]] = {}
        for node in self.nodes:
            for name in node.inputs:
                self.consumers.setdefault(name, []).append(node)
        self._last_use = {name: i for i, node in enumerate(self.nodes) for name in node.inputs}
        for name in self.outputs:
            self._last_use[name] = len(self.nodes)
        shapes = {k: v.shape[1:] for k, v in self.run(zeros).items()}
        self.aliases: dict[str, str] = {}   # an Identity's output -> the stage it copies
        self.stages = self._make_stages(shapes, layer_names or {})
        self._by_name = {s.name: s for s in self.stages}
        self.memo: dict[Any, Any] = {}   # results derived from the graph alone (coverage.used_maps)

    # -- loading ---------------------------------------------------------------------------------
    @classmethod
    def load(cls, source: str | Path | bytes | Any, layer_names: dict[str, str] | None = None,
             input_shape: tuple[int, int, int] | None = None) -> Network:
        """Read a model (path, serialized bytes or ModelProto). ``layer_names`` maps tensor names
        to layer names for titles; ``input_shape`` (C, H, W) fills in an input whose size the
        file leaves open. Raises UnsupportedModel."""
        import onnx  # lazy: protobuf costs ~0.2 s at import and the app starts without it
        from onnx import helper, numpy_helper

        if isinstance(source, (str, Path)):   # read as the Predictor reads it: one self-contained file
            model = onnx.load_from_string(modelfile.read_model(source))
        elif isinstance(source, (bytes, bytearray)):
            model = onnx.load_from_string(bytes(source))
        else:
            model = source
        graph = model.graph
        opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 13)
        constants = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
        inputs = [i for i in graph.input if i.name not in constants]
        if len(inputs) != 1:
            raise UnsupportedModel(f"the graph has {len(inputs)} inputs; one image input is expected")
        dims = [d.dim_value if d.HasField("dim_value") else None for d in inputs[0].type.tensor_type.shape.dim]
        if input_shape is not None and len(dims) == len(input_shape) + 1:
            dims = [dims[0], *(d or want for d, want in zip(dims[1:], input_shape))]
        if len(dims) < 2 or None in dims[1:]:
            raise UnsupportedModel(f"the input's shape {['N' if d is None else d for d in dims]} leaves sizes "
                                   f"other than the batch open")

        def value(attr):
            v = helper.get_attribute_value(attr)
            if isinstance(v, onnx.TensorProto):
                return numpy_helper.to_array(v)
            if isinstance(v, bytes):
                return v.decode("utf-8", "replace")
            if isinstance(v, list):
                return tuple(x.decode("utf-8", "replace") if isinstance(x, bytes) else x for x in v)
            return v

        nodes = []
        for n in graph.node:
            if n.domain not in ("", "ai.onnx"):
                raise UnsupportedModel(f"op {n.domain}.{n.op_type} (node '{n.name}') is outside the standard "
                                       f"ONNX op set; digitpad's NumPy forward pass does not know it")
            attrs = {a.name: value(a) for a in n.attribute}
            if n.op_type == "Constant":
                key = next(iter(attrs))
                attrs = {"value": np.asarray(attrs[key], np.float32 if "float" in key else
                                             np.int64 if "int" in key else None)}
            if n.op_type == "Cast":
                attrs["dtype"] = helper.tensor_dtype_to_np_dtype(attrs["to"])
            nodes.append(Node(n.op_type, tuple(n.input), tuple(n.output), attrs, n.name))
        return cls(nodes, constants, inputs[0].name, tuple(dims[1:]), [o.name for o in graph.output], opset,
                   layer_names, dims[0])

    def _fold_constants(self, nodes: list[Node], dtypes: dict[str, np.dtype]) -> list[Node]:
        """Compute once what does not depend on the image (shape plumbing, Constant nodes).
        CastLike only reads its second input's type, which a first run on zeros told us."""
        kept = []
        for node in nodes:
            if node.op == "CastLike" and node.inputs[0] in self.constants:
                self.constants[node.outputs[0]] = self.constants[node.inputs[0]].astype(dtypes[node.inputs[1]])
            elif all(i in self.constants or not i for i in node.inputs) and node.op != "Shape":
                for name, out in zip(node.outputs, self._apply(node, self.constants)):
                    self.constants[name] = out
                self.folded.append(node)
            else:
                kept.append(node)
        return kept

    def _apply(self, node: Node, values: dict[str, np.ndarray]) -> tuple[np.ndarray, ...]:
        args = [(values[i] if i in values else self.constants[i]) if i else None for i in node.inputs]
        while args and args[-1] is None:
            args.pop()
        if node.op == "Softmax":
            return (softmax(node, *args, opset=self.opset),)
        return (OPS[node.op](node, *args),)

    def _make_stages(self, shapes: dict[str, tuple[int, ...]], layer_names: dict[str, str]) -> list[Stage]:
        data = {self.input_name}
        stage_nodes = []
        for node in self.nodes:
            if node.op not in _NOT_STAGES and any(i in data for i in node.inputs):
                data.add(node.outputs[0])
                if node.op == "Identity":
                    # An Identity computes nothing: it gives a tensor a second name (an exporter's
                    # "act:conv1" or "logits" output). As a stage of its own it repeated its source
                    # (the 8x8 engine's graph listed "conv1 (Identity)" again after the softmax); its
                    # name leads to the source instead, and lends it its title.
                    self.aliases[node.outputs[0]] = self.aliases.get(node.inputs[0], node.inputs[0])
                else:
                    stage_nodes.append(node)
        layer_names = {self.aliases.get(t, t): layer for t, layer in layer_names.items()}
        output_name = {self.aliases[a]: a for a in self.outputs if a in self.aliases}
        layer_of, titles = {}, {}
        for tensor, layer in layer_names.items():
            name = tensor
            titles[tensor] = layer
            while name in self.producer:  # the steps inside that layer: back to the op that mixes
                node = self.producer[name]
                layer_of[name] = layer
                if name != tensor:
                    titles[name] = f"{layer} · {node.op}"
                if not self.is_per_unit(node):
                    break
                name = next(i for i in node.inputs if i in data)
        counts: dict[str, int] = {}
        stages = [Stage(self.input_name, "Input", "input", shapes[self.input_name])]
        for node in stage_nodes:
            out = node.outputs[0]
            title = titles.get(out) or (out if out in self.outputs else output_name.get(out))
            if title is None:
                counts[node.op] = counts.get(node.op, 0) + 1
                title = f"{node.op} {counts[node.op]}"
            stages.append(Stage(out, node.op, title, shapes[out],
                                tuple(self.aliases.get(i, i) for i in node.inputs if i in data),
                                tuple(i for i in node.inputs if i and i in self.constants), dict(node.attrs),
                                layer_of.get(out), node))
        return stages

    # -- using it --------------------------------------------------------------------------------
    def is_per_unit(self, node: Node) -> bool:
        """True when each output number comes from the same-placed input number and constants."""
        if node.op in PER_UNIT:
            return True
        return node.op in ELEMENTWISE_BINARY and sum(i in self.constants for i in node.inputs) == 1

    def __contains__(self, name: str) -> bool:
        return self.canonical(name) in self._by_name

    def canonical(self, name: str) -> str:
        """The stage a tensor name stands for (an Identity's output: the stage it copies)."""
        return self.aliases.get(name, name)

    def stage(self, name: str) -> Stage:
        try:
            return self._by_name[self.canonical(name)]
        except KeyError:
            raise KeyError(f"no stage named {name!r}") from None

    def with_dtype(self, dtype) -> Network:
        """The same network computing in ``dtype`` (float64: the gradient checks against autograd, where
        float32's rounding would hide a wrong formula); its float constants converted, its memo its own."""
        twin = copy.copy(self)
        twin.dtype = np.dtype(dtype)
        twin.constants = {k: v.astype(twin.dtype) if v.dtype.kind == "f" else v for k, v in self.constants.items()}
        twin.memo = {}
        return twin

    def run(self, x: np.ndarray, keep: set[str] | None = None) -> dict[str, np.ndarray]:
        """Every tensor computed from the batch ``x`` [N, C, H, W], by name (the input too).
        With ``keep``, only those names are returned and the rest is freed as soon as possible."""
        x = np.asarray(x, self.dtype)
        if x.shape[1:] != self.input_shape:
            raise ValueError(f"input shape {list(x.shape)} does not match the model's [N, {self.input_shape}]")
        values = {self.input_name: x}
        for i, node in enumerate(self.nodes):
            for name, out in zip(node.outputs, self._apply(node, values)):
                values[name] = out
            if keep is not None:
                for name in node.inputs:
                    if self._last_use.get(name) == i and name not in keep and name in values:
                        del values[name]
        return values if keep is None else {k: v for k, v in values.items() if k in keep}
