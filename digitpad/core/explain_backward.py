"""The backward side of one unit's arithmetic: how the loss's gradient reaches it and where it goes next.

``explain_backward(e, net, values, grads)`` takes a forward explanation (explain.py: the unit, the op that
combined many numbers into it and the per-unit steps after that op) and the backward pass of the same
image (backward.Gradients), and lays out, with the real numbers:

- ``grad``: dL/d(unit), what the backward pass brought to this unit;
- ``chain``: back through the per-unit steps (ReLU, batch norm, ...), each multiplying the gradient by
  its own derivative at this unit's value (ReLU: 1 where its input was above 0, else 0; batch norm:
  gamma / sqrt(var + eps)), down to the output of the op that combined many numbers (``grad_at``);
- how ``grad_at`` splits there: a conv unit hands ``grad_at * window`` to its kernel's weights (this
  unit's share of dL/dW; the whole dL/dW sums the shares of every unit of the map) and ``grad_at * kernel``
  to the inputs its window read (their dL/dx adds the shares of every unit whose window covers them);
  a dense unit does the same with its input vector and its weight column; a max pool passes it all to
  the window's winner; softmax spreads it over every logit.

Every number shown comes from the backward pass or the forward values; the products are recomputed
here in float64, so a reader can check them (tests/core/test_explain_backward.py checks that the shares
of every unit add up to the backward pass's dL/dW and dL/dx).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .backward import Gradients
from .explain_terms import ConvTerms, DenseTerms, Explanation, PoolTerms, SoftmaxTerms
from .forward import Network, Node


@dataclass(frozen=True)
class Link:
    """One per-unit step walked backwards: dL/d(its input) = dL/d(its output) x its derivative here."""

    op: str
    stage: str                   # the step's output
    title: str
    grad_out: float              # dL/d(output) at this unit
    factor: float                # d(output)/d(input) at this unit
    rule: str                    # why that factor, in words with the number it depends on
    grad_in: float               # dL/d(input) at this unit, from the backward pass

    @property
    def product(self) -> float:
        """grad_out x factor: what this path hands back (grad_in too, unless the input has other readers)."""
        return self.grad_out * self.factor


@dataclass
class BackwardExplanation:
    stage: str
    index: tuple[int, ...]
    label: int
    loss: float
    grad: float                                  # dL/d(this unit)
    chain: list[Link]                            # from this unit back to the op that combined many numbers
    at: str                                      # that op's output stage
    grad_at: float                               # dL/d(its unit)
    kind: str                                    # "conv", "dense", "pool", "softmax", "copy", "input", "other"
    input: str | None = None                     # the stage that op reads
    weight: str | None = None                    # the weight it reads (an initializer's name)
    weight_share: np.ndarray | None = None       # conv [Cg, kh, kw] / dense [F]: grad_at x the inputs read
    weight_total: np.ndarray | None = None       # dL/d(those weights) over the whole image: every unit's share
    input_share: np.ndarray | None = None        # grad_at x the weights (conv, dense); a pool: to its winner
    input_total: np.ndarray | None = None        # dL/d(those inputs) from every unit that reads them
    bias_share: float | None = None
    shares: int = 1                              # units whose shares add up to weight_total (a conv map's H x W)
    source: tuple[int, ...] | None = None        # copy: where the number came from

    @property
    def stops(self) -> bool:
        """True when a step's derivative is 0 here (a ReLU that was off): nothing flows further back."""
        return any(link.factor == 0 for link in self.chain)


def explain_backward(e: Explanation, net: Network, values: dict[str, np.ndarray], grads: Gradients
                     ) -> BackwardExplanation:
    """The backward side of explanation ``e`` for the image whose forward pass is ``values`` and whose
    backward pass is ``grads`` (the same image)."""
    index = tuple(e.index)
    chain, name = [], e.stage
    while name in net.producer and net.is_per_unit(net.producer[name]):
        node = net.producer[name]
        source = next(i for i in node.inputs if i and i not in net.constants)
        chain.append(_link(net, node, values, grads, source, index))
        name = source
    out = BackwardExplanation(e.stage, index, grads.label, grads.loss, _at(grads, e.stage, index), chain, name,
                              _at(grads, name, index), e.terms.kind)
    t = e.terms
    if isinstance(t, ConvTerms):
        _conv(out, t, net, values, grads)
    elif isinstance(t, DenseTerms):
        _dense(out, t, net, grads)
    elif isinstance(t, PoolTerms):
        _pool(out, t, grads)
    elif isinstance(t, SoftmaxTerms):
        p = t.exps / t.total
        out.input = t.input
        out.input_share = out.grad_at * p[t.index] * ((np.arange(len(p)) == t.index) - p)
        out.input_total = grads.stages[t.input].astype(np.float64).reshape(-1)
    elif t.kind == "copy":
        out.input, out.source = t.input, tuple(t.source)
        out.input_total = np.array([_at(grads, t.input, t.source)])
    return out


def _at(grads: Gradients, stage: str, index) -> float:
    return float(grads.stages[stage][tuple(index)])


