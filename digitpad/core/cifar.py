"""CIFAR-10 as torchvision downloads it (``cifar-10-batches-py``: the original, lossless pixels),
read without running anything the files might hold.

The batches are Python pickles of a dict ``{b"data": uint8 [N, 3072], b"labels": [N ints],
b"filenames": [...], b"batch_label": b"..."}``. Unpickling calls whatever the file names, so a
pickle from anywhere but the data set's own authors can run code. ``_ArrayUnpickler`` resolves
only the names that numpy arrays are rebuilt from (and checks what they are called with): a
batch that asks for anything else, an object array or a subclass is refused before it runs.
"""
from __future__ import annotations

import io
import os
import pickle
from pathlib import Path

import numpy as np

from . import fileio

FOLDER = "cifar-10-batches-py"
TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_FILES = ("test_batch",)
SIDE, CHANNELS = 32, 3
MAX_BATCH_BYTES = 256 * 1024 * 1024   # a real batch is 31 MB
_BATCH = fileio.Kind("a CIFAR-10 batch", MAX_BATCH_BYTES)


class CifarError(ValueError):
    """A batch file that cannot be used; the message names the file and says why."""


class _Refused(pickle.UnpicklingError):
    """The pickle asks for something a CIFAR-10 batch never holds."""


def _reconstruct(cls, shape, dtype):
    from numpy._core.multiarray import _reconstruct as numpy_reconstruct

    if cls is not np.ndarray:
        raise _Refused(f"an array of type {getattr(cls, '__name__', cls)!r}")
    return numpy_reconstruct(np.ndarray, shape, _plain_dtype(dtype))


def _plain_dtype(spec, *args):
    dtype = np.dtype(spec) if not isinstance(spec, np.dtype) else spec
    if dtype.hasobject or dtype.kind not in "biuf":
        raise _Refused(f"an array of {dtype}")
    return dtype


def _dtype(spec, align=False, copy=False):
    if not isinstance(spec, (str, bytes)):
        raise _Refused(f"a dtype from {type(spec).__name__}")
    return _plain_dtype(np.dtype(spec, align, copy))


def _frombuffer(buffer, dtype, shape, order):
    if not isinstance(buffer, (bytes, bytearray, pickle.PickleBuffer)):
        raise _Refused(f"array data from {type(buffer).__name__}")
    return np.frombuffer(bytes(buffer), dtype=_plain_dtype(dtype)).reshape(shape, order=order).copy()


def _latin1(text, encoding="latin1"):
    """How Python 3 writes bytes into a protocol 2 pickle (a batch re-saved by Python 3)."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise _Refused("_codecs.encode with other than a latin1 string")
    return text.encode("latin1")


# The only callables a batch may name: what numpy arrays are pickled with, by numpy 1 and 2,
# each replaced by a wrapper that refuses object arrays and subclasses.
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): _dtype,
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
    ("_codecs", "encode"): _latin1,
}


class _ArrayUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        found = _ALLOWED.get((module, name))
        if found is None:
            raise _Refused(f"it names {module}.{name}, which a CIFAR-10 batch never does")
        return found


def _read(path: Path) -> bytes:
    try:
        return fileio.read_bytes(path, _BATCH)
    except fileio.FileReadError as e:
        raise CifarError(f"{path} is not a readable CIFAR-10 batch: {e.strerror}") from None


def read_batch(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """One batch file: images uint8 [N, 3, 32, 32] (RGB) and labels int64 [N], checked."""
    path = Path(path)
    try:
        # latin1, as torchvision reads them: the batches were written by Python 2, whose str holds bytes.
        d = _ArrayUnpickler(io.BytesIO(_read(path)), encoding="latin1").load()
    except CifarError:
        raise
    except _Refused as e:
        raise CifarError(f"{path} was refused: {e}") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError, MemoryError,
            RecursionError, OverflowError) as e:
        raise CifarError(f"{path} is not a readable CIFAR-10 batch ({type(e).__name__}: {str(e)[:120]})") from None
    if not isinstance(d, dict):
        raise CifarError(f"{path} holds {type(d).__name__}, not a CIFAR-10 batch")
    data, labels = d.get("data", d.get(b"data")), d.get("labels", d.get(b"labels"))
    per_image = SIDE * SIDE * CHANNELS
    if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 2 and data.shape[1] == per_image):
        shape = list(data.shape) if isinstance(data, np.ndarray) else type(data).__name__
        raise CifarError(f"{path}: its data must be uint8 [N, {per_image}] (got {shape})")
    if not (isinstance(labels, list) and len(labels) == len(data)
            and all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 9 for v in labels)):
        raise CifarError(f"{path}: its labels must be {len(data)} integers 0..9")
    return data.reshape(-1, CHANNELS, SIDE, SIDE), np.asarray(labels, np.int64)


def find_folder(data_dir: str | os.PathLike) -> Path | None:
    """``cifar-10-batches-py`` in the folder, in its ``cifar10/`` sub-folder, or the folder itself."""
    data_dir = Path(data_dir)
    for base in (data_dir / FOLDER, data_dir / "cifar10" / FOLDER, data_dir):
        if (base / TEST_FILES[0]).is_file():
            return base
    return None


def load(folder: str | os.PathLike, split: str) -> tuple[np.ndarray, np.ndarray]:
    """The train (50,000) or test (10,000) split of a ``cifar-10-batches-py`` folder."""
    folder = Path(folder)
    files = TRAIN_FILES if split == "train" else TEST_FILES
    missing = [name for name in files if not (folder / name).is_file()]
    if missing:
        raise CifarError(f"{folder} lacks {', '.join(missing)}")
    parts = [read_batch(folder / name) for name in files]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
