"""Shapes, output-size formulas, parameters and multiply-adds: of the loaded model, and what-if.

The size a conv or pool produces along one axis is the tutorial formula

    out = (W - K + 2P) / S + 1        rounded down (up with ceil_mode)

with W the input size, K the kernel (with dilation D it covers D*(K-1)+1 positions), P the
padding on each side (ONNX allows different begin and end padding: W - K + P_begin + P_end)
and S the stride. ``SizeFormula`` fills it in and says in words what rounding costs.
``model_shapes(net)`` gives every stage of a loaded model; ``what_if(size, specs)`` is the
pure function behind a what-if panel: change K, P, S or the input size and the shapes follow,
with settings that cannot work explained.

No onnx import here: the what-if panel works before (and without) a model is read.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from .forward import Network
from .onnx_ops import Geometry, geometry


@dataclass(frozen=True)
class SizeFormula:
    """(W - K + P_begin + P_end) / S + 1 along one axis, filled in."""

    size: int                    # W
    kernel: int                  # K
    stride: int = 1              # S
    pad_begin: int = 0
    pad_end: int = 0
    dilation: int = 1            # D
    ceil_mode: bool = False

    @property
    def span(self) -> int:
        """Positions one window covers: D * (K - 1) + 1."""
        return self.dilation * (self.kernel - 1) + 1

    @property
    def padded(self) -> int:
        return self.size + self.pad_begin + self.pad_end

    @property
    def exact(self) -> Fraction:
        """The formula before rounding."""
        return Fraction(self.padded - self.span, self.stride) + 1

    @property
    def out(self) -> int:
        """The size ONNX Runtime and PyTorch produce (0 when no window fits)."""
        g = Geometry((self.kernel, 1), (self.stride, 1), (self.pad_begin, 0, self.pad_end, 0),
                     (self.dilation, 1), self.ceil_mode)
        return g.out_size(0, self.size)

    @property
    def unread(self) -> int:
        """Input positions at the end (not padding) that no window reads."""
        if self.out <= 0:
            return self.size
        last = (self.out - 1) * self.stride - self.pad_begin + self.span - 1
        return max(0, self.size - 1 - last)

    @property
    def skipped(self) -> int:
        """Input positions between windows that no window reads (stride larger than the window)."""
        gap = max(0, self.stride - self.span)
        return gap * max(0, self.out - 1)

    def text(self) -> str:
        """'(28 - 3 + 2·1) / 1 + 1 = 28', '(7 - 2 + 2·0) / 2 + 1 = 3.5 → 3 (rounded down)'."""
        k = str(self.kernel) if self.dilation == 1 else f"{self.span}"
        pads = f"2·{self.pad_begin}" if self.pad_begin == self.pad_end else f"{self.pad_begin} + {self.pad_end}"
        exact = self.exact
        shown = str(exact.numerator) if exact.denominator == 1 else f"{float(exact):.4g}"
        text = f"({self.size} - {k} + {pads}) / {self.stride} + 1 = {shown}"
        if self.span > self.padded or self.out <= 0:
            return text + ": no window fits"
        if exact.denominator == 1:
            return text
        if not self.ceil_mode:
            return text + f" → {self.out} (rounded down)"
        if self.out > math.floor(exact):
            return text + f" → {self.out} (rounded up: ceil mode)"
        return text + f" → {self.out} (ceil mode, but that last window would start in the padding, so it is dropped)"

    def problems(self, pool: bool = False) -> list[str]:
        """Why this layer cannot run, one sentence each (empty: it can)."""
        found = []
        for name, v, least in (("input size", self.size, 1), ("kernel", self.kernel, 1), ("stride", self.stride, 1),
                               ("dilation", self.dilation, 1), ("padding", min(self.pad_begin, self.pad_end), 0)):
            if v < least:
                found.append(f"The {name} must be at least {least} (it is {v}).")
        if found:
            return found
        if self.span > self.padded:
            found.append(f"The kernel ({self.span}) is larger than the padded input ({self.size} + "
                         f"{self.pad_begin + self.pad_end} = {self.padded}): no window fits, the output is empty.")
        elif self.out <= 0:
            found.append(f"The output size is {self.out}: nothing fits.")
        if pool and max(self.pad_begin, self.pad_end) > self.kernel // 2:
            found.append(f"Pooling padding {max(self.pad_begin, self.pad_end)} is more than half the kernel "
                         f"({self.kernel}): PyTorch refuses it (a window could be mostly padding).")
        return found

    def notes(self) -> list[str]:
        """What the layer wastes or invents, one sentence each (it still runs)."""
        found = []
        if self.out <= 0:
            return found
        remainder = (self.padded - self.span) % self.stride
        if remainder and not self.ceil_mode:
            n = self.unread
            lost = f"so the last {_count(n, 'input position')} never read." if n else "dropping only padding."
            found.append(f"{self.padded - self.span} is not a multiple of the stride {self.stride}: "
                         f"rounded down, {lost}")
        if self.ceil_mode and self.out > (self.padded - self.span) // self.stride + 1:
            found.append("Ceil mode adds a last window that hangs over the edge; the overhang counts as padding.")
        if self.skipped:
            found.append(f"The stride ({self.stride}) is larger than the window ({self.span}): "
                         f"{self.skipped} input position{'s' if self.skipped > 1 else ''} between windows "
                         f"{'are' if self.skipped > 1 else 'is'} never read.")
        if max(self.pad_begin, self.pad_end) >= self.span:
            found.append("The padding is at least the kernel size: the outermost outputs see only padding.")
        return found


def _count(n: int, thing: str) -> str:
    return f"{thing} is" if n == 1 else f"{n} {thing}s are"


def _formulas(g: Geometry, h: int, w: int) -> tuple[SizeFormula, SizeFormula]:
    return tuple(SizeFormula(n, g.kernel[a], g.strides[a], g.pad_begin(a), g.pad_end(a), g.dilations[a], g.ceil_mode)
                 for a, n in enumerate((h, w)))


# -- the loaded model ----------------------------------------------------------------------------

@dataclass(frozen=True)
class StageShape:
    """One stage of a loaded model, for the Model tab's diagram."""

    stage: str
    title: str
    op: str
    shape: tuple[int, ...]       # for one image
    formulas: tuple[SizeFormula, SizeFormula] | None = None   # height, width (conv and pool)
    params: int = 0              # learned values it reads (kernels, biases, dense weights, BN gamma/beta)
    statistics: int = 0          # fixed values it reads (BN running mean/variance, normalisation constants)
    macs: int = 0                # multiply-adds per image (conv, dense)

    def formula_text(self) -> str | None:
        if self.formulas is None:
            return None
        fh, fw = self.formulas
        return fh.text() if fh == fw else f"height {fh.text()}; width {fw.text()}"


