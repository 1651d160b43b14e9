"""How one number of the forward pass was computed, with the real numbers.

``explain(net, values, stage, index)`` takes a unit of any stage (a pixel of a feature map, an
entry of the flattened vector, a logit, a probability) and returns an ``Explanation``
(explain_terms.py, which says what each field holds). It walks back from the unit through
the per-unit ops (batch norm, ReLU, a constant added or multiplied...) to the op that combined
many numbers into it, breaks that op down into its terms, then replays the per-unit ops on
that one number in float64 as ``steps``. The forward pass's own number is kept beside the
result, never copied into it, so the two can be compared. ``as_text`` prints an explanation
as plain lines.

The result types are re-exported here, so ``from digitpad.core.explain import Explanation``
is the one import a caller needs.
"""
from __future__ import annotations

import math

import numpy as np

from .coverage import receptive_field, used_maps
from .explain_terms import (
    BinaryTerms,
    Contribution,
    ConvTerms,
    CopyTerms,
    DenseTerms,
    ExplainError,
    Explanation,
    InputTerms,
    OtherTerms,
    PoolTerms,
    SoftmaxTerms,
    Step,
    Terms,
    binary_op,
    format_number,
)
from .forward import Network
from .onnx_ops import ELEMENTWISE_BINARY, Geometry, Node, geometry, pool_counts

__all__ = ["BinaryTerms", "Contribution", "ConvTerms", "CopyTerms", "DenseTerms", "ExplainError", "Explanation",
           "InputTerms", "OtherTerms", "PoolTerms", "SoftmaxTerms", "Step", "Terms", "as_text", "explain",
           "folded_batch_norm", "pool_terms"]


# -- building one ----------------------------------------------------------------------------------

def explain(net: Network, values: dict[str, np.ndarray], stage: str, index: tuple[int, ...],
            roots: list[str] | None = None) -> Explanation:
    """Explain unit ``index`` of ``stage`` for one image; ``values`` is ``net.run(x)`` with N = 1.
    ``roots``: the stages the network's answer is read from (for ``used``; default: see coverage)."""
    try:
        st = net.stage(stage)
    except KeyError:
        raise ExplainError(f"no stage named {stage!r} in this model") from None
    index = tuple(int(i) for i in index)
    if len(index) != len(st.shape) or any(not 0 <= i < n for i, n in zip(index, st.shape)):
        raise ExplainError(f"{st.title} has shape {list(st.shape)}; there is no unit {list(index)}")
    chain, name = [], stage   # the per-unit ops (ReLU, BN, ...) back to the op that mixed many numbers
    while name in net.producer and net.is_per_unit(net.producer[name]):
        node = net.producer[name]
        chain.append(node)
        name = next(i for i in node.inputs if i and i not in net.constants)
    terms = _terms(net, values, name, index)
    steps, x = [], float(terms.value)
    for node in reversed(chain):   # each step starts from the previous step's recomputed number
        steps.append(_step(net, node, x, index, values[node.outputs[0]].shape[1:]))
        x = steps[-1].output
    notes = _notes(net, name, steps)
    downstream = _downstream(net, values, stage, index)
    used = True
    if len(st.shape) == 3:
        maps = used_maps(net, roots)
        if stage in maps and not maps[stage].mask[index[1], index[2]]:
            used = False
            notes.append(maps[stage].reason or "No later layer reads this position.")
    return Explanation(stage, st.title, index, terms, steps, float(values[stage][(0, *index)]), downstream, notes,
                       used, receptive_field(net, stage, index))


