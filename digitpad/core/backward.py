"""Backpropagation from scratch, in NumPy: how the loss for one image changes with every number of the net.

``gradients(net, values, label, ...)`` takes the forward pass of one image (``Network.run``: every
stage's tensor, kept) and a label, puts the cross-entropy loss on the model's probabilities, and walks
the graph's nodes backwards (onnx_grads.py: one backward function per op), each node handing the
gradient of the loss with respect to its inputs to the nodes that made them. Where a tensor feeds
several nodes, their gradients add up. The result (``Gradients``) holds the gradient with respect to
the input image, every stage (each layer's activations), and every weight of the file.

It runs the network as exported, in inference mode: batch norm with its running statistics, dropout
off. That is the function the app shows, so its gradients are that function's; a training step of
the engine would see batch statistics and dropout instead. Checked against PyTorch's autograd on
every zoo net, the shipped model and the NumPy engine's net (tests/core/test_backward.py).
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .forward import Network, Node
from .onnx_grads import GRADS, LEARNT_INPUTS, NO_GRAD
from .onnx_ops import UnsupportedModel

_COPIES = {"Identity", "Dropout"}


class BackwardUnsupported(UnsupportedModel):
    """The graph has an op whose backward pass digitpad does not have; the message is one line."""


@dataclass
class Gradients:
    """The gradient of the loss for one image and one label, with respect to everything the loss depends on.

    ``input`` is in the canonical image's space (0..1, before the model's normalisation) and has the shape
    of the image given; ``stages`` are the graph's tensors (its input stage: the tensor as fed, after
    normalisation) without the batch axis. A stage that is a copy made only to be shown (an Identity to
    an ``act:`` output) has the gradient of what it copies."""

    label: int
    loss: float                              # -log p[label]
    probs: np.ndarray                        # [K] the model's probabilities, as the loss read them
    input: np.ndarray                        # dL/dx, the shape of x
    kernels: dict[str, np.ndarray]           # conv layer -> dL/dW [out, in, kh, kw]
    activations: dict[str, np.ndarray]       # layer -> dL/d(its activation) [C, H, W]
    stages: dict[str, np.ndarray]            # stage name -> dL/d(that tensor), no batch axis
    initializers: dict[str, np.ndarray]      # every float weight of the file the loss depends on -> dL/d(it)
    learnt: tuple[str, ...] = ()             # those a training step changes (onnx_grads.LEARNT_INPUTS)
    seconds: float = 0.0
    score_stage: str = ""                    # where the loss was put on: the logits (or the probabilities)

    def norm(self, name: str) -> float:
        """The size of one weight's gradient (its root mean square), for people comparing layers."""
        g = self.initializers[name]
        return float(np.sqrt(np.mean(np.square(g, dtype=np.float64))))


# -- the walk --------------------------------------------------------------------------------------

def needed(net: Network) -> frozenset[str]:
    """The tensors a gradient is wanted for: everything computed from the image, and the float weights
    with what load made from them (a transposed weight, say). Derived from the graph alone: memoised."""
    key = "backward.needed"
    if key not in net.memo:
        wanted = {s.name for s in net.stages} | set(net.aliases)   # an Identity's output is no stage, but is read
        wanted |= {name for name in net.initializers if net.constants[name].dtype.kind == "f"}
        for node in net.folded:
            if any(i in wanted for i in node.inputs):
                wanted.update(o for o in node.outputs if net.constants.get(o) is not None
                              and net.constants[o].dtype.kind == "f")
        net.memo[key] = frozenset(wanted)
    return net.memo[key]


def unsupported(net: Network) -> str | None:
    """Why the loss cannot be back-propagated through this graph (an op without a backward pass), or None."""
    data = {s.name for s in net.stages} | set(net.aliases)
    for node in net.nodes:
        if node.op not in GRADS and node.op not in NO_GRAD and any(i in data for i in node.inputs):
            where = f" (node '{node.name}')" if node.name else ""
            return f"op {node.op}{where} has no backward pass in digitpad"
    return None


