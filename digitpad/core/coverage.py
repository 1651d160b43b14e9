"""Which computed numbers the answer depends on: honest maps and receptive fields.

A 7x7 map max-pooled 2x2 with stride 2 (no ceil mode) gives 3x3: the pool never reads the
map's last row and column, so those units are computed and thrown away, and in training they
get no gradient (on the shipped model's conv4 they show up as a bright, untrained edge). A conv
with stride 2 and a small kernel can skip rows the same way. ``used_maps`` says, for every
feature map, which rows and columns lead to the network's output, following the graph back from
the class scores; the GUI dims the rest. ``receptive_field`` follows one unit back to the input
image the same way: the pixels it depends on, for outlining on hover.

Both run on masks per axis (rows and columns separately), which is exact for convs and pools:
the positions a window reads along the height do not depend on the column.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .forward import Network
from .onnx_ops import ELEMENTWISE_BINARY, Geometry, Node, geometry

_SPATIAL = ("Conv", "MaxPool", "AveragePool")
Mask = tuple[np.ndarray, np.ndarray] | bool   # (rows, cols) of a [C, H, W] stage; True: all of a vector


@dataclass(frozen=True)
class UsedMap:
    """The rows and columns of one stage's maps that the network's output depends on."""

    rows: np.ndarray             # [H] bool
    cols: np.ndarray             # [W] bool
    reason: str | None = None    # one line when something is not used

    @property
    def mask(self) -> np.ndarray:
        """[H, W] bool: True where the unit feeds the output (every channel alike)."""
        return self.rows[:, None] & self.cols[None, :]

    @property
    def complete(self) -> bool:
        return bool(self.rows.all() and self.cols.all())


@dataclass(frozen=True)
class Field:
    """A unit's receptive field on the input image."""

    rows: np.ndarray             # [H] bool: input rows it depends on
    cols: np.ndarray             # [W] bool
    box: tuple[int, int, int, int]   # (top, left, bottom, right), inclusive, inside the image
    size: tuple[int, int]        # extent in pixels counting the padding, e.g. (5, 5) after two 3x3 convs

    @property
    def mask(self) -> np.ndarray:
        return self.rows[:, None] & self.cols[None, :]


def _geometry(net: Network, node: Node, in_shape: tuple[int, ...]) -> Geometry:
    kernel = net.constants[node.inputs[1]].shape[2:] if node.op == "Conv" else None
    return geometry(node, (1, *in_shape), kernel)


def _reads(g: Geometry, axis: int, used_out: np.ndarray, n: int) -> np.ndarray:
    """Input positions (of n) read by the used output positions along one axis."""
    taps = g.taps(axis, np.flatnonzero(used_out)).ravel()
    mask = np.zeros(n, bool)
    mask[taps[(taps >= 0) & (taps < n)]] = True
    return mask


def _full(shape: tuple[int, ...]) -> Mask:
    return (np.ones(shape[1], bool), np.ones(shape[2], bool)) if len(shape) == 3 else True


def _back(net: Network, node: Node, out: Mask, name: str) -> Mask:
    """What of input ``name`` the used part ``out`` of the node's output reads."""
    shape = net.stage(name).shape
    spatial = len(shape) == 3 and isinstance(out, tuple)
    if spatial and node.op in _SPATIAL and name == node.inputs[0]:
        g = _geometry(net, node, shape)
        return _reads(g, 0, out[0], shape[1]), _reads(g, 1, out[1], shape[2])
    same = net.stage(node.outputs[0]).shape == shape
    if spatial and same and (net.is_per_unit(node) or node.op in ELEMENTWISE_BINARY):
        return out
    return _full(shape)   # flatten, dense, global pooling...: every position counts


def _union(a: Mask | None, b: Mask) -> Mask:
    if a is None:
        return b
    if isinstance(a, tuple) and isinstance(b, tuple):
        return a[0] | b[0], a[1] | b[1]
    return True


def _propagate(net: Network, start: dict[str, Mask]) -> dict[str, Mask]:
    """Walk the graph backwards from ``start``: every stage gets the part of it that leads there."""
    masks = dict(start)
    stages = {s.name for s in net.stages} | set(net.aliases)   # an Identity's output leads to its source
    for node in reversed(net.nodes):
        out = masks.get(node.outputs[0])
        if out is None:
            continue
        for name in node.inputs:
            if name in stages:
                masks[name] = _union(masks.get(name), _back(net, node, out, name))
    return masks


def default_roots(net: Network) -> list[str]:
    """The stages the network's answer is read from: its outputs that are not feature maps."""
    outputs = [o for o in net.outputs if o in net]
    return [o for o in outputs if len(net.stage(o).shape) != 3] or outputs


def used_maps(net: Network, roots: list[str] | None = None) -> dict[str, UsedMap]:
    """For every [C, H, W] stage, the rows and columns that lead to ``roots`` (default: the class
    scores). Cached on the network per set of roots."""
    roots = roots or default_roots(net)
    key = ("used_maps", tuple(roots))
    if key not in net.memo:
        masks = _propagate(net, {r: _full(net.stage(r).shape) for r in roots})
        # A copy (Identity, e.g. an act:* output the exporter split off) holds its source's values:
        # what of it reaches the answer is what of its source does.
        for node in net.nodes:
            if node.op in ("Identity", "Dropout") and masks.get(node.outputs[0]) is None:
                masks[node.outputs[0]] = masks.get(node.inputs[0])
        found = {}
        for stage in net.stages:
            if len(stage.shape) != 3:
                continue
            m = masks.get(stage.name)
            rows, cols = m if isinstance(m, tuple) else (np.full(stage.shape[1], m is True),
                                                         np.full(stage.shape[2], m is True))
            found[stage.name] = UsedMap(rows, cols, None if rows.all() and cols.all() else
                                        _reason(net, stage.name, rows, cols))
        found.update({alias: found[src] for alias, src in net.aliases.items() if src in found})   # by either name
        net.memo[key] = found
    return net.memo[key]


