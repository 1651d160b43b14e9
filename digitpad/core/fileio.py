"""Atomic file writes, shared by the app and the training engine.

Write to a temporary file in the same folder, fsync, then rename over the target: a
reader sees the old file or the new one, never half of one, and a full disk leaves the
old file intact.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Raises OSError (with the original errno) when the file cannot be written."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))