def backward(net: Network, values: dict[str, np.ndarray], seeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """dL/d(every tensor the loss depends on), from ``seeds`` (tensor -> dL/d(tensor)) and the forward
    pass's ``values`` (``net.run(x)``), last node first. Weights made at load are followed back to the
    file's own (``net.folded``). Raises BackwardUnsupported for an op without a backward pass."""
    wanted = needed(net)
    grads = {k: np.asarray(v, values[k].dtype if k in values else net.dtype) for k, v in seeds.items()}

    def value(name: str) -> np.ndarray | None:
        if not name:
            return None
        return values[name] if name in values else net.constants[name]

    for node in [*reversed(net.nodes), *reversed(net.folded)]:
        dy = grads.get(node.outputs[0])
        if dy is None:
            continue
        fn = GRADS.get(node.op)
        if fn is None:
            where = f" (node '{node.name}')" if node.name else ""
            raise BackwardUnsupported(f"op {node.op}{where} has no backward pass in digitpad")
        args = [value(i) for i in node.inputs]
        while args and args[-1] is None:
            args.pop()
        extra = {"opset": net.opset} if node.op == "Softmax" else {}
        for name, g in zip(node.inputs, fn(node, dy, value(node.outputs[0]), *args, **extra)):
            if g is None or name not in wanted:
                continue
            g = np.asarray(g, dy.dtype)
            grads[name] = g if name not in grads else grads[name] + g   # never in place: g may be another's
    for node in net.nodes:   # a copy made to be shown (act:conv1 = Identity(relu1)): what it copies
        if node.op in _COPIES and node.outputs[0] not in grads and node.inputs[0] in grads:
            grads[node.outputs[0]] = grads[node.inputs[0]]
    return grads


def learnt(net: Network) -> tuple[str, ...]:
    """The file's weights a training step changes (``onnx_grads.LEARNT_INPUTS``), followed back through
    what load made from them; in network order. Memoised."""
    key = "backward.learnt"
    if key not in net.memo:
        made_by = {o: node for node in net.folded for o in node.outputs}
        found: list[str] = []

        def sources(name: str) -> None:
            if name in net.initializers:
                if name not in found and net.constants[name].dtype.kind == "f":
                    found.append(name)
            elif name in made_by:
                for i in made_by[name].inputs:
                    if i:
                        sources(i)

        for node in net.nodes:
            for slot in LEARNT_INPUTS.get(node.op, ()):
                if slot < len(node.inputs) and node.inputs[slot] in net.constants:
                    sources(node.inputs[slot])
        net.memo[key] = tuple(found)
    return net.memo[key]


# -- the loss --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Scores:
    """Where a model's answer is read: ``name`` the stage, ``probabilities`` whether it holds probabilities
    already (else logits, which the app turns into probabilities with a softmax)."""

    name: str
    probabilities: bool


@dataclass
class Seed:
    """Where the backward pass starts: ``stage`` and dL/d(stage); ``probs_grad`` is dL/d(probabilities) when
    the walk starts below them (shown, not walked: it would be counted twice)."""

    stage: str
    grad: np.ndarray
    loss: float
    probs: np.ndarray
    probs_grad: tuple[str, np.ndarray] | None = None


def loss_seed(net: Network, values: dict[str, np.ndarray], scores: Scores, label: int) -> Seed:
    """The loss L = -log p[label] and where its gradient enters the graph.

    On logits z, p = softmax(z) and dL/dz = p - onehot(label): softmax and cross-entropy together, as the
    NumPy engine's SoftmaxCrossEntropy does, because apart they divide by a probability that can round
    to 0. A graph whose probabilities come from its own Softmax node starts at that node's input the same
    way. Only probabilities made otherwise start at them: dL/dp = -onehot / p[label]."""
    name, probabilities = scores.name, scores.probabilities
    node = net.producer.get(name)
    below = probabilities and node is not None and node.op == "Softmax" and _over_last_axis(net, node) \
        and node.inputs[0] in values
    out = values[name]
    k = out.shape[-1]
    if not 0 <= label < k:
        raise ValueError(f"label {label} is not one of the model's {k} classes")
    onehot = np.zeros(k)
    onehot[label] = 1.0
    if probabilities and not below:
        p = out.reshape(-1, k)[0].astype(np.float64)
        picked = max(p[label], np.finfo(out.dtype).tiny)
        return Seed(name, (-onehot / picked).reshape(out.shape).astype(out.dtype), -float(np.log(picked)), p)
    probs_grad = None
    if below:
        p = out.reshape(-1, k)[0].astype(np.float64)
        probs_grad = (name, (-onehot / max(p[label], np.finfo(out.dtype).tiny)).reshape(out.shape).astype(out.dtype))
        name = node.inputs[0]
        out = values[name]
    z = out.reshape(-1, k)[0].astype(np.float64)
    m = z.max()
    e = np.exp(z - m)
    p = e / e.sum()
    loss = float(m + np.log(e.sum()) - z[label])   # logsumexp(z) - z[label]: no log of a rounded 0
    return Seed(name, (p - onehot).reshape(out.shape).astype(out.dtype), loss, p, probs_grad)


def _over_last_axis(net: Network, node: Node) -> bool:
    x = net.stage(node.inputs[0]) if node.inputs[0] in net else None
    if x is None:
        return False
    axis = node.attrs.get("axis", -1 if net.opset >= 13 else 1)
    return axis % (len(x.shape) + 1) == len(x.shape)


# -- one image -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LayerWeights:
    """A layer as the views name it: the stage that holds its activation and the weight that is its kernel."""

    name: str
    stage: str | None
    kernel: str | None


@dataclass
class Request:
    """What ``gradients`` needs to know about the model beyond its graph (the Predictor fills it in)."""

    scores: Scores
    layers: list[LayerWeights] = field(default_factory=list)
    to_canonical: Callable[[np.ndarray], np.ndarray] | None = None   # dL/d(graph tensor) -> dL/d(canonical)


def gradients(net: Network, values: dict[str, np.ndarray], label: int, request: Request,
              x_shape: tuple[int, ...] | None = None) -> Gradients:
    """The gradients of -log p[label] for the one image whose forward pass is ``values`` (batch of 1)."""
    t0 = time.perf_counter()
    seed = loss_seed(net, values, request.scores, label)
    grads = backward(net, values, {seed.stage: seed.grad})
    if seed.probs_grad is not None:
        grads[seed.probs_grad[0]] = seed.probs_grad[1]
    stages = {s.name: (grads[s.name][0] if s.name in grads else np.zeros(s.shape, values[s.name].dtype))
              for s in net.stages}
    for alias, source in net.aliases.items():   # an Identity's output (an exporter's "logits", "act:conv1"):
        if source in stages:                     # its own gradient where something read it, else its source's
            stages[alias] = grads[alias][0] if alias in grads else stages[source]
    dx = grads.get(net.input_name)
    dx = np.zeros_like(values[net.input_name]) if dx is None else dx
    if request.to_canonical is not None:
        dx = request.to_canonical(dx)
    if x_shape is not None:
        dx = dx.reshape(x_shape)
    weights = {name: grads.get(name, np.zeros_like(net.constants[name])) for name in net.initializers
               if net.constants[name].dtype.kind == "f"}
    kernels, activations = {}, {}
    for layer in request.layers:
        if layer.kernel in weights and weights[layer.kernel].ndim == 4:
            kernels[layer.name] = weights[layer.kernel]
        if layer.stage in stages and stages[layer.stage].ndim == 3:
            activations[layer.name] = stages[layer.stage]
    return Gradients(label=int(label), loss=seed.loss, probs=seed.probs, input=dx, kernels=kernels,
                     activations=activations, stages=stages, initializers=weights, learnt=learnt(net),
                     score_stage=seed.stage,
                     seconds=time.perf_counter() - t0)
