"""The ``snapshot`` event: a running run's first-layer kernels and the feature maps of one fixed test
image, sent by the engine whenever it takes a weight snapshot (training/snapshots.py's schedule), for
the Train tab to show beside the curves (issue 23, "Live in the Train tab").

Both sides use this module (pure NumPy): the engine builds the event with ``payload`` and the app reads
it with ``parse``. An event is untrusted input to the app: ``parse`` checks every field and raises
``SnapshotEventError`` with what is wrong.

    {"event": "snapshot", "step": 120, "epoch": 0.64, "layer": "conv1", "channels": 32,
     "kernels": [out][in][k][k] floats (4 significant digits),
     "maps": [out][h][w] integers 0..255, "maps_range": [lo, hi] (the value of 0 and of 255),
     "image": [c][h][w] integers 0..255, "label": 7}

Small on purpose: at most ``MAX_MAPS`` channels (the first ones), maps and image downsampled (block
means) to at most ``MAX_SIDE`` a side: 27 KB for seed001 (8 channels), 100 KB for digitpad (32), at most
~180 KB; about 25 a run (the snapshot schedule).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

EVENT = "snapshot"
MAX_MAPS = 32          # channels shown (kernels and maps): the first ones
MAX_SIDE = 32          # px: maps and image beyond are downsampled by block means
MAX_KERNEL = 11        # a first layer's kernel side (AlexNet's 11x11 is the largest known)
MAX_IN = 4             # input channels of the first layer (grey, RGB)
MAX_LABEL = 1000
DIGITS = 4             # significant digits of a kernel weight


class SnapshotEventError(ValueError):
    """A ``snapshot`` event the app cannot use (what is wrong, in words)."""


@dataclass(frozen=True)
class LiveSnapshot:
    step: int
    epoch: float
    layer: str
    channels: int              # the layer's output channels (kernels/maps hold the first MAX_MAPS)
    kernels: np.ndarray        # float32 [n, in, k, k]
    maps: np.ndarray           # float32 [n, h, w], the activations' values
    image: np.ndarray          # float32 [c, h, w] in 0..1
    label: int


def shrink(a: np.ndarray, side: int = MAX_SIDE) -> np.ndarray:
    """[n, h, w] with h and w at most ``side``: means of f x f blocks (f the smallest that fits; the last
    rows and columns are padded by repeating the edge)."""
    n, h, w = a.shape
    f = math.ceil(max(h, w) / side)
    if f <= 1:
        return a
    ph, pw = -h % f, -w % f
    if ph or pw:
        a = np.pad(a, ((0, 0), (0, ph), (0, pw)), mode="edge")
    return a.reshape(n, (h + ph) // f, f, (w + pw) // f, f).mean(axis=(2, 4))


def round_sig(a: np.ndarray, digits: int = DIGITS) -> np.ndarray:
    """``a`` rounded to ``digits`` significant digits (float64, so JSON writes them short)."""
    a = np.asarray(a, np.float64)
    mag = np.where(a == 0, 1.0, np.abs(a))
    scale = 10.0 ** (digits - 1 - np.floor(np.log10(mag)))
    return np.round(a * scale) / scale


def _bytes(a: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return np.clip(np.round((a - lo) / (hi - lo) * 255), 0, 255).astype(np.uint8)


def payload(*, step: int, epoch: float, layer: str, kernels: np.ndarray, maps: np.ndarray, image: np.ndarray,
            label: int) -> dict:
    """The event's fields (without ``event``): ``kernels`` [out, in, k, k], ``maps`` [out, h, w] of one
    image (the layer's activations), ``image`` [c, h, w] in 0..1 and its ``label``."""
    kernels = np.asarray(kernels, np.float32)
    maps = np.asarray(maps, np.float32)
    channels = int(kernels.shape[0])
    maps = shrink(maps[:MAX_MAPS])
    finite = maps[np.isfinite(maps)]
    lo = float(finite.min()) if finite.size else 0.0
    hi = float(finite.max()) if finite.size else 1.0
    lo, hi = min(lo, 0.0), (hi if hi > lo else lo + 1.0)
    image = shrink(np.asarray(image, np.float32))
    return {"step": int(step), "epoch": round(float(epoch), 4), "layer": str(layer), "channels": channels,
            "kernels": round_sig(np.nan_to_num(kernels[:MAX_MAPS])).tolist(),
            "maps": _bytes(np.nan_to_num(maps), lo, hi).tolist(), "maps_range": [lo, hi],
            "image": _bytes(image, 0.0, 1.0).tolist(), "label": int(label)}


def _number(ev: dict, key: str, kinds=(int, float)):
    v = ev.get(key)
    if isinstance(v, bool) or not isinstance(v, kinds) or not math.isfinite(v):
        raise SnapshotEventError(f"{key} is {v!r}, not a finite number")
    return v


def _array(ev: dict, key: str, ndim: int, limits: tuple[int, ...], ints: bool) -> np.ndarray:
    v = ev.get(key)
    if not isinstance(v, list):
        raise SnapshotEventError(f"{key} is not a list")
    try:
        a = np.array(v)
    except (ValueError, TypeError, OverflowError):
        a = None
    if a is None or a.dtype.kind not in ("iu" if ints else "iuf"):
        raise SnapshotEventError(f"{key} is not a regular array of {'integers' if ints else 'numbers'}")
    a = a.astype(np.int64 if ints else np.float64)
    if a.ndim != ndim or 0 in a.shape:
        raise SnapshotEventError(f"{key} has shape {list(a.shape)}, not {ndim} non-empty dimensions")
    if any(n > m for n, m in zip(a.shape, limits)):
        raise SnapshotEventError(f"{key} has shape {list(a.shape)}, more than {list(limits)}")
    if ints and (a.min() < 0 or a.max() > 255):
        raise SnapshotEventError(f"{key} holds values outside 0..255")
    if not ints and not np.isfinite(a).all():
        raise SnapshotEventError(f"{key} holds values that are not finite")
    return a


def parse(ev: dict) -> LiveSnapshot:
    """A ``snapshot`` event, checked; raises SnapshotEventError saying what is wrong."""
    if not isinstance(ev, dict) or ev.get("event") != EVENT:
        raise SnapshotEventError("not a snapshot event")
    step = _number(ev, "step", int)
    epoch = _number(ev, "epoch")
    channels = _number(ev, "channels", int)
    label = _number(ev, "label", int)
    if step < 0 or epoch < 0 or not 1 <= channels <= 1 << 16 or not -1 <= label <= MAX_LABEL:
        raise SnapshotEventError(f"step {step}, epoch {epoch}, channels {channels} or label {label} out of range")
    layer = ev.get("layer")
    if not isinstance(layer, str) or not 0 < len(layer) <= 64:
        raise SnapshotEventError("layer is not a short name")
    kernels = _array(ev, "kernels", 4, (MAX_MAPS, MAX_IN, MAX_KERNEL, MAX_KERNEL), ints=False)
    maps = _array(ev, "maps", 3, (MAX_MAPS, MAX_SIDE, MAX_SIDE), ints=True)
    image = _array(ev, "image", 3, (MAX_IN, MAX_SIDE, MAX_SIDE), ints=True)
    rng = ev.get("maps_range")
    if (not isinstance(rng, list) or len(rng) != 2
            or not all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in rng)
            or not rng[0] < rng[1]):
        raise SnapshotEventError("maps_range is not [low, high] with low < high")
    if len(maps) != len(kernels) or len(kernels) > channels:
        raise SnapshotEventError(f"{len(kernels)} kernels and {len(maps)} maps of a layer of {channels} channels")
    lo, hi = float(rng[0]), float(rng[1])
    return LiveSnapshot(step=step, epoch=float(epoch), layer=layer, channels=channels,
                        kernels=kernels.astype(np.float32), maps=(lo + maps / 255.0 * (hi - lo)).astype(np.float32),
                        image=(image / 255.0).astype(np.float32), label=label)
