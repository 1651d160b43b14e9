"""Checkpoints: everything needed to continue a run, written atomically."""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch

from digitpad.core.fileio import atomic_write_bytes

from .errors import TrainError


def atomic_save(obj: Any, path: Path) -> None:
    """torch.save to a temporary file beside ``path``, then rename: never a half-written file."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    try:
        atomic_write_bytes(path, buf.getvalue())
    except OSError as e:
        raise TrainError(f"cannot write checkpoint {path}: {e.strerror or e}") from None


def load(path: Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise TrainError(f"checkpoint {path} not found")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # pickle/zip errors come in many types
        raise TrainError(f"checkpoint {path} is unreadable or corrupt ({type(e).__name__}: {e})") from None
    if not isinstance(ckpt, dict) or "model" not in ckpt or "config" not in ckpt:
        raise TrainError(f"{path} is not a digitpad checkpoint")
    return ckpt


def inference_weights(ckpt: dict[str, Any]) -> dict[str, Any]:
    """The weights a run evaluates and exports: the EMA copy when the run kept one."""
    return ckpt.get("ema_model") or ckpt["model"]


def checkpoint_path(out: Path) -> Path:
    """The checkpoint lives beside its model: ``net.onnx`` -> ``net.ckpt.pt``."""
    return Path(out).with_suffix(".ckpt.pt")
