"""Checkpoints: everything needed to continue a run, as plain tensors and JSON-like values.

A checkpoint is read with ``torch.load(weights_only=True)``, whose unpickler builds tensors,
dicts, lists, tuples, strings, numbers, booleans and None, and refuses anything that could
run code. Then, before any value is used, the whole file is checked: its keys and their
types, every tensor's shape and dtype against the architecture its config names, the
optimizer state against the model's parameters, and a sha256 over all its tensors
(``digitpad.core.weights``), so flipped bytes or a hand edit are one clear line, never a
traceback or a NaN model that passes for a good one.

Format 2 (a dict):

    format          2
    run_id          32 hex digits, made when a run starts and kept across --resume
    parent          None, or {"run_id", "weights_sha256"} of the checkpoint a fine-tune started from
    config          TrainConfig.to_dict()
    device          "cpu" | "cuda": the device type the run trains on (aug_rng is that device's generator)
    n_train         training images per epoch (a resume checks that the data is the same size)
    model           state dict: name -> tensor
    ema_model       the weight EMA's state dict, or None when config.ema is 0
    ema_n           EMA updates so far
    optimizer       torch's optimizer state dict (per-parameter tensors, hyper-parameters)
    aug_rng, perm_rng   uint8 generator states (augmentation on the device; epoch order on the CPU)
    epoch           finished epochs
    step_in_epoch   steps done in the current epoch (> 0 only when stopped mid-epoch; perm is then its order)
    perm            None, or the epoch's int64 order of the n_train images
    history         one dict of numbers per finished epoch
    elapsed_s       seconds of training so far
    epoch_sums      (only when stopped mid-epoch) that epoch's running figures so far, {"loss_sum", "loss_n",
                    "correct", "seen"}: the resumed epoch's train loss and accuracy cover all of it
    weights_sha256  digest of the inference weights (ema_model if kept, else model): what an export holds
    sha256          digest of every tensor in the file, named by path ("model.head.1.weight",
                    "optimizer.state.0.exp_avg", "aug_rng", ...)

Files written before run ids (no ``format``) still load for ``export`` and ``--init``; their
weights cannot be verified, and they cannot be resumed (``legacy`` is True).
"""
from __future__ import annotations

import io
import math
import pickle
import re
import warnings
from pathlib import Path
from typing import Any

import torch

from digitpad.core import fileio, modelfile, weights
from digitpad.core.fileio import atomic_write_bytes
from digitpad.core.paths import RunFiles

from . import models
from .config import TrainConfig
from .errors import TrainError

FORMAT = 2
_KEYS = {"format", "run_id", "parent", "config", "device", "n_train", "model", "ema_model", "ema_n", "optimizer",
         "aug_rng", "perm_rng", "epoch", "step_in_epoch", "perm", "history", "elapsed_s", "weights_sha256", "sha256"}
# Written since best-epoch export: the inference weights of the epoch with the best test accuracy
# so far, {"epoch", "model"}, or None. Checkpoints without it still load (nothing to export as best).
_OPTIONAL = {"best", "epoch_sums"}
_CPU_RNG_BYTES = torch.Generator().get_state().numel()
_CUDA_RNG_BYTES = 16  # Philox: seed and offset


class _Bad(Exception):
    """A reason a checkpoint is refused; ``load`` prefixes the file name."""


def checkpoint_path(out: Path) -> Path:
    """The checkpoint lives beside its model: ``net.onnx`` -> ``net.ckpt.pt``."""
    return RunFiles.of(out).checkpoint


def param_groups(model: torch.nn.Module) -> tuple[list, list]:
    """The optimizer's two groups, in the order its saved state numbers the parameters:
    weights with weight decay (conv, linear), then those without (biases, BN)."""
    params = list(model.parameters())
    return [p for p in params if p.ndim > 1], [p for p in params if p.ndim <= 1]


