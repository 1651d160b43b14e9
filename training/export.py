"""ONNX export per the model file contract (DESIGN.md), following the PyTorch ONNX tutorial:
named input and outputs, a dynamic batch, ``onnx.checker``, then a parity check of ONNX
Runtime against PyTorch. The file is written to a temporary name and renamed, so a reader
never sees half a model.
"""
from __future__ import annotations

import datetime as dt
import platform
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from digitpad.core import contract
from digitpad.core.fileio import atomic_write_bytes

from .errors import TrainError
from .models import Net


class _ContractWrapper(nn.Module):
    """Exposes logits, probs and every conv block's activation as separate outputs."""

    def __init__(self, net: Net):
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor):
        logits, acts = self.net.forward_with_activations(image)
        return (logits, torch.softmax(logits, dim=1), *acts)


def library_versions() -> dict[str, str]:
    import onnx
    import onnxruntime
    import torchvision

    return {"python": platform.python_version(), "torch": torch.__version__,
            "torchvision": torchvision.__version__, "onnx": onnx.__version__,
            "onnxruntime": onnxruntime.__version__}


def _to_proto(net: Net):
    output_names = [contract.LOGITS, contract.PROBS] + [contract.activation_output(n) for n in net.layer_names]
    dummy = torch.zeros(2, 1, net.input_size, net.input_size)
    batch = torch.export.Dim("batch", min=1, max=65536)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            _ContractWrapper(net), (dummy,), dynamo=True, input_names=[contract.INPUT_NAME],
            output_names=output_names, dynamic_shapes={"image": {0: batch}}, optimize=True, verbose=False,
        )
    return program.model_proto


def _conv_kernels(proto) -> list[str]:
    """Weight initializer of each Conv node, in graph order (= our conv block order)."""
    inits = {i.name for i in proto.graph.initializer}
    return [n.input[1] for n in proto.graph.node if n.op_type == "Conv" and n.input[1] in inits]


def parity(proto_bytes: bytes, net: Net, images_u8: np.ndarray, batch: int = 1000,
           full_scale: int = 255) -> dict[str, float]:
    """ONNX Runtime vs PyTorch on the given images: top-1 agreement and max |prob diff|."""
    import onnxruntime as ort

    sess = ort.InferenceSession(proto_bytes, providers=["CPUExecutionProvider"])
    agree, max_diff, n = 0, 0.0, len(images_u8)
    with torch.no_grad():
        for i in range(0, n, batch):
            x = torch.from_numpy(images_u8[i:i + batch].astype(np.float32) / full_scale).unsqueeze(1)
            p_torch = torch.softmax(net(x), 1).numpy()
            p_ort = sess.run([contract.PROBS], {contract.INPUT_NAME: x.numpy()})[0]
            agree += int((p_torch.argmax(1) == p_ort.argmax(1)).sum())
            max_diff = max(max_diff, float(np.abs(p_torch - p_ort).max()))
    return {"parity_top1_agreement": agree / max(n, 1), "parity_max_prob_diff": max_diff, "parity_images": n}


def export(net: Net, out: Path, *, arch: str, dataset: str, metrics: dict[str, Any],
           training: dict[str, Any], parity_images: np.ndarray | None = None,
           parity_scale: int = 255) -> dict[str, Any]:
    """Write ``out`` (.onnx) atomically; return the metadata dict written into it.
    ``parity_images``: uint8 test images, ``parity_scale`` their full-ink value (optdigits: 16)."""
    import onnx

    out = Path(out)
    net = net.cpu().eval()
    proto = _to_proto(net)
    kernels = _conv_kernels(proto)
    if len(kernels) != len(net.layer_names):
        kernels = [None] * len(net.layer_names)  # should not happen; the app then shows no kernels
    layers = [contract.LayerInfo(name, "conv", contract.activation_output(name), k)
              for name, k in zip(net.layer_names, kernels)]
    metrics = dict(metrics)
    if parity_images is not None:
        metrics.update(parity(proto.SerializeToString(), net, parity_images, full_scale=parity_scale))
    meta = contract.ModelMetadata(
        arch=arch, dataset=dataset, classes=contract.CLASSES[dataset], layers=layers, metrics=metrics,
        training={**training, "versions": library_versions()},
        created=dt.datetime.now(dt.timezone.utc).astimezone().isoformat(timespec="seconds"),
        input=contract.DATASET_INPUTS.get(dataset, contract.MNIST_INPUT).to_dict(),
    )
    del proto.metadata_props[:]
    entry = proto.metadata_props.add()
    entry.key, entry.value = contract.METADATA_KEY, meta.to_json()
    proto.producer_name = "digitpad-train"
    onnx.checker.check_model(proto, full_check=True)

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(out, proto.SerializeToString())
    except OSError as e:
        raise TrainError(f"cannot write {out}: {e.strerror or e}") from None
    return {**meta.__dict__, "layers": [vars(layer) for layer in layers]}
