"""ONNX export per the model file contract (DESIGN.md), following the PyTorch ONNX tutorial:
named input and outputs, a dynamic batch, ``onnx.checker``, then a parity check of ONNX
Runtime against PyTorch that also refuses a model whose outputs are not finite. The file is
written to a temporary name and renamed, so a reader never sees half a model.

The exporter is torch's TorchScript one (``dynamo=False``), with the model in eval mode and
``training=PRESERVE``: every BatchNormalization stays a node of its own with the layer's
mean, var, gamma, beta and eps (the app shows batch norm's arithmetic; ONNX Runtime folds it
into the conv when it loads the model), and it takes 20-40 ms for the zoo's nets where the
dynamo exporter took 1.2-1.9 s here (and folded BN into the conv with ``optimize=True``).
Should a later torch drop it, the dynamo exporter without its optimiser (which also keeps BN)
takes over.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import io
import math
import platform
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from digitpad.core import contract

from .errors import TrainError
from .finish import write_model
from .models import Net

OPSET = 18
PARITY_TOLERANCE = 1e-3  # max |prob difference| ONNX Runtime may show against PyTorch (typically ~1e-6)


class _ContractWrapper(nn.Module):
    """Exposes logits, probs and every conv block's activation as separate outputs."""

    def __init__(self, net: Net):
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor):
        logits, acts = self.net.forward_with_activations(image)
        return (logits, torch.softmax(logits, dim=1), *acts)


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "torch": torch.__version__}
    for name in ("torchvision", "onnx", "onnxruntime"):  # from the installed metadata: no import
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    return versions


def _output_names(net: Net) -> list[str]:
    return [contract.LOGITS, contract.PROBS] + [contract.activation_output(n) for n in net.layer_names]


def _example(net: Net) -> torch.Tensor:
    """A batch of two inputs of the net's shape, to trace the graph with."""
    return torch.zeros(2, net.in_channels, net.input_size, net.input_size)


def _torchscript_proto(net: Net):
    import onnx

    names, buf = _output_names(net), io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(_ContractWrapper(net), (_example(net),), buf,
                          dynamo=False, input_names=[contract.INPUT_NAME], output_names=names,
                          dynamic_axes={n: {0: "batch"} for n in [contract.INPUT_NAME, *names]},
                          opset_version=OPSET, training=torch.onnx.TrainingMode.PRESERVE)
    return onnx.load_from_string(buf.getvalue())


def _dynamo_proto(net: Net):
    batch = torch.export.Dim("batch", min=1, max=65536)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            _ContractWrapper(net), (_example(net),), dynamo=True,
            input_names=[contract.INPUT_NAME], output_names=_output_names(net),
            dynamic_shapes={"image": {0: batch}}, optimize=False, verbose=False)
    return program.model_proto


def to_proto(net: Net, exporter: str = "torchscript"):
    """The contract's graph of ``net`` (in eval mode) and the name of the exporter that made it."""
    if exporter == "torchscript":
        try:
            return _torchscript_proto(net), "torchscript"
        except Exception:  # noqa: BLE001 - gone or broken in this torch: the dynamo exporter follows
            exporter = "dynamo"
    return _dynamo_proto(net), "dynamo"


def _conv_kernels(proto, layer_names: list[str]) -> list[str | None]:
    """The weight initializer of each layer's first conv (the kernels the app shows): found by the
    exporter's names (``net.blocks.<layer>.``...), else each Conv node in graph order when there is
    one per layer (the dynamo exporter names weights its own way)."""
    inits = {i.name for i in proto.graph.initializer}
    weights = [n.input[1] for n in proto.graph.node if n.op_type == "Conv" and n.input[1] in inits]
    named = [next((w for w in weights if w.startswith(f"net.blocks.{name}.")), None) for name in layer_names]
    if all(named):
        return named
    return weights if len(weights) == len(layer_names) else [None] * len(layer_names)


