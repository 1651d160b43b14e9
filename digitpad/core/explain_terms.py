"""The result of explaining one number: what ``explain.explain`` returns, as plain data.

An ``Explanation`` holds:

- ``terms``: the op that combined many numbers into this one, broken down. A conv unit gives
  the input window it reads on every input channel (padding marked), the kernel, the
  element-wise products and their sum per channel, the total and the bias (ConvTerms); a
  pooling unit its window and the winner (PoolTerms); a dense unit every input times its
  weight (DenseTerms, ``top(k)`` sorted by contribution); softmax its exponentials and their
  sum (SoftmaxTerms); a flatten or reshape where the number came from (CopyTerms).
- ``steps``: what was then done to that one number, in order: batch norm with the layer's own
  mean, variance, eps, gamma and beta, ReLU, the normalisation's "- mean" and "/ std"...
- ``value``: recomputed from ``terms`` and ``steps`` alone (float64), never copied from the
  forward pass, so showing it next to ``computed`` (the forward pass's own number) or ONNX
  Runtime's is a check a reader can see.
- ``downstream``: the pooling windows that read this unit, the winner marked, and ``notes``,
  one line each (batch norm folded into the conv by the exporter, a unit nothing reads, ...).

Every ``*Terms`` has a ``kind`` ("conv", "pool", ...) that a view dispatches on (the GUI's
arithmetic view, explain.as_text) and a ``value``. The types live apart from explain.py, which
walks the graph to fill them in, so that what an explanation holds reads in one place,
separate from how it is found; explain.py re-exports them all.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .coverage import Field
from .onnx_ops import Geometry


class ExplainError(ValueError):
    """A unit that cannot be explained (unknown stage, index out of range); one line."""


# -- what combined many numbers into one -----------------------------------------------------------

@dataclass
class InputTerms:
    """A pixel of the model's input, as fed to it."""

    value: float
    kind: str = "input"


@dataclass
class ConvTerms:
    """One output unit of a convolution: y = sum over input channels of sum(window * kernel) + bias."""

    input: str                   # the stage it reads
    out_channel: int
    channels: np.ndarray         # [Cg] input channels read (those of the output channel's group)
    rows: np.ndarray             # [kh] input row of each kernel row; outside 0..H-1 means padding
    cols: np.ndarray             # [kw] input column of each kernel column
    padding: np.ndarray          # [kh, kw] bool: the tap falls in the zero padding
    window: np.ndarray           # [Cg, kh, kw] the input values read (0 in the padding)
    kernel: np.ndarray           # [Cg, kh, kw] the weights of this output channel
    products: np.ndarray         # [Cg, kh, kw] window * kernel (float64)
    sums: np.ndarray             # [Cg] per input channel: sum of its products
    bias: float                  # 0.0 when the conv has none
    has_bias: bool
    geometry: Geometry
    group: int = 1
    kind: str = "conv"

    @property
    def total(self) -> float:
        """Sum over input channels, before the bias."""
        return float(self.sums.sum())

    @property
    def value(self) -> float:
        return self.total + self.bias


@dataclass
class PoolTerms:
    """One output unit of a pooling layer: the max (or mean) of its window on one channel."""

    op: str                      # MaxPool, AveragePool, GlobalMaxPool, GlobalAveragePool
    input: str                   # the stage it reads
    stage: str                   # the stage it produces
    channel: int
    row: int                     # output position
    col: int
    rows: np.ndarray             # [kh] input rows of the window; outside 0..H-1 means padding
    cols: np.ndarray             # [kw]
    padding: np.ndarray          # [kh, kw] bool: padding, or past it where ceil_mode overhangs
    window: np.ndarray           # [kh, kw] input values, NaN in the padding
    winner: tuple[int, int] | None = None   # max-pool: (u, v) of the largest value in the window
    divisor: int | None = None              # average-pool: how many positions the mean counts
    kind: str = "pool"

    @property
    def value(self) -> float:
        if self.winner is not None:
            return float(self.window[self.winner])
        # Padding adds zeros to the sum; count_include_pad only changes the divisor.
        return float(self.window[~self.padding].astype(np.float64).sum() / self.divisor)

    @property
    def winner_position(self) -> tuple[int, int] | None:
        """(row, col) in the input of the winning value (max-pool)."""
        if self.winner is None:
            return None
        return int(self.rows[self.winner[0]]), int(self.cols[self.winner[1]])

    def reads(self, row: int, col: int) -> bool:
        return bool(row in self.rows and col in self.cols)


@dataclass(frozen=True)
class Contribution:
    index: int                   # position in the dense layer's input vector
    input: float
    weight: float
    product: float
    source: tuple[str, tuple[int, ...]] | None = None  # where the input came from before flattening


