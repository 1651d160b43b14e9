"""Reading a NumPy ``.npz`` archive that someone else may have made: the My digits collection
and its exports, the NumPy engine's checkpoints.

``np.load`` trusts the archive: it allocates whatever a member's header claims (petabytes, a
million samples in a small file), inflates a member however far it goes (a zip bomb), and
raises whatever zipfile raises for an encrypted member or an unknown compression method. Here
every member is checked before any of its data is read:

1. the archive (read through ``fileio``, so a FIFO, a device or an oversized file is refused
   first): at most ``MAX_MEMBERS`` members, none encrypted, each stored or deflated, each and
   all together no larger unpacked than the file's :class:`fileio.Kind` allows;
2. each wanted member's ``.npy`` header (``numpy.lib.format``, never ``allow_pickle``): a plain
   dtype (booleans, integers, floats, strings; no objects, no records), a shape whose size
   agrees exactly with the member's size, strings no longer than ``MAX_STRING``;
3. the caller's ``check(headers)``: shapes and dtypes of the format it reads, still before any
   data is read; then members larger than ``RATIO_FROM`` that unpack more than ``MAX_RATIO``
   times their packed size are refused as zip bombs (real digit images pack about 5:1);
4. the data, read into arrays of exactly the declared size (the zip's CRC is checked as well).

Members a caller does not ask for are never read. Every failure is one :class:`NpzError`.
"""
from __future__ import annotations

import contextlib
import io
import math
import os
import zipfile
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import fileio

MAX_MEMBERS = 4096
MAX_STRING = 1024              # characters in one string item, unless the reader says otherwise
MAX_HEADER = 10_000            # numpy's own default for a .npy header
RATIO_FROM = 4 * fileio.MiB    # smaller members are not worth a bomb check
MAX_RATIO = 200
_PLAIN_KINDS = "biufU"


class NpzError(ValueError):
    """An archive, or a member of it, that is refused; the message says why (without the file
    name, which callers put first)."""


@dataclass(frozen=True)
class Header:
    """What a member's ``.npy`` header declares."""

    shape: tuple[int, ...]
    dtype: np.dtype
    fortran: bool
    info: zipfile.ZipInfo
    offset: int            # bytes of the member before the data

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize


def _describe(dtype: np.dtype) -> str:
    return "Python objects (pickled data), which digitpad does not load" if dtype.hasobject else f"dtype {dtype}"


def _header(zf: zipfile.ZipFile, info: zipfile.ZipInfo, key: str, max_string: int) -> Header:
    with zf.open(info) as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f, max_header_size=MAX_HEADER)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f, max_header_size=MAX_HEADER)
        else:
            raise NpzError(f"'{key}' is in .npy format version {version[0]}.{version[1]}, which is not read here")
        offset = f.tell()
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None or dtype.kind not in _PLAIN_KINDS:
        raise NpzError(f"'{key}' holds {_describe(dtype)}; only plain numbers, booleans and strings are read")
    if not all(isinstance(d, int) and d >= 0 for d in shape):
        raise NpzError(f"'{key}' has a bad shape {shape}")
    if dtype.kind == "U" and dtype.itemsize > 4 * max_string:
        raise NpzError(f"'{key}' holds strings of {dtype.itemsize // 4:,} characters (at most {max_string:,})")
    h = Header(tuple(shape), dtype, bool(fortran), info, offset)
    if h.nbytes != info.file_size - offset:
        raise NpzError(f"'{key}' claims {h.size:,} values of {dtype} ({h.nbytes:,} bytes) but holds "
                       f"{max(info.file_size - offset, 0):,} bytes")
    return h


def _data(zf: zipfile.ZipFile, h: Header) -> np.ndarray:
    shape = h.shape[::-1] if h.fortran else h.shape
    out = np.empty(shape, h.dtype)
    view = memoryview(out.reshape(-1).view(np.uint8)) if out.size else memoryview(b"")
    with zf.open(h.info) as f:
        f.read(h.offset)
        done = 0
        while done < h.nbytes:
            n = f.readinto(view[done:])
            if not n:
                raise NpzError(f"'{h.info.filename}' ends early")
            done += n
        f.read(1)   # at the end: zipfile checks the member's CRC
    return out.T if h.fortran else out


def read(source: str | os.PathLike | bytes, kind: fileio.Kind, keys: Collection[str] | None = None,
         check: Callable[[dict[str, Header]], None] | None = None,
         max_string: int = MAX_STRING) -> dict[str, np.ndarray]:
    """The wanted members (``keys``; None: all) of an archive at a path (read through ``fileio``:
    FileReadError, an OSError, when it cannot be) or in bytes, as arrays. ``check`` sees the
    headers before any data is read and raises to refuse; strings hold at most ``max_string``
    characters. NpzError for anything refused."""
    data = source if isinstance(source, bytes) else fileio.read_bytes(Path(source), kind)
    if not data.startswith(b"PK"):
        # Not a zip at all: np.load would try it as a pickle and blame "pickled data".
        raise NpzError("not a zip archive")
    with _damaged():
        zf = zipfile.ZipFile(io.BytesIO(data))
    with zf:
        with _damaged():
            headers = _headers(zf, kind, keys, max_string)
        if check is not None:
            check(headers)   # the caller's own error type passes through
        for key, h in headers.items():
            packed, unpacked = h.info.compress_size, h.info.file_size
            if unpacked > RATIO_FROM and unpacked > MAX_RATIO * max(packed, 1):
                raise NpzError(f"'{key}' unpacks {unpacked / max(packed, 1):,.0f} times its packed size "
                               f"({unpacked:,} bytes): refused as a zip bomb")
        with _damaged():
            return {key: _data(zf, h) for key, h in headers.items()}


@contextlib.contextmanager
def _damaged() -> Iterator[None]:
    """zipfile and numpy raise many exception types for a damaged archive: each becomes NpzError."""
    try:
        yield
    except NpzError:
        raise
    except Exception as e:  # noqa: BLE001
        reason = " ".join(str(e).split())[:160] or type(e).__name__
        raise NpzError(f"damaged or incomplete ({type(e).__name__}: {reason})") from None


def _headers(zf: zipfile.ZipFile, kind: fileio.Kind, keys: Collection[str] | None,
             max_string: int) -> dict[str, Header]:
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise NpzError(f"it has {len(infos):,} members (at most {MAX_MEMBERS:,})")
    names = [i.filename for i in infos]
    if len(set(names)) != len(names):
        raise NpzError("a member appears twice")
    wanted = [i for i in infos if i.filename.endswith(".npy") and (keys is None or i.filename[:-4] in keys)]
    total = 0
    for info in wanted:
        key = info.filename[:-4]
        if info.flag_bits & 0x1:
            raise NpzError(f"'{key}' is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise NpzError(f"'{key}' uses compression method {info.compress_type}; only stored and deflated "
                           "members are read")
        total += info.file_size
        if info.file_size > kind.unpacked_limit or total > kind.unpacked_limit:
            raise NpzError(f"it unpacks to more than {kind.unpacked_limit >> 20:,} MB, more than {kind.what} "
                           "can be here")
    return {info.filename[:-4]: _header(zf, info, info.filename[:-4], max_string) for info in wanted}
