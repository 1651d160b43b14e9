"""File I/O shared by the app and the training engine: every read of a file that a user, another
program or a damaged disk may have put in our way, atomic writes, and exclusive locks.

Reading (``read_bytes``, ``read_unpacked``, ``open_regular``): a path may name a FIFO (reading it
blocks until someone writes), a device (``/dev/zero`` never ends), a socket, a folder, a
dangling symbolic link or a loop of links, a file far larger than its kind can be, or a small
``.gz`` that inflates to gigabytes. Each is refused with one :class:`FileReadError` that names
the file and says why, before anything is allocated. The file is opened with ``O_NONBLOCK``
(a FIFO then opens at once instead of waiting for a writer) and the *opened descriptor* is
``fstat``-ed, so swapping the file for a FIFO between a check and the open cannot fool it.
Each kind of file has its own size cap (:class:`Kind`); the caps are far above what digitpad
writes and far below what would exhaust memory.

Writing: to a temporary file in the same folder, fsync, then rename over the target: a reader
sees the old file or the new one, never half of one, and a full disk leaves the old file intact.

Locks (``exclusive_lock``): a lock file beside what it protects, held with ``flock`` (so the
kernel releases it when the process dies: a stale lock file is free to take) and holding the
owner's process id for messages.
"""
from __future__ import annotations

import contextlib
import errno
import gzip
import os
import stat
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30


@dataclass(frozen=True)
class Kind:
    """A kind of file and the most it may weigh: on disk, and unpacked (``.gz``, zip members)."""

    what: str              # in messages: "an ONNX model"
    max_bytes: int
    max_unpacked: int = 0  # 0: the same as max_bytes

    @property
    def unpacked_limit(self) -> int:
        return self.max_unpacked or self.max_bytes


# Every kind of file digitpad reads, with its cap. Measured sizes for scale: the shipped model
# 0.6 MB, a settings file 2 KB, a 20-epoch run log with its step curve 0.5 MB, one My digits
# sample 3 KB, MNIST's training images 47 MB (9.9 MB gzipped), UNIPEN 1a 6 MB unpacked.
MODEL = Kind("an ONNX model", 1 * GiB)                     # ONNX Runtime's own limit is 2 GiB
SETTINGS = Kind("a settings file", 4 * MiB)
RUN_LOG = Kind("a run log", 256 * MiB)
COLLECTION = Kind("a digit collection", 1 * GiB, max_unpacked=2 * GiB)
CHECKPOINT = Kind("a checkpoint", 2 * GiB)
DATASET = Kind("a data set file", 2 * GiB, max_unpacked=4 * GiB)
TEXT_DATASET = Kind("a data set file", 256 * MiB, max_unpacked=1 * GiB)   # CSV, JSON lines
EXPLORE_CACHE = Kind("an explore cache", 512 * MiB)   # a map of 10,000 test images: ~3 MB


class FileReadError(OSError):
    """A file that cannot be read safely. ``str()`` is one line naming the file and the reason;
    ``strerror`` is the reason alone (for messages that name the file themselves)."""

    def __init__(self, path: str | os.PathLike, reason: str, err: int | None = None):
        super().__init__(*((err, reason) if err else (reason,)))
        self.path = Path(path)
        self.strerror = reason
        self.filename = str(path)

    def __str__(self) -> str:
        return f"cannot read {self.path}: {self.strerror}"

    @property
    def missing(self) -> bool:
        """Nothing at all is there (not even a dangling link): for files that are optional."""
        return self.errno == errno.ENOENT and not os.path.lexists(self.path)