@dataclass
class DenseTerms:
    """One output of a dense layer: y[j] = alpha * sum over i of x[i] * W[i, j] + bias[j]."""

    input: str                   # the stage it reads (the flattened vector)
    unit: int
    inputs: np.ndarray           # [F] x
    weights: np.ndarray          # [F] W[:, j]
    products: np.ndarray         # [F] x * W[:, j] (float64)
    bias: float
    alpha: float = 1.0
    sources: tuple[str, tuple[int, ...]] | None = None   # (stage, shape) the vector was flattened from
    kind: str = "dense"

    @property
    def total(self) -> float:
        return float(self.products.sum())

    @property
    def value(self) -> float:
        return self.alpha * self.total + self.bias

    def source(self, i: int) -> tuple[str, tuple[int, ...]] | None:
        """(stage, index) the i-th input was flattened from, e.g. ('max_pool2d_2', (5, 1, 2))."""
        if self.sources is None:
            return None
        stage, shape = self.sources
        return stage, tuple(int(k) for k in np.unravel_index(i, shape))

    def top(self, k: int = 10) -> list[Contribution]:
        """The k inputs with the largest |x * w|, largest first."""
        order = np.argsort(-np.abs(self.products), kind="stable")[:k]
        return [Contribution(int(i), float(self.inputs[i]), float(self.weights[i]), float(self.products[i]),
                             self.source(int(i))) for i in order]


@dataclass
class SoftmaxTerms:
    """p[k] = exp(z[k] - m) / sum over j of exp(z[j] - m), m = max of z."""

    input: str
    index: int
    logits: np.ndarray           # [K] z
    shift: float                 # m
    exps: np.ndarray             # [K] exp(z - m) (float64)
    kind: str = "softmax"

    @property
    def total(self) -> float:
        return float(self.exps.sum())

    @property
    def value(self) -> float:
        return float(self.exps[self.index] / self.total)


@dataclass
class CopyTerms:
    """A flatten or reshape: the number is copied from another position, not computed."""

    op: str
    input: str
    source: tuple[int, ...]      # index in the input stage
    value: float
    kind: str = "copy"


@dataclass
class BinaryTerms:
    """An element-wise op of two computed tensors (a residual Add, say): y = a op b."""

    op: str
    inputs: tuple[str, str]
    a: float
    b: float
    kind: str = "binary"

    @property
    def value(self) -> float:
        return binary_op(self.op, self.a, self.b)


@dataclass
class OtherTerms:
    """An op whose arithmetic is not broken down; the value is the forward pass's."""

    op: str
    value: float
    kind: str = "other"


Terms = InputTerms | ConvTerms | PoolTerms | DenseTerms | SoftmaxTerms | CopyTerms | BinaryTerms | OtherTerms


# -- what was then done to that one number ---------------------------------------------------------

@dataclass
class Step:
    """One per-unit op applied to the number: ``output = formula(terms)``."""

    op: str
    stage: str                   # the stage it produces
    title: str
    template: str                # e.g. "({x} - {mean}) / sqrt({var} + {eps}) * {gamma} + {beta}"
    terms: dict[str, float]      # the numbers, "x" is the incoming value
    output: float

    @property
    def formula(self) -> str:
        """The formula with names: "(x - mean) / sqrt(var + eps) * gamma + beta"."""
        return self.template.replace("{", "").replace("}", "")

    def text(self, digits: int = 4) -> str:
        """The formula with the numbers: "(1.2034 - 0.0512) / sqrt(0.881 + 1e-05) * ... = 1.3589"."""
        shown = {k: format_number(v, digits) for k, v in self.terms.items()}
        return f"{self.template.format(**shown)} = {format_number(self.output, digits)}"


@dataclass
class Explanation:
    """How the unit ``index`` of ``stage`` was computed (explain.explain). See the module docstring."""

    stage: str
    title: str
    index: tuple[int, ...]       # (channel, row, col) in a map, (i,) in a vector
    terms: Terms
    steps: list[Step]
    computed: float              # the NumPy forward pass's value for this unit
    downstream: list[PoolTerms] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    used: bool = True            # False: no later layer reads this unit (it is dimmed on honest maps)
    receptive_field: Field | None = None   # the input pixels it depends on
    onnxruntime: float | None = None   # ONNX Runtime's value when the stage is a graph output
    weights: str = ""            # whose weights computed it when not the model's own ("training snapshot 4 of 25")

    @property
    def value(self) -> float:
        """Recomputed from the terms and steps (float64)."""
        return self.steps[-1].output if self.steps else float(self.terms.value)


# -- used by the terms above and by explain.py, so a step is recomputed and printed one way -----

def binary_op(op: str, a: float, b: float) -> float:
    """a op b for an element-wise Add, Sub, Mul or Div; a / 0 is inf with the sign of a, not an error."""
    return {"Add": a + b, "Sub": a - b, "Mul": a * b}.get(op, a / b if b else math.copysign(math.inf, a))


def format_number(v: float, digits: int) -> str:
    """``digits`` decimals without trailing zeros from 0.001 to 1e5, else ``digits - 1`` significant
    figures in %g style (1.23e-05)."""
    if v == 0:
        return "0"
    if abs(v) >= 1e-3 and abs(v) < 1e5:
        return f"{v:.{digits}f}".rstrip("0").rstrip(".")
    return f"{v:.{digits - 1}g}"
