"""The ONNX operators' backward passes in NumPy: one function per op, beside onnx_ops.py's forward ones.

Each takes the node, ``dy`` (the gradient of the loss with respect to the op's output), the output
``y`` and the op's inputs as the forward pass saw them, and returns one gradient per input: the
gradient of the loss with respect to that input, the same shape, or None where nothing flows (an
integer shape, an omitted input). The formula is in each docstring. ``GRADS`` maps an op type to its
function; backward.py walks the graph with them, last node first.

These are the same rules the NumPy engine trains with (training/scratch/layers.py), written for any
ONNX node rather than for one layer class: a convolution's weight gradient is the windows it read
times the output gradient, its input gradient the kernels times the output gradient put back where
each window came from (``unwindow``, the transpose of onnx_ops.windows); max pooling hands the
gradient to each window's first largest value, as PyTorch does; batch norm is the inference-time
affine map its exported node computes (running statistics, no batch statistics). Checked against
PyTorch's autograd for every net of the zoo, the shipped model and the NumPy engine's net
(tests/core/test_backward.py).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .onnx_ops import Node, geometry, pool_counts, window_pads, windows


def unbroadcast(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``g`` summed back to ``shape``: an input NumPy broadcast (a bias [C, 1, 1] added to [N, C, H, W])
    received every copy's gradient, and they add up."""
    shape = tuple(shape)
    if g.shape == shape:
        return g
    g = g.sum(axis=tuple(range(g.ndim - len(shape)))) if g.ndim > len(shape) else g
    axes = tuple(i for i, (have, want) in enumerate(zip(g.shape, shape)) if want == 1 and have != 1)
    return (g.sum(axis=axes, keepdims=True) if axes else g).reshape(shape)


def unwindow(dview: np.ndarray, g, x_shape: tuple[int, ...]) -> np.ndarray:
    """The transpose of ``onnx_ops.windows``: the gradients of every window's values [N, C, Ho, Wo, kh, kw]
    added back where those values were read from (overlapping windows add up), the padding cut off.

        dx_pad[i*S + u*D, j*S + v*D] += dview[i, j, u, v]      one kernel position (u, v) at a time
    """
    n, c, h, w = x_shape
    top, bottom, left, right = window_pads(g, h, w)
    ho, wo, kh, kw = dview.shape[2:]
    (sh, sw), (dh, dw) = g.strides, g.dilations
    dxp = np.zeros((n, c, h + top + bottom, w + left + right), dview.dtype)
    for u in range(kh):
        for v in range(kw):
            dxp[:, :, u * dh:u * dh + (ho - 1) * sh + 1:sh, v * dw:v * dw + (wo - 1) * sw + 1:sw] += dview[..., u, v]
    return dxp[:, :, top:top + h, left:left + w]


# -- the ops -------------------------------------------------------------------------------------
# Each: (node, dy, y, *inputs) -> one gradient (or None) per input.

