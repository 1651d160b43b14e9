"""An ONNX graph rebuilt in PyTorch from its own weights, for checking digitpad's backward pass against autograd.

Each node digitpad's forward pass keeps (``Network.nodes``, shape plumbing already folded into constants)
is applied with the torch function that computes the same thing (``F.conv2d``, ``F.batch_norm`` in eval
mode, ``F.max_pool2d`` with ceil mode, ...), on float64 leaves made from the file's initializers. Nothing of
digitpad's NumPy arithmetic is used, only the graph's node list and attributes, so autograd's gradients
are an independent reference. Tests only: the app never imports torch.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from digitpad.core.forward import Network, geometry


@dataclass
class TorchGrads:
    loss: float
    input: np.ndarray                   # dL/d(the graph's input tensor)
    stages: dict[str, np.ndarray]       # dL/d(stage), for the stages the loss depends on (batch axis kept)
    initializers: dict[str, np.ndarray]


def _pair(v, default=(1, 1)):
    return tuple(int(a) for a in (v or default))


def _apply(node, args, opset: int):
    a = node.attrs
    op = node.op
    if op == "Conv":
        x, w = args[0], args[1]
        b = args[2] if len(args) > 2 else None
        top, left, bottom, right = geometry(node, tuple(x.shape), tuple(w.shape[2:])).pads   # auto_pad resolved
        x = F.pad(x, (left, right, top, bottom))
        return F.conv2d(x, w, b, stride=_pair(a.get("strides")), dilation=_pair(a.get("dilations")),
                        groups=int(a.get("group", 1)))
    if op == "BatchNormalization":
        # Written out rather than F.batch_norm, which has no gradient for the running statistics.
        x, gamma, beta, mean, var = args
        shape = (-1,) + (1,) * (x.ndim - 2)
        return ((x - mean.reshape(shape)) / torch.sqrt(var.reshape(shape) + float(a.get("epsilon", 1e-5)))
                * gamma.reshape(shape) + beta.reshape(shape))
    if op in ("MaxPool", "AveragePool"):
        top, left, bottom, right = _pair(a.get("pads"), (0, 0, 0, 0))
        if (top, left) != (bottom, right):
            raise NotImplementedError("asymmetric pool padding")
        k, s = _pair(a["kernel_shape"]), _pair(a.get("strides"))
        ceil = bool(a.get("ceil_mode", 0))
        if op == "MaxPool":
            return F.max_pool2d(args[0], k, s, padding=(top, left), dilation=_pair(a.get("dilations")), ceil_mode=ceil)
        return F.avg_pool2d(args[0], k, s, padding=(top, left), ceil_mode=ceil,
                            count_include_pad=bool(a.get("count_include_pad", 0)))
    if op == "GlobalAveragePool":
        return args[0].mean(dim=(2, 3), keepdim=True)
    if op == "GlobalMaxPool":
        return args[0].amax(dim=(2, 3), keepdim=True)
    if op == "Relu":
        return torch.relu(args[0])
    if op == "LeakyRelu":
        return F.leaky_relu(args[0], float(a.get("alpha", 0.01)))
    if op == "Sigmoid":
        return torch.sigmoid(args[0])
    if op == "Tanh":
        return torch.tanh(args[0])
    if op == "Gemm":
        at = args[0].T if a.get("transA", 0) else args[0]
        bt = args[1].T if a.get("transB", 0) else args[1]
        y = float(a.get("alpha", 1.0)) * (at @ bt)
        return y + float(a.get("beta", 1.0)) * args[2] if len(args) > 2 and args[2] is not None else y
    if op == "MatMul":
        return torch.matmul(args[0], args[1])
    if op == "Softmax":
        axis = a.get("axis", -1 if opset >= 13 else 1)
        return torch.softmax(args[0], dim=axis)
    if op == "Flatten":
        axis = a.get("axis", 1)
        return args[0].reshape(int(np.prod(args[0].shape[:axis])), -1)
    if op == "Reshape":
        shape = [int(d) for d in args[1]]
        shape = [args[0].shape[i] if d == 0 else d for i, d in enumerate(shape)]
        return args[0].reshape(shape)
    if op in ("Identity", "Dropout"):
        return args[0]
    if op in ("Add", "Sub", "Mul", "Div"):
        return {"Add": torch.add, "Sub": torch.sub, "Mul": torch.mul, "Div": torch.div}[op](args[0], args[1])
    raise NotImplementedError(op)


def autograd(net: Network, x: np.ndarray, label: int, probs: str = "probs", logits: bool = False) -> TorchGrads:
    """-log p[label] for graph tensor ``x`` [1, ...] and its gradients, by PyTorch autograd in float64.
    ``probs``: the output holding the probabilities, or with ``logits`` the scores a softmax turns into them."""
    values = {net.input_name: torch.tensor(np.asarray(x, np.float64), requires_grad=True)}
    leaves = {}
    for name in net.initializers:
        arr = net.constants[name]
        if arr.dtype.kind == "f":
            leaves[name] = torch.tensor(arr.astype(np.float64), requires_grad=True)

    def arg(name):
        if not name:
            return None
        if name in values:
            return values[name]
        if name in leaves:
            return leaves[name]
        c = net.constants[name]
        return torch.tensor(c.astype(np.float64)) if c.dtype.kind == "f" else c

    for node in net.nodes:
        if node.op == "Shape":
            values[node.outputs[0]] = np.array(values[node.inputs[0]].shape, np.int64)
            continue
        args = [arg(i) for i in node.inputs]
        while args and args[-1] is None:
            args.pop()
        out = _apply(node, args, net.opset)
        if isinstance(out, torch.Tensor) and out.requires_grad:
            out.retain_grad()
        values[node.outputs[0]] = out
    p = values[probs].reshape(-1, values[probs].shape[-1])[0]
    loss = -(torch.log_softmax(p, 0) if logits else torch.log(p))[label]
    loss.backward()
    stages = {k: v.grad.numpy() for k, v in values.items()
              if isinstance(v, torch.Tensor) and v.grad is not None and k != net.input_name}
    return TorchGrads(float(loss.detach()), values[net.input_name].grad.numpy(), stages,
                      {k: (v.grad.numpy() if v.grad is not None else np.zeros(v.shape)) for k, v in leaves.items()})
