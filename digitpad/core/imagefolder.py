"""A labelled folder of pictures as a data set: CIFAR-10's JPEG copy, or a user's own images.

Layout: ``<root>/train/<class>/*`` and ``<root>/test/<class>/*`` (PNG, JPEG, BMP, WebP, GIF,
TIFF). A folder with only ``<root>/<class>/*`` is split here, once and for all: every tenth
picture of a class, by a hash of its file name, is a test picture. Class names are the folder
names (sorted), or the given names for a data set that fixes them (CIFAR-10).

Every picture is decoded once (``picture.read_picture``: EXIF rotation, alpha, palette, 16-bit),
centre-cropped to a square, resized to ``side`` and kept as uint8 ``[N, 3, side, side]``.
Decoding 60,000 files takes seconds, so the result is cached in the user's data folder
(``paths.cache_dir()``) under a key of every file's path, size and modification time: a
later run lists and checks the folder (a fraction of a second) and loads the cache. A file that
is not a picture is skipped and counted, never the reason a data set fails.
"""
from __future__ import annotations

import hashlib
import io
import os
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import paths, picture
from .fileio import atomic_write_bytes

SPLITS = ("train", "test")
TEST_EVERY = 10        # the held-out share of a folder that has no test/ of its own
MAX_FILES = 2_000_000
CHUNK = 500            # pictures per decoding job (and per progress report)
CACHE_VERSION = 1      # changes when what the cache holds (or how pictures are decoded) changes


class ImageFolderError(ValueError):
    """A folder that is not a usable labelled image set; the message is for the user."""


@dataclass
class ImageSet:
    """The decoded pictures of one split."""

    images: np.ndarray                    # uint8 [N, 3, side, side], RGB
    labels: np.ndarray                    # int64 [N]
    classes: list[str]
    skipped: list[str] = field(default_factory=list)   # "name (why)" of files that are not pictures


def _is_picture(name: str) -> bool:
    return not name.startswith(".") and name.lower().endswith(picture.SUFFIXES)