@dataclass(frozen=True)
class ModelShapes:
    stages: list[StageShape]

    @property
    def params(self) -> int:
        return sum(s.params for s in self.stages)

    @property
    def macs(self) -> int:
        return sum(s.macs for s in self.stages)


def model_shapes(net: Network) -> ModelShapes:
    """Shape, size formula, parameters and multiply-adds of every stage, in network order."""
    rows = []
    for st in net.stages:
        node = st.node
        if node is None:
            rows.append(StageShape(st.name, st.title, st.op, st.shape))
            continue
        consts = [net.constants[c] for c in st.constants if np.issubdtype(net.constants[c].dtype, np.floating)]
        in_shape = net.stage(st.inputs[0]).shape if st.inputs else ()
        formulas, params, stats, macs = None, 0, 0, 0
        out_elems = int(np.prod(st.shape))
        if node.op in ("Conv", "MaxPool", "AveragePool") and len(in_shape) == 3:
            kernel = net.constants[node.inputs[1]].shape[2:] if node.op == "Conv" else None
            formulas = _formulas(geometry(node, (1, *in_shape), kernel), *in_shape[1:])
        if node.op == "Conv":
            w = net.constants[node.inputs[1]]
            params = sum(c.size for c in consts)
            macs = out_elems * int(np.prod(w.shape[1:]))
        elif node.op in ("Gemm", "MatMul"):
            params = sum(c.size for c in consts)
            macs = out_elems * int(in_shape[-1]) if in_shape else 0
        elif node.op == "BatchNormalization":
            params = sum(net.constants[c].size for c in node.inputs[1:3])
            stats = sum(net.constants[c].size for c in node.inputs[3:5])
        elif node.op in ("Sub", "Div"):   # "- mean" and "/ std", per channel for a colour input: not learned
            stats = sum(c.size for c in consts)
        else:  # a per-channel Add after a MatMul is a bias; scalars are normalisation constants
            params = sum(c.size for c in consts if c.size > 1)
            stats = sum(c.size for c in consts if c.size == 1)
        rows.append(StageShape(st.name, st.title, st.op, st.shape, formulas, params, stats, macs))
    return ModelShapes(rows)