def _terms(net: Network, values: dict[str, np.ndarray], name: str, index: tuple[int, ...]) -> Terms:
    if name == net.input_name:
        return InputTerms(float(values[name][(0, *index)]))
    node = net.producer[name]
    data = [i for i in node.inputs if i and i not in net.constants]

    def arg(i: int) -> np.ndarray | None:
        name = node.inputs[i] if len(node.inputs) > i else ""
        return (values[name] if name in values else net.constants[name]) if name else None

    if node.op == "Conv":
        return _conv_terms(node, arg(0), arg(1), arg(2), index)
    if node.op in ("MaxPool", "AveragePool", "GlobalMaxPool", "GlobalAveragePool"):
        return pool_terms(node, values[node.inputs[0]][0], *index)
    if node.op in ("Gemm", "MatMul") and node.inputs[0] in data and node.inputs[1] in net.constants:
        return _dense_terms(net, node, arg(0), arg(1), arg(2), index)
    if node.op == "Softmax" and len(index) == 1:
        z = values[node.inputs[0]][0].astype(np.float64)
        shift = float(z.max())
        return SoftmaxTerms(node.inputs[0], index[0], z, shift, np.exp(z - shift))
    if node.op in ("Flatten", "Reshape", "Squeeze", "Unsqueeze"):   # same order, other shape
        flat = np.ravel_multi_index(index, values[name].shape[1:])
        source = tuple(int(k) for k in np.unravel_index(flat, values[node.inputs[0]].shape[1:]))
        return CopyTerms(node.op, node.inputs[0], source, float(values[node.inputs[0]][(0, *source)]))
    perm = node.attrs.get("perm")
    if node.op == "Transpose" and perm is not None and perm[0] == 0:   # out[i] = x[i permuted back]
        source = [0] * len(index)
        for k, axis in enumerate(perm[1:]):
            source[axis - 1] = index[k]
        return CopyTerms(node.op, node.inputs[0], tuple(source), float(values[node.inputs[0]][(0, *source)]))
    if node.op in ELEMENTWISE_BINARY and len(data) == 2:
        a, b = (np.broadcast_to(values[i], values[name].shape)[(0, *index)] for i in node.inputs[:2])
        return BinaryTerms(node.op, (node.inputs[0], node.inputs[1]), float(a), float(b))
    return OtherTerms(node.op, float(values[name][(0, *index)]))


