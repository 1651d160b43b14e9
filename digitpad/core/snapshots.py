"""A training run's weight snapshots: the file both engines write and the app reads back.

``X.snapshots.npz`` beside ``X.onnx`` (``paths.RunFiles.snapshots``: the one name rule) holds the
weights at moments of the run: the initial weights and at least 20 later ones, denser early, the
last one the weights that were exported. It is an ``np.savez`` archive of plain arrays (no pickled
objects), read back through ``npzfile.read`` (``fileio.SNAPSHOTS`` caps its size; every header is
checked before any data is read), so a damaged or hostile file is one :class:`SnapshotError`.

Members:

- ``meta``: one JSON string: ``format``, ``engine`` ("torch" | "numpy"), ``run_id``,
  ``planned_steps`` (the run's total steps as last planned), ``steps_per_epoch``, ``kept`` (what of
  the weights each snapshot holds: "all", "conv kernels" or "first conv kernels", the size cap),
  ``names`` (the engine's tensor names, one per ``w<i>`` member) and ``initializers`` (name -> the
  exported model's initializer holding it; null until the run is exported);
- ``step`` int64 [S] (strictly increasing, 0 for the initial weights), ``epoch`` float64 [S]
  (step / steps per epoch), ``accuracy`` float64 [S] (the test accuracy known at that moment; at an
  epoch's last step the evaluation of those very weights; NaN: none yet), ``loss`` float64 [S]
  (that step's training loss; NaN for the initial weights);
- ``w<i>`` float32 [S, *shape]: tensor ``names[i]`` at every snapshot.
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import fileio, npzfile, safejson

FORMAT = 1
MAX_SNAPSHOTS = 10_000
MAX_TENSORS = 1_000
META_CHARS = 4 << 20
KEPT = ("all", "conv kernels", "first conv kernels")
_SERIES = {"step": np.int64, "epoch": np.float64, "accuracy": np.float64, "loss": np.float64}


class SnapshotError(ValueError):
    """A snapshots file that cannot be used; the message is one line naming the file."""


@dataclass
class Snapshots:
    """Weights at S moments of one run (see the module's docstring for the fields)."""

    meta: dict
    step: np.ndarray
    epoch: np.ndarray
    accuracy: np.ndarray
    loss: np.ndarray
    weights: dict[str, np.ndarray]     # engine name -> [S, *shape]

    def __len__(self) -> int:
        return len(self.step)

    def at(self, k: int) -> dict[str, np.ndarray]:
        """Snapshot ``k``'s tensors by engine name."""
        return {name: w[k] for name, w in self.weights.items()}

    @property
    def initializers(self) -> dict[str, str] | None:
        return self.meta.get("initializers")

    def to_bytes(self) -> bytes:
        names = list(self.weights)
        meta = {**self.meta, "format": FORMAT, "names": names}
        arrays = {"meta": np.array(json.dumps(meta)),
                  **{k: np.asarray(getattr(self, k), t) for k, t in _SERIES.items()},
                  **{f"w{i}": np.ascontiguousarray(self.weights[n], np.float32) for i, n in enumerate(names)}}
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        return buf.getvalue()


def write(path: str | Path, snaps: Snapshots) -> None:
    """Atomically (a reader never sees half a file); OSError when it cannot be written."""
    fileio.atomic_write_bytes(Path(path), snaps.to_bytes())


def read(path: str | Path) -> Snapshots:
    """The checked snapshots of ``path``; SnapshotError (one line) for anything wrong with it, from a
    FIFO or an oversized file to a pickled member, mismatched shapes or a bad meta record."""
    path = Path(path)
    try:
        arrays = npzfile.read(path, fileio.SNAPSHOTS, check=_check_headers, max_string=META_CHARS)
    except fileio.FileReadError as e:
        raise SnapshotError(str(e)) from None
    except (npzfile.NpzError, SnapshotError) as e:
        raise SnapshotError(f"{path.name} is not a usable snapshots file: {e}") from None
    try:
        return _build(arrays)
    except SnapshotError as e:
        raise SnapshotError(f"{path.name} is not a usable snapshots file: {e}") from None


def _check_headers(headers: dict[str, npzfile.Header]) -> None:
    """Shapes and types before any data is read."""
    for key in ("meta", *_SERIES):
        if key not in headers:
            raise SnapshotError(f"it has no '{key}'")
    meta = headers["meta"]
    if meta.dtype.kind != "U" or meta.shape != ():
        raise SnapshotError("'meta' is not one string")
    count = headers["step"].shape
    if len(count) != 1 or not 1 <= count[0] <= MAX_SNAPSHOTS:
        raise SnapshotError(f"'step' has shape {list(count)} (1 to {MAX_SNAPSHOTS:,} snapshots)")
    for key, dtype in _SERIES.items():
        h = headers[key]
        if h.dtype != np.dtype(dtype) or h.shape != count:
            raise SnapshotError(f"'{key}' is {h.dtype} {list(h.shape)}, expected {np.dtype(dtype)} {list(count)}")
    tensors = [k for k in headers if k.startswith("w")]
    if len(tensors) > MAX_TENSORS:
        raise SnapshotError(f"it holds {len(tensors):,} tensors (at most {MAX_TENSORS:,})")
    for key in tensors:
        h = headers[key]
        if h.dtype != np.float32 or not h.shape or h.shape[0] != count[0]:
            raise SnapshotError(f"'{key}' is {h.dtype} {list(h.shape)}, expected float32 [{count[0]}, ...]")


def _build(arrays: dict[str, np.ndarray]) -> Snapshots:
    try:
        meta = safejson.loads(str(arrays["meta"]), "meta")
    except safejson.JsonError as e:
        raise SnapshotError(str(e)) from None
    if not isinstance(meta, dict) or not isinstance(meta.get("format"), int) or meta["format"] > FORMAT:
        raise SnapshotError(f"its format {meta.get('format') if isinstance(meta, dict) else meta!r} is not one "
                            f"this digitpad reads ({FORMAT})")
    names = meta.get("names")
    tensors = sorted((k for k in arrays if k.startswith("w")), key=lambda k: (len(k), k))
    if not (isinstance(names, list) and all(isinstance(n, str) for n in names) and len(set(names)) == len(names)
            and tensors == [f"w{i}" for i in range(len(names))] and names):
        raise SnapshotError("its tensor names do not match its tensors")
    if meta.get("kept") not in KEPT:
        raise SnapshotError(f"it keeps {meta.get('kept')!r}, not one of {', '.join(KEPT)}")
    for key in ("planned_steps", "steps_per_epoch"):
        if not (isinstance(meta.get(key), int) and meta[key] >= 1):
            raise SnapshotError(f"bad {key} {meta.get(key)!r}")
    if not isinstance(meta.get("run_id"), str):
        raise SnapshotError("no run id")
    inits = meta.get("initializers")
    if inits is not None and not (isinstance(inits, dict) and set(inits) <= set(names)
                                  and all(isinstance(v, str) for v in inits.values())):
        raise SnapshotError("its initializer names are not a table of its tensors")
    step = arrays["step"]
    if step[0] < 0 or (len(step) > 1 and not (np.diff(step) > 0).all()):
        raise SnapshotError("its steps are not increasing from 0 or more")
    epoch, accuracy, loss = arrays["epoch"], arrays["accuracy"], arrays["loss"]
    if not (np.isfinite(epoch).all() and (epoch >= 0).all()):
        raise SnapshotError("its epochs are not finite numbers >= 0")
    if not np.all(np.isnan(accuracy) | ((accuracy >= 0) & (accuracy <= 1))):
        raise SnapshotError("its accuracies are not within 0..1")
    weights = {name: arrays[f"w{i}"] for i, name in enumerate(names)}
    for name, w in weights.items():
        if not np.isfinite(w).all():
            raise SnapshotError(f"'{name}' holds NaN or inf")
    return Snapshots(meta, step, epoch, accuracy, loss, weights)


def points(snaps: Snapshots) -> list[dict]:
    """One dict per snapshot: ``step``, ``epoch``, ``accuracy`` (NaN when none was known), ``loss``."""
    return [{"step": int(s), "epoch": float(e), "accuracy": float(a), "loss": float(x)}
            for s, e, a, x in zip(snaps.step, snaps.epoch, snaps.accuracy, snaps.loss)]

