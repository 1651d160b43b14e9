"""One checksum rule for a model's weights, so every engine (torch, NumPy) and the app agree.

``digest(arrays)`` is the sha256 hex digest over the arrays in name order; for each array:
its name (UTF-8), a NUL byte, its dtype as NumPy's little-endian type string (``<f4``,
``<i8``, ``|u1``), a NUL byte, its shape as comma-separated decimals (``""`` for a scalar),
a NUL byte, then its elements in C order, little-endian. The names and dtypes are part of
the digest, so a renamed or retyped tensor changes it as much as a flipped byte does.

Torch-free and NumPy-only on purpose: the training engine hashes its state dicts through
``tensor.numpy()``, a NumPy engine hashes its own arrays, and both write the result into a
checkpoint and a model's metadata (``training.weights_sha256``).
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping

import numpy as np


def digest(arrays: Mapping[str, np.ndarray]) -> str:
    """sha256 hex digest of named arrays (see the module docstring for the exact bytes)."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        if not isinstance(name, str) or "\0" in name:
            raise ValueError(f"array names must be strings without NUL bytes (got {name!r})")
        a = np.asarray(arrays[name])
        if a.dtype.hasobject or a.dtype.fields is not None:
            raise ValueError(f"array {name!r} has dtype {a.dtype}: only plain numeric arrays have a checksum")
        a = a.astype(a.dtype.newbyteorder("<"), order="C", copy=False)  # not ascontiguousarray: it makes 0-d 1-d
        h.update(f"{name}\0{a.dtype.str}\0{','.join(str(n) for n in a.shape)}\0".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def is_digest(value: object) -> bool:
    """True for a string that looks like ``digest``'s output (64 lowercase hex digits)."""
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)