# -- what if -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LayerSpec:
    """One layer of a what-if panel."""

    kind: str                    # "conv", "maxpool" or "avgpool"
    kernel: int
    stride: int = 1
    padding: int = 0             # on each side
    dilation: int = 1
    ceil_mode: bool = False
    channels: int | None = None  # conv: output channels (None: as many as it gets)
    title: str = ""


@dataclass(frozen=True)
class WhatIfRow:
    spec: LayerSpec
    input: tuple[int, int] | None        # (channels, size) coming in; None after a layer that cannot run
    output: tuple[int, int] | None       # (channels, size) going out
    formula: SizeFormula | None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    params: int = 0
    macs: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def what_if(size: int, specs: list[LayerSpec], channels: int = 1) -> list[WhatIfRow]:
    """Square input of ``size`` with ``channels`` through ``specs`` in order: per layer its input,
    output, filled-in formula, params and multiply-adds, or the problems that stop it (every
    later layer then says it follows one that cannot run)."""
    rows, current = [], (channels, size)
    for spec in specs:
        if spec.kind not in ("conv", "maxpool", "avgpool"):
            rows.append(WhatIfRow(spec, current, None, None, [f"Unknown layer kind {spec.kind!r}."]))
            current = None
            continue
        if current is None:
            rows.append(WhatIfRow(spec, None, None, None, ["Follows a layer that cannot run."]))
            continue
        c_in, n = current
        f = SizeFormula(n, spec.kernel, spec.stride, spec.padding, spec.padding, spec.dilation,
                        spec.ceil_mode and spec.kind != "conv")
        problems = f.problems(pool=spec.kind != "conv")
        if spec.kind == "conv" and spec.channels is not None and spec.channels < 1:
            problems.append(f"A conv needs at least 1 output channel (it has {spec.channels}).")
        if problems:
            rows.append(WhatIfRow(spec, current, None, f, problems))
            current = None
            continue
        c_out = spec.channels if spec.kind == "conv" and spec.channels else c_in
        params = macs = 0
        if spec.kind == "conv":
            params = c_out * c_in * spec.kernel ** 2 + c_out
            macs = c_out * f.out ** 2 * c_in * spec.kernel ** 2
        current = (c_out, f.out)
        rows.append(WhatIfRow(spec, (c_in, n), current, f, [], f.notes(), params, macs))
    return rows


def specs_of(net: Network) -> tuple[int, int, list[LayerSpec]]:
    """The loaded model's convs and pools as what-if layers: (input size, channels, specs).
    Square kernels, strides and symmetric padding are assumed (the first value is taken)."""
    specs = []
    for st in net.stages:
        if st.op not in ("Conv", "MaxPool", "AveragePool") or len(net.stage(st.inputs[0]).shape) != 3:
            continue
        in_shape = net.stage(st.inputs[0]).shape
        kernel = net.constants[st.node.inputs[1]].shape[2:] if st.op == "Conv" else None
        g = geometry(st.node, (1, *in_shape), kernel)
        kind = {"Conv": "conv", "MaxPool": "maxpool", "AveragePool": "avgpool"}[st.op]
        specs.append(LayerSpec(kind, g.kernel[0], g.strides[0], g.pads[0], g.dilations[0], g.ceil_mode,
                               st.shape[0] if st.op == "Conv" else None, st.title))
    c, h, _ = net.stage(net.input_name).shape
    return h, c, specs