def _positions(mask: np.ndarray) -> str:
    idx = [str(i) for i in np.flatnonzero(~mask)]
    return idx[0] if len(idx) == 1 else ", ".join(idx[:-1]) + " and " + idx[-1]


def _reason(net: Network, name: str, rows: np.ndarray, cols: np.ndarray) -> str:
    parts = []
    if not rows.all():
        parts.append(f"row{'s' if (~rows).sum() > 1 else ''} {_positions(rows)}")
    if not cols.all():
        parts.append(f"column{'s' if (~cols).sum() > 1 else ''} {_positions(cols)}")
    if not rows.any() and not cols.any():
        return "Nothing in these maps reaches the output."
    what = " and ".join(parts)
    # The first window op downstream (through ReLU and such) is usually the one that drops them.
    frontier = [name]
    while frontier:
        for node in net.consumers.get(frontier.pop(), []):
            if node.op in _SPATIAL:
                shape = net.stage(node.inputs[0]).shape
                g = _geometry(net, node, shape)
                direct_r = _reads(g, 0, np.ones(g.out_size(0, shape[1]), bool), shape[1])
                direct_c = _reads(g, 1, np.ones(g.out_size(1, shape[2]), bool), shape[2])
                if not (direct_r.all() and direct_c.all()):
                    return (f"{what.capitalize()} feed nothing: {net.stage(node.outputs[0]).title} "
                            f"({describe(g)}) never reads them.")
            elif net.is_per_unit(node):
                frontier.append(node.outputs[0])
    return f"{what.capitalize()} feed nothing: the units that read them are themselves dropped further on."


def describe(g: Geometry) -> str:
    """'2x2 window, stride 2, no padding' and so on, for messages."""
    kh, kw = g.kernel
    text = f"{kh}x{kw} window, stride {g.strides[0] if g.strides[0] == g.strides[1] else g.strides}"
    text += ", no padding" if not any(g.pads) else f", padding {g.pads[0] if len(set(g.pads)) == 1 else g.pads}"
    if g.dilations != (1, 1):
        text += f", dilation {g.dilations}"
    return text + (", ceil mode" if g.ceil_mode else "")


def receptive_field(net: Network, stage: str, index: tuple[int, ...]) -> Field:
    """The input pixels unit ``index`` of ``stage`` depends on. A unit of a vector stage (after
    flattening) depends on the whole image."""
    shape = net.stage(stage).shape
    if len(shape) == 3:
        rows, cols = np.zeros(shape[1], bool), np.zeros(shape[2], bool)
        rows[index[1]] = cols[index[2]] = True
        start: Mask = (rows, cols)
    else:
        start = True
    masks = _propagate(net, {stage: start})
    in_shape = net.stage(net.input_name).shape
    m = masks.get(net.input_name, False)
    rows, cols = m if isinstance(m, tuple) else (np.full(in_shape[1], bool(m)), np.full(in_shape[2], bool(m)))
    r, c = np.flatnonzero(rows), np.flatnonzero(cols)
    box = (int(r[0]), int(c[0]), int(r[-1]), int(c[-1])) if len(r) and len(c) else (0, 0, -1, -1)
    return Field(rows, cols, box, _extent(net, stage, index) if len(shape) == 3 else in_shape[1:])


def _extent(net: Network, stage: str, index: tuple[int, ...]) -> tuple[int, int]:
    """The field's size counting padding: intervals [lo, hi] per axis walked back to the input."""
    spans = {stage: [(index[1], index[1]), (index[2], index[2])]}
    stages = {s.name for s in net.stages} | set(net.aliases)   # an Identity's output leads to its source
    for node in reversed(net.nodes):
        out = spans.get(node.outputs[0])
        if out is None:
            continue
        for name in node.inputs:
            if name not in stages:
                continue
            shape = net.stage(name).shape
            if node.op in _SPATIAL and name == node.inputs[0]:
                g = _geometry(net, node, shape)
                new = [(lo * g.strides[a] - g.pad_begin(a), hi * g.strides[a] - g.pad_begin(a) + g.span(a) - 1)
                       for a, (lo, hi) in enumerate(out)]
            elif len(shape) == 3 and net.stage(node.outputs[0]).shape == shape:
                new = out                               # ReLU, batch norm, ...: the same position
            elif len(shape) == 3:
                new = [(0, shape[1] - 1), (0, shape[2] - 1)]   # global pooling and such: all of it
            else:
                continue
            old = spans.get(name)
            spans[name] = new if old is None else [(min(a[0], b[0]), max(a[1], b[1])) for a, b in zip(old, new)]
    lo_hi = spans.get(net.input_name)
    return (lo_hi[0][1] - lo_hi[0][0] + 1, lo_hi[1][1] - lo_hi[1][0] + 1) if lo_hi else (0, 0)
