"""The NumPy engine's checkpoint, ``X.ckpt.npz`` beside ``X.onnx``: everything ``--resume`` needs,
in a format that loads without pickle.

An ``np.savez`` archive (read back with ``allow_pickle=False``) of plain arrays:

- ``weights/<name>``: the parameters, float32, named as in PyTorch (``conv1.weight``), and the
  constants saved with them (``standardize.mean``);
- ``ema/<name>``: the weights' moving average, when the run keeps one (``--ema``): the model;
- ``perm``: the shuffled order of the epoch in progress (int64; empty between epochs);
- ``meta``: one JSON string: ``format``, ``engine`` ("numpy"), ``run_id`` (a uuid4, kept by
  ``--resume``), ``weights_sha256`` (see ``weights_sha256``), ``config`` (TrainConfig as a dict),
  ``epoch``, ``step_in_epoch``, ``history``, ``elapsed_s``, ``rng`` (the shuffling generator's
  state), ``input`` (the contract's input description), ``ema_n`` and ``ema_sha256`` with an EMA.

Written atomically; on load every field is checked and the weights must match their sha256,
so a damaged file is one clear error, not a crash or a silently different network.
"""
from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from digitpad.core import fileio, npzfile, safejson
from digitpad.core.fileio import atomic_write_bytes
from digitpad.core.paths import NUMPY_CHECKPOINT_SUFFIX, RunFiles
from digitpad.core.weights import digest

from ..errors import TrainError

FORMAT = 1
SUFFIX = NUMPY_CHECKPOINT_SUFFIX
META_CHARS = 64 << 20   # the meta record's JSON (its history grows with the epochs): far above any run's
WEIGHTS = "weights/"
EMA = "ema/"


def checkpoint_path(out: str | Path) -> Path:
    """``net.onnx`` -> ``net.ckpt.npz`` (the torch engine's is ``net.ckpt.pt``)."""
    return RunFiles.of(out).numpy_checkpoint


def weights_sha256(arrays: dict[str, np.ndarray]) -> str:
    """The engine-neutral weights checksum (``digitpad.core.weights.digest``): a PyTorch state dict
    converted to numpy hashes the same way, so the model files of both engines can be matched."""
    return digest(arrays)


def save(path: Path, weights: dict[str, np.ndarray], meta: dict[str, Any], perm: np.ndarray | None,
         ema: dict[str, np.ndarray] | None = None) -> None:
    weights = {k: np.asarray(v, np.float32) for k, v in weights.items()}
    meta = {"format": FORMAT, "engine": "numpy", **meta, "weights_sha256": weights_sha256(weights)}
    arrays = {WEIGHTS + k: v for k, v in weights.items()}
    if ema is not None:
        ema = {k: np.asarray(v, np.float32) for k, v in ema.items()}
        meta["ema_sha256"] = weights_sha256(ema)
        arrays.update({EMA + k: v for k, v in ema.items()})
    buf = io.BytesIO()
    np.savez(buf, meta=np.array(json.dumps(meta)), perm=np.asarray(perm if perm is not None else [], np.int64),
             **arrays)
    try:
        atomic_write_bytes(path, buf.getvalue())
    except OSError as e:
        raise TrainError(f"cannot write checkpoint {path}: {e.strerror or e}") from None


def _check(ok: bool, path: Path, what: str) -> None:
    if not ok:
        raise TrainError(f"checkpoint {path} is damaged: {what}")


def load(path: str | Path) -> dict[str, Any]:
    """``{"meta": dict, "weights": {name: float32 array}, "ema": the same or None, "perm": int64 array
    or None}``, checked."""
    path = Path(path)
    try:
        arrays = npzfile.read(path, fileio.CHECKPOINT, max_string=META_CHARS)
    except fileio.FileReadError as e:
        raise TrainError(f"checkpoint {path} not found" if e.missing else f"checkpoint {path}: {e.strerror}") \
            from None
    except npzfile.NpzError as e:
        raise TrainError(f"checkpoint {path} is unreadable: not a NumPy-engine checkpoint, or it is damaged ({e})") \
            from None
    _check("meta" in arrays and arrays["meta"].dtype.kind == "U" and arrays["meta"].ndim == 0, path, "no meta record")
    try:
        # PCG64's state is 128-bit; a diverged run's history holds NaN (json.dumps wrote it)
        meta = safejson.loads(str(arrays["meta"]), "meta", max_int=2 ** 128, allow_nan=True)
    except safejson.JsonError as e:
        raise TrainError(f"checkpoint {path} is damaged: {e}") from None
    _check(isinstance(meta, dict) and meta.get("engine") == "numpy", path, "not written by the NumPy engine")
    _check(isinstance(meta.get("format"), int) and meta["format"] <= FORMAT, path,
           f"format {meta.get('format')!r} is newer than this engine reads ({FORMAT})")
    for key, kind in (("config", dict), ("history", list), ("run_id", str), ("weights_sha256", str),
                      ("rng", dict)):
        _check(isinstance(meta.get(key), kind), path, f"{key} missing or not a {kind.__name__}")
    for key in ("epoch", "step_in_epoch"):
        value = meta.get(key)
        _check(isinstance(value, int) and not isinstance(value, bool) and value >= 0, path, f"bad {key} {value!r}")
    _check(isinstance(meta.get("elapsed_s"), (int, float)) and meta["elapsed_s"] >= 0, path, "bad elapsed_s")
    weights = {k[len(WEIGHTS):]: v for k, v in arrays.items() if k.startswith(WEIGHTS)}
    _check(bool(weights) and all(v.dtype == np.float32 for v in weights.values()), path, "no float32 weights")
    _check(weights_sha256(weights) == meta["weights_sha256"], path, "the weights do not match their sha256")
    ema = {k[len(EMA):]: v for k, v in arrays.items() if k.startswith(EMA)} or None
    if ema is not None or "ema_sha256" in meta:
        _check(ema is not None and set(ema) == set(weights) and all(v.dtype == np.float32 for v in ema.values()),
               path, "the weights' moving average is incomplete")
        _check(weights_sha256(ema) == meta.get("ema_sha256"), path, "the moving average does not match its sha256")
    perm = arrays.get("perm")
    _check(perm is not None and perm.dtype == np.int64 and perm.ndim == 1, path, "bad perm")
    return {"meta": meta, "weights": weights, "ema": ema, "perm": perm if perm.size else None}