def parity(proto_bytes: bytes, net: Net, images_u8: np.ndarray, reference: np.ndarray | None = None,
           batch: int = 1000, full_scale: int = 255) -> dict[str, float]:
    """ONNX Runtime vs PyTorch on the given images (uint8, full ink at ``full_scale``): top-1
    agreement, max |prob diff| over the images where both are finite, and how many images gave
    a NaN or inf in either. ``reference``: PyTorch's probabilities for these images when already
    known (the run's last evaluation), so the test set is not run through PyTorch a second time."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()   # the run's threads (--threads 0: the idle cores)
    sess = ort.InferenceSession(proto_bytes, options, providers=["CPUExecutionProvider"])
    agree, max_diff, nonfinite, n = 0, 0.0, 0, len(images_u8)
    with torch.no_grad():
        for i in range(0, n, batch):
            x = torch.from_numpy(images_u8[i:i + batch].astype(np.float32) / full_scale)
            x = x.unsqueeze(1) if x.ndim == 3 else x    # grey [N, S, S]; colour is [N, 3, S, S] already
            p_torch = torch.softmax(net(x), 1).numpy() if reference is None else reference[i:i + batch]
            p_ort = sess.run([contract.PROBS], {contract.INPUT_NAME: x.numpy()})[0]
            finite = np.isfinite(p_torch).all(1) & np.isfinite(p_ort).all(1)
            nonfinite += int((~finite).sum())
            agree += int((p_torch.argmax(1) == p_ort.argmax(1))[finite].sum())
            max_diff = max(max_diff, float(np.abs(p_torch - p_ort)[finite].max(initial=0.0)))
    return {"parity_top1_agreement": agree / max(n, 1), "parity_max_prob_diff": max_diff, "parity_images": n,
            "parity_nonfinite_images": nonfinite}


def _json_safe(value: Any) -> Any:
    """Non-finite floats become null (strict JSON; the contract refuses NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def input_spec(net: Net, dataset: str) -> contract.InputSpec:
    """The contract's input description for a net trained on ``dataset``; TrainError when the net
    does not take that data set's images (the file would promise one input and hold another)."""
    spec = contract.DATASET_INPUTS.get(dataset, contract.MNIST_INPUT)
    if (spec.size, spec.channels) != (net.input_size, net.in_channels):
        raise TrainError(f"a net that takes {net.in_channels}x{net.input_size}x{net.input_size} images cannot be "
                         f"exported as a {dataset} model ({spec.channels}x{spec.size}x{spec.size})")
    return spec


def export(net: Net, out: Path, *, arch: str, dataset: str, metrics: dict[str, Any], training: dict[str, Any],
           parity_images: np.ndarray | None = None, parity_reference: np.ndarray | None = None,
           exporter: str = "torchscript", not_digit: dict[str, Any] | None = None,
           parity_scale: int = 255, classes: list[str] | None = None) -> dict[str, Any]:
    """Write ``out`` (.onnx) atomically; return the metadata dict written into it. TrainError,
    and nothing written, when the model's outputs are not finite or ONNX Runtime disagrees.
    Without ``parity_images`` the check runs on 64 images of uniform noise. ``not_digit``: the
    calibrated not-a-digit rule (``calibrate.calibrate``), or None. ``parity_scale``: the full-ink
    value of ``parity_images`` (optdigits: 16). ``classes``: the class names (a folder of the
    user's images names its own); default: the data set's."""
    import onnx

    out = Path(out)
    net = net.cpu().eval()
    spec = input_spec(net, dataset)
    classes = list(classes) if classes is not None else contract.CLASSES.get(dataset)
    if classes is None:
        raise TrainError(f"exporting a {dataset} model needs its class names")
    proto, used = to_proto(net, exporter)
    kernels = _conv_kernels(proto, net.layer_names)
    layers = [contract.LayerInfo(name, "conv", contract.activation_output(name), k)
              for name, k in zip(net.layer_names, kernels)]
    if parity_images is None:
        size, channels = net.input_size, net.in_channels
        shape = (64, size, size) if channels == 1 else (64, channels, size, size)
        parity_images = np.random.default_rng(0).integers(0, parity_scale + 1, shape, dtype=np.uint8)
    check = parity(proto.SerializeToString(), net, parity_images, parity_reference, full_scale=parity_scale)
    if check["parity_nonfinite_images"]:
        broken = any(not torch.isfinite(t).all() for t in net.state_dict().values() if t.is_floating_point())
        raise TrainError(f"the model gives NaN or inf outputs on {check['parity_nonfinite_images']:,} of "
                         f"{check['parity_images']:,} test images, so {out.name} was not written"
                         f"{' (its weights hold NaN or inf: training diverged; try a lower --lr)' if broken else ''}")
    if check["parity_max_prob_diff"] > PARITY_TOLERANCE:
        raise TrainError(f"ONNX Runtime disagrees with PyTorch (max |prob difference| "
                         f"{check['parity_max_prob_diff']:.2g}), so {out.name} was not written")
    metrics = {k: v for k, v in {**metrics, **check}.items() if math.isfinite(v)}
    meta = contract.ModelMetadata(
        arch=arch, dataset=dataset, classes=classes, layers=layers, metrics=metrics,
        training=_json_safe({**training, "exporter": used, "versions": library_versions()}),
        created=dt.datetime.now(dt.timezone.utc).astimezone().isoformat(timespec="seconds"),
        not_digit=not_digit,
        input=spec.to_dict(),
    )
    del proto.metadata_props[:]
    entry = proto.metadata_props.add()
    entry.key, entry.value = contract.METADATA_KEY, meta.to_json()
    proto.producer_name = "digitpad-train"
    onnx.checker.check_model(proto, full_check=True)

    write_model(out, proto.SerializeToString())
    return {**meta.__dict__, "layers": [vars(layer) for layer in layers]}