def _conv_terms(node: Node, x: np.ndarray, w: np.ndarray, b: np.ndarray | None, index) -> ConvTerms:
    o, r, c = index
    g = geometry(node, x.shape, w.shape[2:])
    groups = int(node.attrs.get("group", 1))
    cg = w.shape[1]
    channels = np.arange(cg) + (o // (w.shape[0] // groups)) * cg
    rows, cols = g.taps(0, r), g.taps(1, c)
    inside_r = (rows >= 0) & (rows < x.shape[2])
    inside_c = (cols >= 0) & (cols < x.shape[3])
    padding = ~(inside_r[:, None] & inside_c[None, :])
    window = x[0][np.ix_(channels, np.clip(rows, 0, x.shape[2] - 1), np.clip(cols, 0, x.shape[3] - 1))]
    window = np.where(padding, np.float32(0), window)
    kernel = w[o]
    products = window.astype(np.float64) * kernel
    bias = float(b[o]) if b is not None else 0.0
    return ConvTerms(node.inputs[0], o, channels, rows, cols, padding, window, kernel, products,
                     products.sum(axis=(1, 2)), bias, b is not None, g, groups)


def pool_terms(node: Node, x: np.ndarray, channel: int, row: int, col: int) -> PoolTerms:
    """The window of pooling output (channel, row, col); ``x`` is the pool's input [C, H, W]."""
    h, w = x.shape[1:]
    g = Geometry((h, w)) if node.op.startswith("Global") else geometry(node, (1, *x.shape))
    rows, cols = g.taps(0, row), g.taps(1, col)
    inside_r, inside_c = (rows >= 0) & (rows < h), (cols >= 0) & (cols < w)
    padding = ~(inside_r[:, None] & inside_c[None, :])
    window = x[channel][np.ix_(np.clip(rows, 0, h - 1), np.clip(cols, 0, w - 1))].astype(np.float32)
    window = np.where(padding, np.nan, window)
    if node.op.endswith("MaxPool"):
        masked = np.where(padding, -np.inf, window)
        winner = tuple(int(k) for k in np.unravel_index(int(np.argmax(masked)), masked.shape))
        return PoolTerms(node.op, node.inputs[0], node.outputs[0], channel, row, col, rows, cols, padding,
                         window, winner=winner)
    include = bool(node.attrs.get("count_include_pad", 0))
    divisor = int(pool_counts(g, 0, h, row + 1, include)[row] * pool_counts(g, 1, w, col + 1, include)[col])
    return PoolTerms(node.op, node.inputs[0], node.outputs[0], channel, row, col, rows, cols, padding,
                     window, divisor=divisor)


def _dense_terms(net: Network, node: Node, a, b, c, index) -> DenseTerms:
    j = index[-1]
    if node.op == "Gemm":
        a = a.T if node.attrs.get("transA", 0) else a
        b = b.T if node.attrs.get("transB", 0) else b
        alpha, beta = float(node.attrs.get("alpha", 1.0)), float(node.attrs.get("beta", 1.0))
        bias = beta * float(np.broadcast_to(c, (a.shape[0], b.shape[1]))[0, j]) if c is not None else 0.0
    else:
        alpha, bias = 1.0, 0.0
    x = a.reshape(-1, a.shape[-1])[0]
    weights = b[:, j]
    sources = _flatten_source(net, node.inputs[0])
    return DenseTerms(node.inputs[0], j, x, weights, x.astype(np.float64) * weights, bias, alpha, sources)


def _flatten_source(net: Network, name: str) -> tuple[str, tuple[int, ...]] | None:
    """The stage a vector was flattened from, through Flatten/Reshape/Identity."""
    moved = False
    while name in net.producer and net.producer[name].op in ("Flatten", "Reshape", "Squeeze", "Unsqueeze",
                                                             "Identity", "Dropout"):
        name, moved = net.producer[name].inputs[0], True
    return (name, net.stage(name).shape) if moved else None


def _step(net: Network, node: Node, x: float, index: tuple[int, ...], shape) -> Step:
    def const(i: int) -> np.ndarray:
        return net.constants[node.inputs[i]]

    channel = index[0]
    title = net.stage(node.outputs[0]).title
    if node.op == "BatchNormalization":
        gamma, beta, mean, var = (float(const(i).reshape(-1)[channel]) for i in (1, 2, 3, 4))
        eps = float(np.float32(node.attrs.get("epsilon", 1e-5)))
        t = {"x": x, "mean": mean, "var": var, "eps": eps, "gamma": gamma, "beta": beta}
        out = (x - mean) / math.sqrt(var + eps) * gamma + beta
        return Step(node.op, node.outputs[0], title, "({x} - {mean}) / sqrt({var} + {eps}) * {gamma} + {beta}", t, out)
    if node.op == "Relu":
        return Step(node.op, node.outputs[0], title, "max(0, {x})", {"x": x}, max(0.0, x))
    if node.op == "LeakyRelu":
        alpha = float(node.attrs.get("alpha", 0.01))
        return Step(node.op, node.outputs[0], title, "{x} if {x} >= 0 else {alpha} * {x}", {"x": x, "alpha": alpha},
                    x if x >= 0 else alpha * x)
    if node.op == "Clip":
        lo = float(const(1)) if len(node.inputs) > 1 and node.inputs[1] else node.attrs.get("min", -math.inf)
        hi = float(const(2)) if len(node.inputs) > 2 and node.inputs[2] else node.attrs.get("max", math.inf)
        return Step(node.op, node.outputs[0], title, "min(max({x}, {lo}), {hi})", {"x": x, "lo": lo, "hi": hi},
                    min(max(x, lo), hi))
    if node.op == "Sigmoid":
        return Step(node.op, node.outputs[0], title, "1 / (1 + exp(-{x}))", {"x": x}, 1 / (1 + math.exp(-x)))
    if node.op == "Tanh":
        return Step(node.op, node.outputs[0], title, "tanh({x})", {"x": x}, math.tanh(x))
    if node.op in ELEMENTWISE_BINARY:
        k = 0 if node.inputs[0] in net.constants else 1
        c = float(np.broadcast_to(const(k), (1, *shape))[(0, *index)])
        sym = {"Add": "+", "Sub": "-", "Mul": "*", "Div": "/"}[node.op]
        template = f"{{c}} {sym} {{x}}" if k == 0 else f"{{x}} {sym} {{c}}"
        out = binary_op(node.op, c, x) if k == 0 else binary_op(node.op, x, c)
        return Step(node.op, node.outputs[0], title, template, {"x": x, "c": c}, out)
    return Step(node.op, node.outputs[0], title, "{x}", {"x": x}, x)  # Identity, Dropout


def _notes(net: Network, name: str, steps: list[Step]) -> list[str]:
    node = net.producer.get(name)
    notes = []
    if node is not None and node.op == "Conv" and not any(s.op == "BatchNormalization" for s in steps) \
            and folded_batch_norm(node):
        notes.append("Batch norm was folded into this conv by the exporter: kernel and bias already include "
                         "(x - mean) / sqrt(var + eps) * gamma + beta; the file keeps no separate values.")
    return notes


def folded_batch_norm(node: Node) -> bool:
    """A conv whose bias the ONNX exporter made by folding a batch norm into it: onnxscript's
    fusion names the new bias after the weight (``<weight>_bias``) when the conv had none."""
    return len(node.inputs) > 2 and node.inputs[2] == node.inputs[1] + "_bias"


def _downstream(net: Network, values: dict[str, np.ndarray], stage: str, index: tuple[int, ...]) -> list[PoolTerms]:
    """The pooling windows that read this unit (through per-unit ops such as ReLU), winner marked."""
    if len(index) != 3:
        return []
    channel, row, col = index
    found, frontier = [], [stage]
    while frontier:
        name = frontier.pop()
        for node in net.consumers.get(name, []):
            if net.is_per_unit(node):
                frontier.append(node.outputs[0])
            elif node.op in ("MaxPool", "AveragePool", "GlobalMaxPool", "GlobalAveragePool"):
                x = values[name][0]
                h, w = x.shape[1:]
                out_h, out_w = values[node.outputs[0]].shape[2:]
                g = Geometry((h, w)) if node.op.startswith("Global") else geometry(node, (1, *x.shape))
                out_rows = np.flatnonzero((g.taps(0, np.arange(out_h)) == row).any(axis=1))
                out_cols = np.flatnonzero((g.taps(1, np.arange(out_w)) == col).any(axis=1))
                found += [pool_terms(node, x, channel, int(i), int(j)) for i in out_rows for j in out_cols]
    return found


def as_text(e: Explanation, net: Network, digits: int = 4, channels: int = 3) -> str:
    """The explanation as plain lines (for logs, tooltips, tests and reading in a terminal);
    a conv lists the ``channels`` input channels with the largest sums."""
    def f(v) -> str:
        return format_number(float(v), digits)

    def grid(a) -> str:
        return "[" + "; ".join(" ".join(f(v) for v in row) for row in a) + "]"

    t, lines = e.terms, [f"{e.title} {list(e.index)} = {f(e.value)}  (forward pass {f(e.computed)}"
                         + (f", ONNX Runtime {f(e.onnxruntime)})" if e.onnxruntime is not None else ")")]

    def src(name: str) -> str:
        return net.stage(name).title

    if t.kind == "conv":
        g = t.geometry
        n = len(t.channels)
        lines.append(f"  conv of {src(t.input)} ({n} channel{'s' if n > 1 else ''}), "
                     f"{g.kernel[0]}x{g.kernel[1]} kernel, "
                     f"rows {t.rows[0]}..{t.rows[-1]}, cols {t.cols[0]}..{t.cols[-1]} (outside the map: padding)")
        for i in np.argsort(-np.abs(t.sums))[:channels]:
            lines.append(f"  channel {t.channels[i]}: window {grid(t.window[i])} x kernel {grid(t.kernel[i])} "
                         f"-> sum {f(t.sums[i])}")
        lines.append(f"  sum over the channels {f(t.total)} + bias {f(t.bias)} = {f(t.value)}")
    elif t.kind == "pool":
        how = f"max, winner at {t.winner_position}" if t.winner is not None else f"mean of {t.divisor}"
        lines.append(f"  {t.op} of {src(t.input)} channel {t.channel}, window {grid(t.window)}: {how} = {f(t.value)}")
    elif t.kind == "dense":
        lines.append(f"  dense over {len(t.inputs)} inputs of {src(t.input)}; largest contributions:")
        for c in t.top(5):
            where = f" ({src(c.source[0])} {list(c.source[1])})" if c.source else ""
            lines.append(f"    x[{c.index}]{where} {f(c.input)} x w {f(c.weight)} = {f(c.product)}")
        lines.append(f"  sum {f(t.total)}" + (f" x alpha {f(t.alpha)}" if t.alpha != 1 else "")
                     + f" + bias {f(t.bias)} = {f(t.value)}")
    elif t.kind == "softmax":
        lines.append(f"  exp({f(t.logits[t.index])} - {f(t.shift)}) = {f(t.exps[t.index])}; "
                     f"sum of {len(t.exps)} exps {f(t.total)}; {f(t.exps[t.index])} / {f(t.total)} = {f(t.value)}")
    elif t.kind == "copy":
        lines.append(f"  {t.op}: copied from {src(t.input)} {list(t.source)} = {f(t.value)}")
    elif t.kind == "binary":
        lines.append(f"  {t.op} of {src(t.inputs[0])} and {src(t.inputs[1])}: {f(t.a)}, {f(t.b)} -> {f(t.value)}")
    else:
        lines.append(f"  {getattr(t, 'op', 'input')}: {f(t.value)}")
    lines += [f"  {s.op}: {s.text(digits)}" for s in e.steps]
    for w in e.downstream:
        mark = "this unit wins" if w.winner_position == tuple(e.index[1:]) else f"winner {w.winner_position}"
        lines.append(f"  read by {src(w.stage)} [{w.channel}, {w.row}, {w.col}]: {mark}" if w.winner is not None
                     else f"  read by {src(w.stage)} [{w.channel}, {w.row}, {w.col}] (mean of {w.divisor})")
    lines += [f"  note: {n}" for n in e.notes]
    return "\n".join(lines)