def _file_type(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a plain file"


def _size(n: int) -> str:
    for unit, size in (("GB", GiB), ("MB", MiB), ("KB", KiB)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"


def _open_failure(path: Path, e: OSError) -> str:
    """Why ``os.open`` failed, in words, telling a dangling or looping link from a missing file."""
    if e.errno == errno.ELOOP:
        return "it is a symbolic link that leads back to itself (a loop of links)"
    if e.errno == errno.ENOENT and os.path.islink(path):
        with contextlib.suppress(OSError):
            return f"it is a symbolic link to {os.readlink(path)}, which does not exist"
        return "it is a symbolic link to a file that does not exist"
    if e.errno == errno.ENOENT:
        return "it does not exist"
    if e.errno == errno.ENXIO:
        return "it is a socket or device, not a regular file"
    if e.errno == errno.EISDIR:
        return "it is a folder"
    return e.strerror or type(e).__name__


def open_regular(path: str | os.PathLike, kind: Kind) -> BinaryIO:
    """Open a regular file for reading (following links); FileReadError for anything else, or for
    a file larger than ``kind`` allows. The caller closes it."""
    path = Path(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0) \
        | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as e:
        raise FileReadError(path, _open_failure(path, e), e.errno) from None
    except ValueError as e:   # a NUL byte or an unencodable character in the name
        raise FileReadError(path, f"the name cannot be used ({e})") from None
    try:
        st = os.fstat(fd)   # the descriptor, not the name: what was opened is what is checked
        if not stat.S_ISREG(st.st_mode):
            raise FileReadError(path, f"it is {_file_type(st.st_mode)}, not a regular file")
        if st.st_size > kind.max_bytes:
            raise FileReadError(path, f"it is {_size(st.st_size)}, more than {kind.what} can be here "
                                      f"({_size(kind.max_bytes)})")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _read_capped(f: BinaryIO, limit: int, path: Path, kind: Kind, unpacked: bool) -> bytes:
    """At most ``limit`` bytes, in chunks: a file that grows while read, or a stream that
    inflates without end, stops at the cap instead of filling memory."""
    chunks, total = [], 0
    while True:
        chunk = f.read(min(16 * MiB, limit + 1 - total))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            what = "unpacks to" if unpacked else "is"
            raise FileReadError(path, f"it {what} more than {_size(limit)}, more than {kind.what} can be here")


def read_bytes(path: str | os.PathLike, kind: Kind) -> bytes:
    """The whole of a regular file, checked as :func:`open_regular` does."""
    path = Path(path)
    with open_regular(path, kind) as f:
        try:
            return _read_capped(f, kind.max_bytes, path, kind, unpacked=False)
        except FileReadError:
            raise
        except OSError as e:
            raise FileReadError(path, e.strerror or str(e)) from None


def read_unpacked(path: str | os.PathLike, kind: Kind) -> bytes:
    """A file's content, gunzipped when its name ends in ``.gz`` (at most ``kind.unpacked_limit``
    bytes); a damaged gzip stream is a FileReadError naming the file, never a ``zlib.error``."""
    path = Path(path)
    if path.suffix != ".gz":
        return read_bytes(path, kind)
    with open_regular(path, kind) as raw:
        try:
            with gzip.GzipFile(fileobj=raw, mode="rb") as f:
                return _read_capped(f, kind.unpacked_limit, path, kind, unpacked=True)
        except FileReadError:
            raise
        except (OSError, EOFError, zlib.error) as e:   # BadGzipFile is an OSError
            reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e) or type(e).__name__
            raise FileReadError(path, f"it is damaged or not gzip data ({reason})") from None


def resolved(path: str | os.PathLike) -> Path:
    """``path`` with its links resolved, or made absolute when they cannot be (a loop of links,
    a link into a folder that is gone): for comparing paths, never a reason to fail."""
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError, ValueError):   # RuntimeError: "Symlink loop" (Python < 3.13)
        return Path(os.path.abspath(path))


# -- writing ------------------------------------------------------------------------------------
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


# -- locks --------------------------------------------------------------------------------------
class LockHeld(OSError):
    """Another process holds the lock; ``owner`` is its process id when it said so."""

    def __init__(self, path: Path, owner: int | None):
        super().__init__(errno.EWOULDBLOCK, f"{path} is locked by " + (f"process {owner}" if owner else
                                                                         "another process"))
        self.path, self.owner = path, owner


def _try_lock(fd: int) -> bool:
    try:
        import fcntl
    except ImportError:   # Windows
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _owner(fd: int) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        os.lseek(fd, 0, os.SEEK_SET)
        return int(os.read(fd, 32).decode("ascii").strip() or 0) or None
    return None


@contextlib.contextmanager
def exclusive_lock(path: str | os.PathLike, timeout: float = 0.0) -> Iterator[Path]:
    """Hold the lock file ``path`` (created if needed) until the block ends; it is removed then.
    ``timeout`` 0 fails at once with :class:`LockHeld` when another process holds it, else it
    waits up to that many seconds. A lock left by a process that died is free: the kernel
    dropped its hold. OSError when the lock file cannot be created (a read-only folder)."""
    path = Path(path)
    deadline = time.monotonic() + timeout
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        if _try_lock(fd):
            # The holder before us may have removed the file between our open and our lock: then
            # we hold a lock on a name that no longer exists, and must take the new one instead.
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(path))
            except OSError:
                same = False
            if same:
                break
            os.close(fd)
            continue
        owner = _owner(fd)
        os.close(fd)
        if time.monotonic() >= deadline:
            raise LockHeld(path, owner)
        time.sleep(0.02)
    try:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode("ascii"))
        yield path
    finally:
        with contextlib.suppress(OSError):
            path.unlink()   # before unlocking: the next holder then makes a fresh file
        os.close(fd)
