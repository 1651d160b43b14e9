"""The ONNX operators in NumPy: one small function per op, its formula in the docstring.

Each op takes its ``Node`` (attributes already converted to Python values) and its input
arrays, and returns its output array; ``OPS`` maps an ONNX op type to its function. Nothing
here knows about graphs: forward.py reads the ONNX file and applies these in order, and the
modules that take a number apart again (explain.py, coverage.py, shapes.py) use the same
``Geometry`` of where a kernel goes, so they cannot disagree with the arithmetic. Kept apart
from the graph so that each op can be read (and checked against ONNX Runtime, tests/core/
test_forward.py) on its own, without the loading and bookkeeping around it.

Convolution and pooling see all their windows at once: ``windows`` pads the input and takes
a strided view of it, ``[N, C, Ho, Wo, kh, kw]``, without copying. A convolution is then one
matrix product over (channel, kernel row, kernel column), the "im2col" trick, and a pool
takes the max (or the sum) of all its windows one kernel position at a time. No Python loop
visits a pixel.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


class UnsupportedModel(ValueError):
    """The graph uses something this forward pass does not implement; the message is one line."""


@dataclass(frozen=True, eq=False)
class Node:
    """One ONNX node, attributes already converted to Python values and NumPy arrays."""

    op: str
    inputs: tuple[str, ...]          # "" marks an omitted optional input
    outputs: tuple[str, ...]
    attrs: dict[str, Any]
    name: str = ""


# -- where a kernel goes -------------------------------------------------------------------------

@dataclass(frozen=True)
class Geometry:
    """How a conv or pool kernel slides over the two spatial axes (index 0 = height, 1 = width)."""

    kernel: tuple[int, int]
    strides: tuple[int, int] = (1, 1)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)   # ONNX order: top, left, bottom, right
    dilations: tuple[int, int] = (1, 1)
    ceil_mode: bool = False

    def pad_begin(self, axis: int) -> int:
        return self.pads[axis]

    def pad_end(self, axis: int) -> int:
        return self.pads[axis + 2]

    def span(self, axis: int) -> int:
        """Input positions one window covers, holes included: D * (K - 1) + 1."""
        return self.dilations[axis] * (self.kernel[axis] - 1) + 1

    def out_size(self, axis: int, n: int) -> int:
        """floor((n + P_begin + P_end - span) / S) + 1, i.e. (W - K + 2P) / S + 1 rounded down.

        With ceil_mode the division rounds up, but a last window that would start inside the
        end padding is dropped (ONNX Runtime and PyTorch agree on this). 0 when nothing fits.
        """
        room = n + self.pad_begin(axis) + self.pad_end(axis) - self.span(axis)
        if room < 0:
            return 0
        s = self.strides[axis]
        out = (-(-room // s) if self.ceil_mode else room // s) + 1
        if self.ceil_mode and (out - 1) * s >= n + self.pad_begin(axis):
            out -= 1
        return out

    def taps(self, axis: int, out_index: int | np.ndarray) -> np.ndarray:
        """Input positions read by output position(s) ``out_index``: o * S - P_begin + k * D.
        Positions outside 0..n-1 fall in the padding. Shape [..., K]."""
        o = np.asarray(out_index)[..., None]
        return o * self.strides[axis] - self.pad_begin(axis) + np.arange(self.kernel[axis]) * self.dilations[axis]


def geometry(node: Node, in_shape: tuple[int, ...], kernel: tuple[int, int] | None = None) -> Geometry:
    """The Geometry of a Conv/MaxPool/AveragePool node on an input of shape [N, C, H, W],
    with ``auto_pad`` resolved to explicit pads."""
    a = node.attrs
    k = tuple(a.get("kernel_shape") or kernel or ())
    if len(in_shape) != 4 or len(k) != 2:
        raise UnsupportedModel(f"{node.op} node '{node.name}' is not 2-D (input shape {list(in_shape)}); "
                               f"only images [N, C, H, W] are supported")
    strides = tuple(a.get("strides") or (1, 1))
    dilations = tuple(a.get("dilations") or (1, 1))
    pads = list(a.get("pads") or (0, 0, 0, 0))
    auto = a.get("auto_pad", "NOTSET")
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        for axis, n in enumerate(in_shape[2:]):
            span = dilations[axis] * (k[axis] - 1) + 1
            total = max(0, (-(-n // strides[axis]) - 1) * strides[axis] + span - n)
            small, big = total // 2, total - total // 2
            pads[axis], pads[axis + 2] = (small, big) if auto == "SAME_UPPER" else (big, small)
    elif auto == "VALID":
        pads = [0, 0, 0, 0]
    if min(pads) < 0 or min(strides) < 1 or min(dilations) < 1:
        raise UnsupportedModel(f"{node.op} node '{node.name}' has negative pads or a stride/dilation below 1")
    return Geometry(k, strides, tuple(pads), dilations, bool(a.get("ceil_mode", 0)))


def window_pads(g: Geometry, h: int, w: int) -> tuple[int, int, int, int]:
    """(top, bottom, left, right): the padding ``windows`` puts around an h x w input, the declared
    pads plus what a ceil_mode window hangs past them. The backward pass (onnx_grads.py) crops the
    same border off again."""
    top, left, bottom, right = g.pads
    bottom += max(0, (g.out_size(0, h) - 1) * g.strides[0] + g.span(0) - (h + top + bottom))
    right += max(0, (g.out_size(1, w) - 1) * g.strides[1] + g.span(1) - (w + left + right))
    return top, bottom, left, right


def windows(x: np.ndarray, g: Geometry, pad_value: float = 0.0) -> np.ndarray:
    """Every window the kernel visits, as a view [N, C, Ho, Wo, kh, kw] of the padded input.

    Window (i, j) holds x_pad[i*S + u*D, j*S + v*D] for u < kh, v < kw. The input is padded
    with ``pad_value`` (0 for conv, -inf for max-pool), and a little more at the end when
    ceil_mode lets the last window hang over.
    """
    h, w = x.shape[2:]
    ho, wo = g.out_size(0, h), g.out_size(1, w)
    top, bottom, left, right = window_pads(g, h, w)
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), constant_values=pad_value)
    view = sliding_window_view(xp, (g.span(0), g.span(1)), axis=(2, 3))
    (sh, sw), (dh, dw) = g.strides, g.dilations
    return view[:, :, :(ho - 1) * sh + 1:sh, :(wo - 1) * sw + 1:sw, ::dh, ::dw]


# -- the ops -------------------------------------------------------------------------------------
# Each takes the node and its inputs (None for an omitted optional input) and returns the output.

def conv(node: Node, x, w, b=None):
    """Convolution (strictly, cross-correlation) of each window with each kernel, plus the bias:

        y[o, i, j] = b[o] + sum over c, u, v of  x_pad[c, i*S + u*D, j*S + v*D] * w[o, c, u, v]

    With ``group`` = G the C input channels are split into G groups and output channel o only
    sees the C/G channels of its group (G = C is a depthwise convolution).
    """
    g = geometry(node, x.shape, w.shape[2:])
    groups = int(node.attrs.get("group", 1))
    n, c, ho, wo, kh, kw = (view := windows(x, g)).shape
    o = w.shape[0]
    # im2col: one column per output position, one row per (channel, kernel row, kernel column),
    # so the whole layer is one matrix product per group: [O/G, C/G*kh*kw] @ [C/G*kh*kw, N*Ho*Wo].
    cols = np.ascontiguousarray(view.transpose(1, 4, 5, 0, 2, 3)).reshape(groups, c // groups * kh * kw, -1)
    y = (w.reshape(groups, o // groups, -1) @ cols).reshape(o, n, ho, wo).transpose(1, 0, 2, 3)
    if b is not None:
        y = y + b[:, None, None]
    return np.ascontiguousarray(y, dtype=x.dtype)


def batch_norm(node: Node, x, gamma, beta, mean, var):
    """Batch normalisation with the statistics learnt in training, per channel c:

        y = (x - mean[c]) / sqrt(var[c] + eps) * gamma[c] + beta[c]
    """
    if node.attrs.get("training_mode", 0):
        raise UnsupportedModel(f"BatchNormalization node '{node.name}' is in training mode")
    eps = node.attrs.get("epsilon", 1e-5)
    shape = (-1,) + (1,) * (x.ndim - 2)
    scale = (gamma / np.sqrt(var + np.float32(eps))).reshape(shape)
    return ((x - mean.reshape(shape)) * scale + beta.reshape(shape)).astype(x.dtype)


def relu(node: Node, x):
    """ReLU: y = max(0, x)."""
    return np.maximum(x, 0)


def leaky_relu(node: Node, x):
    """Leaky ReLU: y = x if x >= 0 else alpha * x."""
    return np.where(x >= 0, x, x * np.float32(node.attrs.get("alpha", 0.01))).astype(x.dtype)


def clip(node: Node, x, lo=None, hi=None):
    """Clip: y = min(max(x, lo), hi) (ReLU6 is Clip(0, 6))."""
    lo = node.attrs.get("min", -np.inf) if lo is None else lo
    hi = node.attrs.get("max", np.inf) if hi is None else hi
    return np.clip(x, lo, hi).astype(x.dtype)


def sigmoid(node: Node, x):
    """Sigmoid: y = 1 / (1 + exp(-x))."""
    return (1 / (1 + np.exp(-x))).astype(x.dtype)


def tanh(node: Node, x):
    """Tanh: y = tanh(x)."""
    return np.tanh(x)


def max_pool(node: Node, x):
    """Max pooling: y[c, i, j] = max over u, v of x_pad[c, i*S + u*D, j*S + v*D], padding = -inf."""
    if len(node.outputs) > 1 and node.outputs[1]:
        raise UnsupportedModel(f"MaxPool node '{node.name}' also outputs indices; that is not supported")
    return reduce_window(np.maximum, windows(x, geometry(node, x.shape), -np.inf))


def average_pool(node: Node, x):
    """Average pooling: y[c, i, j] = sum of the window / the number of positions counted.

    Counted: the window's positions inside the input, plus those in the declared padding when
    count_include_pad = 1; never those a ceil_mode window hangs past the padding.
    """
    g = geometry(node, x.shape)
    total = reduce_window(np.add, windows(x, g))
    include = bool(node.attrs.get("count_include_pad", 0))
    counts = [pool_counts(g, axis, x.shape[2 + axis], total.shape[2 + axis], include) for axis in (0, 1)]
    return (total / np.outer(*counts)).astype(x.dtype)


def reduce_window(combine: np.ufunc, view: np.ndarray) -> np.ndarray:
    """Combine each window's kh*kw values (np.maximum or np.add) one kernel position at a time,
    every window at once: 20x faster than view.max(axis=(-2, -1)), whose inner loop is kh*kw long."""
    out = view[..., 0, 0].copy()
    for u in range(view.shape[-2]):
        for v in range(view.shape[-1]):
            if u or v:
                combine(out, view[..., u, v], out=out)
    return out


def pool_counts(g: Geometry, axis: int, n: int, out: int, include_pad: bool) -> np.ndarray:
    """How many positions each average-pool window counts along one axis, [out]."""
    taps = g.taps(axis, np.arange(out))
    lo, hi = (-g.pad_begin(axis), n + g.pad_end(axis)) if include_pad else (0, n)
    return ((taps >= lo) & (taps < hi)).sum(axis=-1)


def global_pool(node: Node, x):
    """Global pooling: one number per channel, the max or mean over all positions."""
    reduce = np.max if node.op == "GlobalMaxPool" else np.mean
    return reduce(x, axis=tuple(range(2, x.ndim)), keepdims=True).astype(x.dtype)


def gemm(node: Node, a, b, c=None):
    """Dense layer (General Matrix Multiply): Y = alpha * A' B' + beta * C,
    A' = A^T if transA else A, B' = B^T if transB else B. In PyTorch's Linear (transB = 1):

        y[j] = sum over i of  x[i] * W[j, i]  +  b[j]
    """
    at = a.T if node.attrs.get("transA", 0) else a
    bt = b.T if node.attrs.get("transB", 0) else b
    y = np.float32(node.attrs.get("alpha", 1.0)) * (at @ bt)
    if c is not None:
        y = y + np.float32(node.attrs.get("beta", 1.0)) * c
    return y.astype(a.dtype)


def matmul(node: Node, a, b):
    """Matrix product: y[j] = sum over i of a[i] * b[i, j] (batched over leading axes)."""
    return np.matmul(a, b)


def softmax(node: Node, x, opset: int = 13):
    """Softmax: p[k] = exp(z[k] - m) / sum over j of exp(z[j] - m), m = max of z.
    Subtracting m changes nothing mathematically and keeps exp from overflowing."""
    axis = node.attrs.get("axis", -1 if opset >= 13 else 1)
    if opset < 13:  # before opset 13 the input is viewed as 2-D: [prod(shape[:axis]), rest]
        flat = x.reshape(int(np.prod(x.shape[:axis], dtype=np.int64)), -1)
        return softmax(Node("Softmax", (), (), {"axis": 1}), flat).reshape(x.shape)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def flatten(node: Node, x):
    """Flatten: [d0, ..., dn] -> [d0 * ... * d(axis-1), d(axis) * ... * dn], C order (row by row)."""
    axis = node.attrs.get("axis", 1) % max(x.ndim, 1)
    return x.reshape(int(np.prod(x.shape[:axis], dtype=np.int64)), -1)


def reshape(node: Node, x, shape):
    """Reshape in C order; a 0 in ``shape`` keeps that input dimension, -1 takes what is left."""
    shape = [int(d) for d in shape]
    if not node.attrs.get("allowzero", 0):
        shape = [x.shape[i] if d == 0 else d for i, d in enumerate(shape)]
    return x.reshape(shape)


def add(node: Node, a, b):
    """y = a + b (NumPy broadcasting is ONNX's multidirectional broadcasting)."""
    return a + b


def sub(node: Node, a, b):
    """y = a - b."""
    return a - b


def mul(node: Node, a, b):
    """y = a * b."""
    return a * b


def div(node: Node, a, b):
    """y = a / b (integer tensors divide to an integer, as in ONNX)."""
    return a // b if np.issubdtype(np.result_type(a, b), np.integer) else a / b


def identity(node: Node, x, *_):
    """Identity (and Dropout, which does nothing outside training): y = x."""
    return x


# Shape bookkeeping some exporters leave in the graph (mostly folded into constants at load).

def shape_of(node: Node, x):
    """Shape: the input's dimensions as a vector, x.shape[start:end]."""
    start, end = node.attrs.get("start", 0), node.attrs.get("end")
    return np.array(x.shape[start:end], np.int64)


def gather(node: Node, x, idx):
    """Gather: y = x[..., idx, ...] along ``axis``."""
    return np.take(x, idx, axis=node.attrs.get("axis", 0))


def _axes(node: Node, axes):
    return tuple(int(a) for a in (node.attrs.get("axes") if axes is None else axes))


def unsqueeze(node: Node, x, axes=None):
    """Unsqueeze: insert axes of size 1 (the values and their order do not change)."""
    return np.expand_dims(x, _axes(node, axes))


def squeeze(node: Node, x, axes=None):
    """Squeeze: remove axes of size 1."""
    if axes is None and "axes" not in node.attrs:
        return np.squeeze(x)
    return np.squeeze(x, _axes(node, axes))


def concat(node: Node, *xs):
    """Concat: the inputs one after the other along ``axis``."""
    return np.concatenate(xs, axis=node.attrs["axis"])


def expand(node: Node, x, shape):
    """Expand: broadcast x to ``shape``."""
    return np.broadcast_to(x, np.broadcast_shapes(x.shape, tuple(int(d) for d in shape))).copy()


def cast(node: Node, x):
    """Cast: the same numbers in another type."""
    return x.astype(node.attrs["dtype"])


def cast_like(node: Node, x, like):
    """CastLike: x in the type of ``like``."""
    return x.astype(like.dtype)


def transpose(node: Node, x):
    """Transpose: the axes reordered by ``perm`` (y's axis k is x's axis perm[k])."""
    return np.transpose(x, node.attrs.get("perm"))


def constant(node: Node):
    """Constant: a tensor stored in the node."""
    return node.attrs["value"]


def constant_of_shape(node: Node, shape):
    """ConstantOfShape: a tensor of ``shape`` filled with one value."""
    value = node.attrs.get("value", np.zeros(1, np.float32))
    return np.full(tuple(int(d) for d in shape), value.reshape(-1)[0], value.dtype)


OPS: dict[str, Callable] = {
    "Conv": conv, "BatchNormalization": batch_norm, "Relu": relu, "LeakyRelu": leaky_relu, "Clip": clip,
    "Sigmoid": sigmoid, "Tanh": tanh, "MaxPool": max_pool, "AveragePool": average_pool,
    "GlobalMaxPool": global_pool, "GlobalAveragePool": global_pool, "Gemm": gemm, "MatMul": matmul,
    "Softmax": softmax, "Flatten": flatten, "Reshape": reshape, "Add": add, "Sub": sub, "Mul": mul, "Div": div,
    "Identity": identity, "Dropout": identity, "Shape": shape_of, "Gather": gather, "Unsqueeze": unsqueeze,
    "Squeeze": squeeze, "Concat": concat, "Expand": expand, "Cast": cast, "CastLike": cast_like,
    "Transpose": transpose, "Constant": constant, "ConstantOfShape": constant_of_shape,
}

# Ops that compute each output number from the same-placed input number alone (plus constants):
# an explanation walks back through these to the op that combined many numbers (conv, dense...).
PER_UNIT = {"Relu", "LeakyRelu", "Clip", "Sigmoid", "Tanh", "BatchNormalization", "Identity", "Dropout"}
ELEMENTWISE_BINARY = {"Add", "Sub", "Mul", "Div"}
