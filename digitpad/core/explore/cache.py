"""The explore results kept in the user's cache folder (``paths.cache_dir() / "explore"``), one .npz per
model file's content (its sha256), test set and kind of result, so a map or a layer's responses is made
once and is there at the next start.

Written atomically (``fileio.atomic_write_bytes``: a reader sees the old file or the new one); read
through ``npzfile`` (no pickles, members' headers checked before any data), then checked against what
the caller expects (its ``check``): a damaged, foreign or stale file is only a cache, so it is
ignored and made again, never an error.
"""
from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .. import fileio, npzfile, paths

VERSION = 1      # changes when what a cache file holds, or how it is computed, changes


def folder() -> Path:
    return paths.cache_dir() / "explore"


def data_digest(images: np.ndarray, labels: np.ndarray, full_scale: float) -> str:
    """A test set's identity: its pixels, labels and scale (~15 ms for MNIST's 10,000 digits)."""
    h = hashlib.sha256()
    for a in (np.ascontiguousarray(images), np.ascontiguousarray(labels)):
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(memoryview(a).cast("B"))
    h.update(repr(float(full_scale)).encode())
    return h.hexdigest()


def path(kind: str, *parts: str) -> Path:
    """The file of one result: ``kind`` (map, responses) and what it depends on (digests, names)."""
    key = hashlib.sha256("\0".join((str(VERSION), kind, *parts)).encode()).hexdigest()[:32]
    return folder() / f"{kind}-{key}.npz"


def read(file: Path, check: Callable[[dict[str, np.ndarray]], bool]) -> dict[str, np.ndarray] | None:
    """The arrays of ``file`` when it is there, reads safely and ``check`` accepts them; else None."""
    if not file.is_file():
        return None
    try:
        arrays = npzfile.read(file, fileio.EXPLORE_CACHE)
    except (OSError, ValueError):
        return None
    try:
        ok = bool(check(arrays))
    except (KeyError, ValueError, TypeError, IndexError):
        ok = False
    return arrays if ok else None


def write(file: Path, arrays: dict[str, np.ndarray]) -> None:
    """Save ``arrays`` (no objects: nothing that needs a pickle); a full or read-only disk leaves no cache."""
    buf = io.BytesIO()
    np.savez(buf, **{k: np.asarray(v) for k, v in arrays.items()})
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        fileio.atomic_write_bytes(file, buf.getvalue())
    except OSError:
        pass


def finite(*arrays: np.ndarray) -> bool:
    return all(np.issubdtype(a.dtype, np.floating) and bool(np.isfinite(a).all()) for a in arrays)