def _class_folders(folder: Path) -> list[Path]:
    try:
        return sorted((p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")),
                      key=lambda p: p.name)
    except OSError as e:
        raise ImageFolderError(f"cannot list {folder}: {e.strerror or e}") from None


def _pictures(folder: Path) -> list[Path]:
    try:
        return sorted((p for p in folder.iterdir() if _is_picture(p.name)), key=lambda p: p.name)
    except OSError as e:
        raise ImageFolderError(f"cannot list {folder}: {e.strerror or e}") from None


def is_image_folder(root: str | os.PathLike) -> bool:
    """Whether the folder looks like a labelled image set (without decoding anything)."""
    root = Path(root)
    try:
        base = root / "train" if (root / "train").is_dir() else root
        return any(any(_is_picture(f.name) for f in c.iterdir()) for c in _class_folders(base))
    except (OSError, ImageFolderError):
        return False


def has_split(root: str | os.PathLike, split: str) -> bool:
    """Whether the folder holds this split: its own train/ or test/, or class folders to split."""
    root = Path(root)
    return (root / split).is_dir() or ((not (root / "train").is_dir()) and is_image_folder(root))


def _name_hash(path: Path) -> int:
    return zlib.crc32(path.name.encode("utf-8", "surrogateescape"))


def _held_out(pictures: list[Path]) -> set[Path]:
    """A class folder's test pictures, when the folder has no test/ of its own: those whose name
    hashes to 0 mod TEST_EVERY (about one in ten, stable as pictures come and go), and at least one
    of a class with two or more (the smallest hash), so that every class is tested."""
    held = {p for p in pictures if _name_hash(p) % TEST_EVERY == 0}
    if not held and len(pictures) >= 2:
        held = {min(pictures, key=_name_hash)}
    return held


def listing(root: str | os.PathLike, split: str, classes: list[str] | None = None
            ) -> tuple[list[tuple[Path, int]], list[str]]:
    """The split's files with their labels, and the class names. ``classes``: the names the data set
    must have (CIFAR-10's), in label order; else the folder names, sorted."""
    root = Path(root)
    if split not in SPLITS:
        raise ImageFolderError(f"unknown split {split!r}")
    own_split = (root / "train").is_dir() or (root / "test").is_dir()
    base = root / split if own_split else root
    if own_split and not base.is_dir():
        raise ImageFolderError(f"{root} has no {split}/ folder")
    # The class names come from train/ so that train and test agree on the labels.
    names_from = root / "train" if own_split and (root / "train").is_dir() else base
    found = [p.name for p in _class_folders(names_from)]
    names = list(classes) if classes is not None else found
    if classes is not None and sorted(found) != sorted(classes):
        raise ImageFolderError(f"{names_from} must hold the folders {', '.join(classes)} (it holds "
                               f"{', '.join(found[:12]) or 'none'})")
    if not 2 <= len(names) <= 100:
        raise ImageFolderError(f"{names_from} holds {len(names)} class folders; a labelled image set has 2 to 100")
    files: list[tuple[Path, int]] = []
    for label, name in enumerate(names):
        folder = base / name
        if not folder.is_dir():
            continue          # a test split without this class
        pictures = _pictures(folder)
        held = set() if own_split else _held_out(pictures)
        for path in pictures:
            if own_split or (path in held) == (split == "test"):
                files.append((path, label))
        if len(files) > MAX_FILES:
            raise ImageFolderError(f"{root} holds more than {MAX_FILES:,} pictures")
    if not files:
        raise ImageFolderError(f"{base} holds no pictures ({', '.join(picture.SUFFIXES)}) in its class folders")
    return files, names


def _cache_key(files: list[tuple[Path, int]], names: list[str], side: int) -> str:
    h = hashlib.sha256(f"{CACHE_VERSION}|{side}|{'|'.join(names)}".encode())
    for path, label in files:
        try:
            st = path.stat()
            h.update(f"{path}|{label}|{st.st_size}|{st.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
        except OSError:
            h.update(f"{path}|{label}|gone\n".encode("utf-8", "surrogateescape"))
    return h.hexdigest()[:20]


def _decode(files: list[tuple[Path, int]], side: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    images = np.zeros((len(files), side, side, 3), np.uint8)
    keep = np.zeros(len(files), bool)
    skipped = []
    for i, (path, _label) in enumerate(files):
        try:
            images[i] = picture.photo_pixels(picture.read_picture(path), side)
            keep[i] = True
        except picture.PictureError as e:
            skipped.append(f"{path.name} ({e})")
    labels = np.array([label for _path, label in files], np.int64)
    return images[keep].transpose(0, 3, 1, 2), labels[keep], skipped


def load(root: str | os.PathLike, split: str, *, side: int = 32, classes: list[str] | None = None,
         progress: Callable[[int, int], None] | None = None, cache: bool = True) -> ImageSet:
    """One split of an image folder, decoded (or read from the cache). ``progress(done, total)`` is
    called while decoding, from the calling thread."""
    files, names = listing(root, split, classes)
    cache_file = paths.cache_dir() / f"images-{_cache_key(files, names, side)}.npz"
    if cache:
        cached = _read_cache(cache_file, names)
        if cached is not None:
            return cached
    chunks = [files[i:i + CHUNK] for i in range(0, len(files), CHUNK)]
    parts, done = [], 0
    # Pillow releases the GIL while it decodes: two threads use two cores, in the app's process too.
    with ThreadPoolExecutor(max(1, min(2, os.cpu_count() or 1))) as pool:
        for part in pool.map(lambda chunk: _decode(chunk, side), chunks):
            parts.append(part)
            done += len(part[1]) + len(part[2])
            if progress is not None:
                progress(done, len(files))
    images = np.concatenate([p[0] for p in parts]) if parts else np.zeros((0, 3, side, side), np.uint8)
    labels = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.int64)
    skipped = [s for p in parts for s in p[2]]
    if not len(labels):
        raise ImageFolderError(f"none of the {len(files):,} files in {Path(root) / split} could be read as a "
                               f"picture ({skipped[0] if skipped else 'no pictures'})")
    result = ImageSet(np.ascontiguousarray(images), labels, names, skipped)
    if cache:
        _write_cache(cache_file, result)
    return result


def _read_cache(path: Path, names: list[str]) -> ImageSet | None:
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            images, labels = z["images"], z["labels"].astype(np.int64)
            classes, skipped = [str(c) for c in z["classes"]], [str(s) for s in z["skipped"]]
    except Exception:  # noqa: BLE001  a damaged cache is only a cache: decode again
        return None
    ok = (images.dtype == np.uint8 and images.ndim == 4 and images.shape[1] == 3 and len(images) == len(labels)
          and classes == names and (not len(labels) or 0 <= labels.min() <= labels.max() < len(names)))
    return ImageSet(images, labels, classes, skipped) if ok else None


def _write_cache(path: Path, result: ImageSet) -> None:
    buf = io.BytesIO()
    # Not compressed: loading 180 MB of pixels must take a fraction of a second.
    np.savez(buf, images=result.images, labels=result.labels, classes=np.array(result.classes, dtype=str),
             skipped=np.array(result.skipped, dtype=str) if result.skipped else np.zeros(0, dtype="<U1"))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, buf.getvalue())
    except OSError:
        pass  # no cache on a full or read-only disk: the next run decodes again