def inference_weights(ckpt: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The weights a run evaluates and exports: the EMA copy when the run kept one."""
    return ckpt["ema_model"] if ckpt.get("ema_model") is not None else ckpt["model"]


def weights_digest(state: dict[str, torch.Tensor]) -> str:
    return weights.digest({k: v.detach().cpu().numpy() for k, v in state.items()})


def _tensors(obj: Any, prefix: str = "") -> dict[str, torch.Tensor]:
    """Every tensor in a nested dict/list, by its path."""
    if isinstance(obj, torch.Tensor):
        return {prefix: obj}
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, (list, tuple)) else ()
    out = {}
    for k, v in items:
        out.update(_tensors(v, f"{prefix}.{k}" if prefix else str(k)))
    return out


def file_digest(ckpt: dict[str, Any]) -> str:
    body = {k: v for k, v in ckpt.items() if k not in ("sha256", "weights_sha256")}
    return weights.digest({k: v.detach().cpu().numpy() for k, v in _tensors(body).items()})


def save(ckpt: dict[str, Any], path: Path) -> None:
    """Add the format and checksums, then write atomically: never a half-written file."""
    ckpt = {"format": FORMAT, **ckpt}
    ckpt["weights_sha256"] = weights_digest(inference_weights(ckpt))
    ckpt["sha256"] = file_digest(ckpt)
    buf = io.BytesIO()
    torch.save(ckpt, buf)
    try:
        atomic_write_bytes(path, buf.getvalue())
    except OSError as e:
        raise TrainError(f"cannot write checkpoint {path}: {e.strerror or e}") from None


def load(path: Path) -> dict[str, Any]:
    """Read and check a checkpoint; TrainError (one line) if it is missing, unsafe, damaged or
    inconsistent. Adds ``legacy`` (bool) and, for old files, ``run_id``/``parent`` None."""
    path = Path(path)
    try:
        data = fileio.read_bytes(path, fileio.CHECKPOINT)   # a regular file: never a FIFO or a device
    except fileio.FileReadError as e:
        raise TrainError(f"checkpoint {path} not found" if e.missing else f"checkpoint {path}: {e.strerror}") \
            from None
    try:
        with warnings.catch_warnings():  # e.g. "Detected pickle protocol 4": the verdict below says enough
            warnings.simplefilter("ignore")
            ckpt = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        found = re.search(r"GLOBAL ([\w.]+)", str(e))
        if found:
            raise TrainError(f"checkpoint {path} holds objects other than tensors and plain values "
                             f"({found.group(1)}); refused: loading it could run code") from None
        raise TrainError(f"checkpoint {path} is damaged or not a plain checkpoint (refused: only tensors and plain "
                         "values are loaded)") from None
    except Exception as e:  # noqa: BLE001 - zip, pickle and storage errors come in many types
        reason = " ".join(str(e).split())[:120]
        raise TrainError(f"checkpoint {path} is unreadable or damaged ({type(e).__name__}: {reason})") from None
    try:
        return _check(ckpt)
    except _Bad as e:
        raise TrainError(f"checkpoint {path} {e}") from None
    except TrainError as e:  # from the config's own checks
        raise TrainError(f"checkpoint {path} has a bad config: {e}") from None


# -- the checks ------------------------------------------------------------------------------
def _int(v: Any, where: str, lo: int = 0, hi: int | None = None) -> int:
    if not (isinstance(v, int) and not isinstance(v, bool) and lo <= v and (hi is None or v <= hi)):
        raise _Bad(f"has a bad {where}: {v!r} (expected an integer >= {lo}{'' if hi is None else f' and <= {hi}'})")
    return v


def _number(v: Any, where: str) -> float:
    if not (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0):
        raise _Bad(f"has a bad {where}: {v!r} (expected a number >= 0)")
    return v


def _state(state: Any, expected: dict[str, torch.Tensor], where: str) -> None:
    if not isinstance(state, dict):
        raise _Bad(f"has no {where} weights (found {type(state).__name__})")
    if set(state) != set(expected):
        missing, extra = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
        raise _Bad(f"does not fit its arch: {where} weights missing {missing[:3]}, unexpected {extra[:3]}")
    for name, ref in expected.items():
        t = state[name]
        if not isinstance(t, torch.Tensor) or t.shape != ref.shape or t.dtype != ref.dtype:
            got = f"{tuple(t.shape)} {t.dtype}" if isinstance(t, torch.Tensor) else type(t).__name__
            raise _Bad(f"does not fit its arch: {where} {name} is {got}, expected {tuple(ref.shape)} {ref.dtype}")


def _rng(v: Any, where: str, size: int | None) -> None:
    if not (isinstance(v, torch.Tensor) and v.dtype == torch.uint8 and v.ndim == 1
            and (size is None or v.numel() == size)):
        raise _Bad(f"has a bad {where} (not a random generator state)")


def _optimizer(opt: Any, model: torch.nn.Module) -> None:
    if not (isinstance(opt, dict) and isinstance(opt.get("state"), dict) and isinstance(opt.get("param_groups"), list)):
        raise _Bad("has a bad optimizer state")
    shapes = [p.shape for group in param_groups(model) for p in group]
    ids = []
    for group in opt["param_groups"]:
        if not (isinstance(group, dict) and isinstance(group.get("params"), list)):
            raise _Bad("has a bad optimizer state (param_groups)")
        ids += group["params"]
    if ids != list(range(len(shapes))) or [len(g["params"]) for g in opt["param_groups"]] != [
            len(g) for g in param_groups(model)]:
        raise _Bad("has an optimizer state that does not fit its arch's parameters")
    for key, per_param in opt["state"].items():
        if not (isinstance(key, int) and 0 <= key < len(shapes) and isinstance(per_param, dict)):
            raise _Bad(f"has a bad optimizer state entry {key!r}")
        for name, t in per_param.items():
            if isinstance(t, torch.Tensor) and t.numel() > 1 and t.shape != shapes[key]:
                raise _Bad(f"has an optimizer state {name} of shape {tuple(t.shape)} for a parameter of shape "
                           f"{tuple(shapes[key])}")


def _history(history: Any, epochs_done: int) -> None:
    if not isinstance(history, list) or len(history) != epochs_done:
        raise _Bad(f"has a history that does not match its {epochs_done} finished epochs")
    for i, record in enumerate(history):
        if not (isinstance(record, dict) and all(isinstance(k, str) and isinstance(v, (int, float))
                                                 and not isinstance(v, bool) for k, v in record.items())
                and record.get("epoch") == i + 1):
            raise _Bad(f"has a bad history record for epoch {i + 1}")


def _check(ckpt: Any) -> dict[str, Any]:
    if not isinstance(ckpt, dict) or "config" not in ckpt or "model" not in ckpt:
        raise _Bad("is not a digitpad checkpoint")
    if "format" not in ckpt:
        return _check_legacy(ckpt)
    if ckpt["format"] != FORMAT:
        raise _Bad(f"has format {ckpt['format']!r}; this digitpad-train reads {FORMAT}")
    if set(ckpt) - _OPTIONAL != _KEYS:
        missing, extra = sorted(_KEYS - set(ckpt)), sorted(set(ckpt) - _KEYS - _OPTIONAL)
        raise _Bad(f"is not a digitpad checkpoint (missing {missing}, unexpected {extra})")
    if ckpt["sha256"] != file_digest(ckpt):
        raise _Bad("is damaged: its tensors do not match their checksum (flipped bytes, a bad copy or an edit)")

    cfg = TrainConfig.from_dict(ckpt["config"], strict=True).validate()
    model = models.for_config(cfg, like=ckpt["model"] if isinstance(ckpt["model"], dict) else None)
    _state(ckpt["model"], model.state_dict(), "model")
    if (ckpt["ema_model"] is None) != (cfg.ema == 0):
        raise _Bad(f"is inconsistent: EMA weights {'missing' if cfg.ema else 'present'} with --ema {cfg.ema}")
    if ckpt["ema_model"] is not None:
        _state(ckpt["ema_model"], model.state_dict(), "EMA")
    _int(ckpt["ema_n"], "EMA update count")
    _optimizer(ckpt["optimizer"], model)
    epoch = _int(ckpt["epoch"], "epoch", 0, cfg.epochs)
    _history(ckpt["history"], epoch)
    best = ckpt.setdefault("best", None)
    if best is not None:
        if not (isinstance(best, dict) and set(best) == {"epoch", "model"}):
            raise _Bad("has a bad best-epoch record")
        _int(best["epoch"], "best epoch", 1, epoch)
        _state(best["model"], model.state_dict(), "best-epoch")
    _number(ckpt["elapsed_s"], "elapsed time")
    sums = ckpt.setdefault("epoch_sums", None)
    if sums is not None:
        if not (isinstance(sums, dict) and set(sums) == {"loss_sum", "loss_n", "correct", "seen"}):
            raise _Bad("has a bad record of its stopped epoch's running figures")
        for key in ("loss_sum", "correct", "seen"):
            _number(sums[key], key)
        _int(sums["loss_n"], "steps in the stopped epoch", 0)
    if not (isinstance(ckpt["run_id"], str) and re.fullmatch(r"[0-9a-f]{32}", ckpt["run_id"])):
        raise _Bad(f"has a bad run id {ckpt['run_id']!r}")
    parent = ckpt["parent"]
    if parent is not None and not (isinstance(parent, dict) and set(parent) == {"run_id", "weights_sha256"}
                                   and weights.is_digest(parent["weights_sha256"])):
        raise _Bad("has a bad parent (the run it was fine-tuned from)")
    if ckpt["device"] not in ("cpu", "cuda"):
        raise _Bad(f"has a bad device {ckpt['device']!r}")
    _rng(ckpt["aug_rng"], "augmentation generator", _CPU_RNG_BYTES if ckpt["device"] == "cpu" else _CUDA_RNG_BYTES)
    _rng(ckpt["perm_rng"], "epoch-order generator", _CPU_RNG_BYTES)
    n_train = _int(ckpt["n_train"], "training-set size", 1)
    steps = math.ceil(n_train / cfg.batch_size)
    step, perm = _int(ckpt["step_in_epoch"], "step in epoch", 0, steps - 1), ckpt["perm"]
    if step and perm is None:
        raise _Bad("stopped mid-epoch but has no epoch order (perm)")
    if perm is not None and not (isinstance(perm, torch.Tensor) and perm.dtype == torch.int64 and perm.ndim == 1
                                 and len(perm) == n_train and torch.equal(perm.sort().values, torch.arange(n_train))):
        raise _Bad(f"has an epoch order (perm) that is not an order of its {n_train} training images")
    if ckpt["weights_sha256"] != weights_digest(inference_weights(ckpt)):
        raise _Bad("is inconsistent: weights_sha256 is not the checksum of its weights")
    ckpt["legacy"] = False
    return ckpt


def _check_legacy(ckpt: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint from before run ids: enough is checked to export it or fine-tune from it."""
    cfg = TrainConfig.from_dict(ckpt["config"], strict=False).validate()
    expected = models.for_config(cfg, like=ckpt["model"] if isinstance(ckpt["model"], dict) else None).state_dict()
    _state(ckpt["model"], expected, "model")
    if ckpt.get("ema_model") is not None:
        _state(ckpt["ema_model"], expected, "EMA")
    epoch = _int(ckpt.get("epoch"), "epoch", 0, cfg.epochs)
    _int(ckpt.get("step_in_epoch", 0), "step in epoch")
    _history(ckpt.get("history"), epoch)
    _number(ckpt.get("elapsed_s", 0.0), "elapsed time")
    legacy = {"run_id": None, "parent": None, "ema_model": ckpt.get("ema_model"), "epoch": epoch,
              "step_in_epoch": ckpt.get("step_in_epoch", 0), "elapsed_s": ckpt.get("elapsed_s", 0.0), "legacy": True}
    ckpt = {**ckpt, **legacy}
    ckpt["weights_sha256"] = weights_digest(inference_weights(ckpt))
    return ckpt


# -- which model a checkpoint belongs to -----------------------------------------------------
def match_model(model_path: Path, ckpt: dict[str, Any], ckpt_path: Path) -> str:
    """How the checkpoint ``ckpt`` is known to belong with the exported model ``model_path``:
    ``"weights"`` (the model's metadata names the checkpoint's weights checksum), ``"run"`` (the
    same run id, other weights: the run went on after the export) or ``"dense layers"`` (a model
    from before run ids whose dense layers equal the checkpoint's; its convs are BN-folded).
    TrainError, one line, when they are not one run's model and checkpoint."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    from digitpad.core.contract import METADATA_KEY, ModelMetadata

    try:
        # Through the core's reader: a regular file, with no external data to follow.
        proto = onnx.load_from_string(modelfile.read_model(model_path))
        meta = ModelMetadata.from_json({p.key: p.value for p in proto.metadata_props}.get(METADATA_KEY))
    except Exception as e:  # noqa: BLE001 - protobuf and file errors come in many types
        reason = " ".join(str(e).split())[:120]
        raise TrainError(f"{model_path} is not a digitpad model whose checkpoint can be checked ({reason})") from None
    run, sha = meta.training.get("run_id"), meta.training.get("weights_sha256")
    if sha is not None and sha == ckpt["weights_sha256"]:
        return "weights"
    if run is not None and run == ckpt["run_id"]:
        return "run"
    if sha is None and run is None:
        inits = {i.name: i for i in proto.graph.initializer}
        dense = {k: v for k, v in inference_weights(ckpt).items() if k.startswith("head.")}
        if dense and all(f"net.{k}" in inits and np.array_equal(numpy_helper.to_array(inits[f"net.{k}"]), v.numpy())
                         for k, v in dense.items()):
            return "dense layers"
        raise TrainError(f"{model_path.name} was made before run ids and its dense layers differ from "
                         f"{ckpt_path.name}'s: they are not one run's model and checkpoint")
    raise TrainError(f"{model_path.name} (run {run or 'unknown'}) and {ckpt_path.name} (run "
                     f"{ckpt['run_id'] or 'unknown'}) are not one run's model and checkpoint: a later run into the "
                     "same --out may have stopped after replacing the checkpoint")