def _link(net: Network, node: Node, values, grads: Gradients, source: str, index) -> Link:
    """The derivative of one per-unit op at this unit, from the forward values, in float64."""
    x = float(values[source][(0, *index)])
    y = float(values[node.outputs[0]][(0, *index)])
    op = node.op
    if op == "Relu":
        factor = 1.0 if x > 0 else 0.0
        rule = f"its input {x:.4g} {'> 0: passes' if x > 0 else '<= 0: stops here'}"
    elif op == "LeakyRelu":
        alpha = float(node.attrs.get("alpha", 0.01))
        factor = 1.0 if x > 0 else alpha
        rule = f"its input {x:.4g} {'> 0' if x > 0 else '<= 0: times alpha'}"
    elif op == "Clip":
        lo = float(net.constants[node.inputs[1]]) if len(node.inputs) > 1 and node.inputs[1] \
            else node.attrs.get("min", -np.inf)
        hi = float(net.constants[node.inputs[2]]) if len(node.inputs) > 2 and node.inputs[2] \
            else node.attrs.get("max", np.inf)
        factor = 1.0 if lo <= x <= hi else 0.0
        rule = f"its input {x:.4g} {'inside' if factor else 'outside'} [{lo:g}, {hi:g}]"
    elif op == "Sigmoid":
        factor, rule = y * (1 - y), f"y (1 - y) with y = {y:.4g}"
    elif op == "Tanh":
        factor, rule = 1 - y * y, f"1 - y² with y = {y:.4g}"
    elif op == "BatchNormalization":
        c = index[0]
        gamma, var = (float(net.constants[node.inputs[i]].reshape(-1)[c]) for i in (1, 4))
        eps = float(np.float32(node.attrs.get("epsilon", 1e-5)))
        factor = gamma / float(np.sqrt(var + eps))
        rule = f"gamma / sqrt(var + eps) = {gamma:.4g} / sqrt({var:.4g} + {eps:g})"
    elif op in ("Add", "Sub", "Mul", "Div"):
        k = 0 if node.inputs[0] in net.constants else 1
        c = float(np.broadcast_to(net.constants[node.inputs[k]], values[node.outputs[0]].shape[1:])[index])
        factor = {"Add": 1.0, "Sub": -1.0 if k == 0 else 1.0, "Mul": c,
                  "Div": (1 / c if c else np.inf) if k == 1 else (-c / (x * x) if x else np.inf)}[op]
        rule = {"Add": "adding a constant: 1", "Sub": "subtracting a constant: 1" if k else "a constant minus it: -1",
                "Mul": f"times the constant {c:.4g}", "Div": f"divided by {c:.4g}" if k else f"{c:.4g} / x"}[op]
    else:   # Identity, Dropout (off at inference)
        factor, rule = 1.0, "a copy: 1"
    return Link(op, node.outputs[0], net.stage(node.outputs[0]).title, _at(grads, node.outputs[0], index),
                float(factor), rule, _at(grads, source, index))


def _conv(out: BackwardExplanation, t: ConvTerms, net: Network, values, grads: Gradients) -> None:
    node = net.producer[out.at]
    g = out.grad_at
    h, w = values[t.input].shape[2:]
    pad = np.broadcast_to(t.padding, t.window.shape)
    out.input, out.weight = t.input, node.inputs[1]
    out.weight_share = g * t.window.astype(np.float64)
    out.input_share = np.where(pad, np.nan, g * t.kernel.astype(np.float64))
    out.bias_share = g if t.has_bias else None
    if out.weight in grads.initializers:
        out.weight_total = grads.initializers[out.weight][t.out_channel].astype(np.float64)
    rows, cols = np.clip(t.rows, 0, h - 1), np.clip(t.cols, 0, w - 1)
    dx = grads.stages[t.input][np.ix_(t.channels, rows, cols)].astype(np.float64)
    out.input_total = np.where(pad, np.nan, dx)
    out.shares = int(np.prod(values[out.at].shape[2:]))


def _dense(out: BackwardExplanation, t: DenseTerms, net: Network, grads: Gradients) -> None:
    node = net.producer[out.at]
    g = out.grad_at
    out.input, out.weight = t.input, node.inputs[1]
    out.weight_share = g * t.alpha * t.inputs.astype(np.float64)
    out.input_share = g * t.alpha * t.weights.astype(np.float64)
    if node.op == "Gemm" and len(node.inputs) > 2 and node.inputs[2]:
        out.bias_share = g * float(node.attrs.get("beta", 1.0))
    dw = grads.initializers.get(out.weight)
    if dw is not None:
        rows_are_units = node.op == "Gemm" and node.attrs.get("transB", 0)   # PyTorch's Linear: W [out, in]
        out.weight_total = (dw[t.unit] if rows_are_units else dw[:, t.unit]).astype(np.float64)
    out.input_total = grads.stages[t.input].astype(np.float64).reshape(-1)


def _pool(out: BackwardExplanation, t: PoolTerms, grads: Gradients) -> None:
    g = out.grad_at
    out.input = t.input
    share = np.zeros(t.window.shape)
    if t.winner is not None:
        share[t.winner] = g
    else:
        share[~t.padding] = g / t.divisor
    out.input_share = np.where(t.padding, np.nan, share)
    x = grads.stages[t.input][t.channel]
    h, w = x.shape
    dx = x[np.ix_(np.clip(t.rows, 0, h - 1), np.clip(t.cols, 0, w - 1))].astype(np.float64)
    out.input_total = np.where(t.padding, np.nan, dx)