def conv_grad(node: Node, dy, y, x, w, b=None):
    """Convolution, y[o, i, j] = b[o] + sum over c, u, v of x_pad[c, i*S + u*D, j*S + v*D] * w[o, c, u, v]:

        dL/dw[o, c, u, v] = sum over i, j of  dy[o, i, j] * x_pad[c, i*S + u*D, j*S + v*D]   (window x gradient)
        dL/db[o]          = sum over i, j of  dy[o, i, j]
        dL/dx_pad[c, i*S + u*D, j*S + v*D] += sum over o of  dy[o, i, j] * w[o, c, u, v]  (kernel x gradient)

    The same im2col columns as the forward pass: two matrix products per group."""
    g = geometry(node, x.shape, w.shape[2:])
    groups = int(node.attrs.get("group", 1))
    view = windows(x, g)
    n, c, ho, wo, kh, kw = view.shape
    o = w.shape[0]
    cols = np.ascontiguousarray(view.transpose(1, 4, 5, 0, 2, 3)).reshape(groups, c // groups * kh * kw, -1)
    dym = np.ascontiguousarray(dy.transpose(1, 0, 2, 3)).reshape(groups, o // groups, -1)   # [G, O/G, N*Ho*Wo]
    dw = (dym @ cols.transpose(0, 2, 1)).reshape(w.shape)
    dcols = w.reshape(groups, o // groups, -1).transpose(0, 2, 1) @ dym                     # [G, C/G*kh*kw, N*Ho*Wo]
    dview = dcols.reshape(c, kh, kw, n, ho, wo).transpose(3, 0, 4, 5, 1, 2)
    dx = unwindow(dview, g, x.shape)
    return dx, dw, None if b is None else dy.sum(axis=(0, 2, 3))


def batch_norm_grad(node: Node, dy, y, x, gamma, beta, mean, var):
    """Batch norm with the learnt statistics, y = (x - mean) * gamma / sqrt(var + eps) + beta, per channel:

        dL/dx = dy * gamma / sqrt(var + eps)            dL/dbeta = sum of dy
        dL/dgamma = sum of dy * (x - mean) / sqrt(var + eps)
        dL/dmean = -sum of dy * gamma / sqrt(var + eps)
        dL/dvar = sum of dy * (x - mean) * gamma * (-1/2) (var + eps)^(-3/2)
    """
    eps = node.attrs.get("epsilon", 1e-5)
    shape = (-1,) + (1,) * (x.ndim - 2)
    axes = (0, *range(2, x.ndim))
    inv = (1 / np.sqrt(var + x.dtype.type(eps))).astype(x.dtype)
    centred = x - mean.reshape(shape)
    dbeta = dy.sum(axis=axes)
    dxhat = (dy * centred).sum(axis=axes)
    scale = gamma * inv
    return (dy * scale.reshape(shape), dxhat * inv, dbeta, -dbeta * scale,
            dxhat * gamma * np.asarray(-0.5, x.dtype) * inv ** 3)


def relu_grad(node: Node, dy, y, x):
    """ReLU: dL/dx = dy where x > 0, else 0 (at exactly 0 too, as PyTorch has it)."""
    return (dy * (x > 0),)


def leaky_relu_grad(node: Node, dy, y, x):
    """Leaky ReLU: dL/dx = dy where x > 0, else alpha * dy."""
    return (np.where(x > 0, dy, dy * x.dtype.type(node.attrs.get("alpha", 0.01))),)


def clip_grad(node: Node, dy, y, x, lo=None, hi=None):
    """Clip: dL/dx = dy where lo <= x <= hi, else 0 (bounds included, as PyTorch's clamp)."""
    lo = node.attrs.get("min", -np.inf) if lo is None else lo
    hi = node.attrs.get("max", np.inf) if hi is None else hi
    return dy * ((x >= lo) & (x <= hi)), None, None


def sigmoid_grad(node: Node, dy, y, x):
    """Sigmoid: dL/dx = dy * y * (1 - y)."""
    return (dy * y * (1 - y),)


def tanh_grad(node: Node, dy, y, x):
    """Tanh: dL/dx = dy * (1 - y^2)."""
    return (dy * (1 - y * y),)


def max_pool_grad(node: Node, dy, y, x):
    """Max pooling: each window's gradient goes to its largest value, the first one in reading order when
    several tie (PyTorch's rule; explain.py marks the same winner); the rest of the window gets 0."""
    g = geometry(node, x.shape)
    view = windows(x, g, -np.inf)
    kh, kw = view.shape[-2:]
    first = view.reshape(*view.shape[:4], kh * kw).argmax(axis=-1)
    dview = (np.arange(kh * kw) == first[..., None]) * dy[..., None]
    return (unwindow(dview.reshape(view.shape).astype(dy.dtype), g, x.shape),)


def average_pool_grad(node: Node, dy, y, x):
    """Average pooling: each window's gradient shared equally by the positions it counted, dy / count."""
    g = geometry(node, x.shape)
    h, w = x.shape[2:]
    ho, wo = dy.shape[2:]
    include = bool(node.attrs.get("count_include_pad", 0))
    counts = np.outer(pool_counts(g, 0, h, ho, include), pool_counts(g, 1, w, wo, include))
    share = (dy / counts).astype(dy.dtype)
    dview = np.broadcast_to(share[..., None, None], (*share.shape, *g.kernel))
    return (unwindow(dview, g, x.shape),)


def global_pool_grad(node: Node, dy, y, x):
    """Global pooling: the mean shares dy among all H*W positions; the max gives it to the first largest."""
    n, c = x.shape[:2]
    if node.op == "GlobalAveragePool":
        size = int(np.prod(x.shape[2:]))
        return (np.broadcast_to(dy / x.dtype.type(size), x.shape).copy(),)
    flat = x.reshape(n, c, -1)
    dx = np.zeros_like(flat)
    np.put_along_axis(dx, flat.argmax(axis=-1)[..., None], dy.reshape(n, c, 1), axis=-1)
    return (dx.reshape(x.shape),)


def gemm_grad(node: Node, dy, y, a, b, c=None):
    """Dense layer, Y = alpha * A' B' + beta * C (A' = A^T if transA, B' = B^T if transB):

        dL/dA' = alpha * dY B'^T      dL/dB' = alpha * A'^T dY      dL/dC = beta * dY (summed where C broadcast)
    """
    ta, tb = node.attrs.get("transA", 0), node.attrs.get("transB", 0)
    at = a.T if ta else a
    bt = b.T if tb else b
    d = dy * dy.dtype.type(node.attrs.get("alpha", 1.0))
    dat, dbt = d @ bt.T, at.T @ d
    dc = None if c is None else unbroadcast(dy * dy.dtype.type(node.attrs.get("beta", 1.0)), c.shape)
    return dat.T if ta else dat, dbt.T if tb else dbt, dc


def matmul_grad(node: Node, dy, y, a, b):
    """Matrix product, y = a @ b: dL/da = dy @ b^T, dL/db = a^T @ dy (summed over broadcast batch axes)."""
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    d = dy
    if a.ndim == 1:
        d = np.expand_dims(d, -2)
    if b.ndim == 1:
        d = np.expand_dims(d, -1)
    da = unbroadcast(d @ np.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape)
    db = unbroadcast(np.swapaxes(a2, -1, -2) @ d, b2.shape).reshape(b.shape)
    return da, db


def softmax_grad(node: Node, dy, y, x, opset: int = 13):
    """Softmax, p = softmax(z): dL/dz[k] = p[k] * (dL/dp[k] - sum over j of dL/dp[j] * p[j])."""
    axis = node.attrs.get("axis", -1 if opset >= 13 else 1)
    if opset < 13:   # the input seen as 2-D, as the forward pass does
        flat = (int(np.prod(x.shape[:axis], dtype=np.int64)), -1)
        dz = softmax_grad(Node("Softmax", (), (), {"axis": 1}), dy.reshape(flat), y.reshape(flat), x.reshape(flat))
        return (dz[0].reshape(x.shape),)
    return (y * (dy - (dy * y).sum(axis=axis, keepdims=True)),)


def same_values_grad(node: Node, dy, y, x, *rest):
    """Flatten, Reshape, Squeeze, Unsqueeze (and Identity, Dropout): the same numbers, moved or not;
    the gradient goes back to where each came from. Shape and axes inputs get none."""
    return (dy.reshape(x.shape), *(None for _ in rest))


def transpose_grad(node: Node, dy, y, x):
    """Transpose by ``perm``: the gradient transposed back by the inverse permutation."""
    perm = node.attrs.get("perm") or tuple(reversed(range(x.ndim)))
    return (np.transpose(dy, np.argsort(perm)),)


def concat_grad(node: Node, dy, y, *xs):
    """Concat: each input gets its own slice of the gradient."""
    axis = node.attrs["axis"] % dy.ndim
    cuts = np.cumsum([x.shape[axis] for x in xs])[:-1]
    return tuple(np.split(dy, cuts, axis=axis))


def expand_grad(node: Node, dy, y, x, shape):
    """Expand: every copy's gradient summed back into the one value it copied."""
    return unbroadcast(dy, x.shape), None


def cast_grad(node: Node, dy, y, x, *rest):
    """Cast between float types: the gradient in the input's type (none for an integer input)."""
    return (dy.astype(x.dtype) if x.dtype.kind == "f" else None, *(None for _ in rest))


def add_grad(node: Node, dy, y, a, b):
    """y = a + b: dL/da = dy, dL/db = dy (each summed where it was broadcast)."""
    return unbroadcast(dy, a.shape), unbroadcast(dy, b.shape)


def sub_grad(node: Node, dy, y, a, b):
    """y = a - b: dL/da = dy, dL/db = -dy."""
    return unbroadcast(dy, a.shape), unbroadcast(-dy, b.shape)


def mul_grad(node: Node, dy, y, a, b):
    """y = a * b: dL/da = dy * b, dL/db = dy * a."""
    return unbroadcast(dy * b, a.shape), unbroadcast(dy * a, b.shape)


def div_grad(node: Node, dy, y, a, b):
    """y = a / b: dL/da = dy / b, dL/db = -dy * a / b^2."""
    return unbroadcast(dy / b, a.shape), unbroadcast(-dy * a / (b * b), b.shape)


GRADS: dict[str, Callable] = {
    "Conv": conv_grad, "BatchNormalization": batch_norm_grad, "Relu": relu_grad, "LeakyRelu": leaky_relu_grad,
    "Clip": clip_grad, "Sigmoid": sigmoid_grad, "Tanh": tanh_grad, "MaxPool": max_pool_grad,
    "AveragePool": average_pool_grad, "GlobalMaxPool": global_pool_grad, "GlobalAveragePool": global_pool_grad,
    "Gemm": gemm_grad, "MatMul": matmul_grad, "Softmax": softmax_grad, "Flatten": same_values_grad,
    "Reshape": same_values_grad, "Squeeze": same_values_grad, "Unsqueeze": same_values_grad,
    "Identity": same_values_grad, "Dropout": same_values_grad, "Transpose": transpose_grad, "Concat": concat_grad,
    "Expand": expand_grad, "Cast": cast_grad, "CastLike": cast_grad, "Add": add_grad, "Sub": sub_grad,
    "Mul": mul_grad, "Div": div_grad,
}

# Ops that read an image-dependent tensor and still pass no gradient back: Shape describes its size only.
NO_GRAD = {"Shape"}

# The inputs a training step changes, by op and position: kernels, biases, dense weights, batch norm's
# scale and shift, a bias added after a MatMul. Not: batch norm's running mean and variance (statistics of
# the training images), the input's normalisation (Sub of a mean, Div by a std), shapes.
LEARNT_INPUTS: dict[str, tuple[int, ...]] = {
    "Conv": (1, 2), "Gemm": (0, 1, 2), "MatMul": (0, 1), "BatchNormalization": (1, 2), "Add": (0, 1),
}
