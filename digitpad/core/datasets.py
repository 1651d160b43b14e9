"""Datasets on disk: MNIST-style IDX files read straight into numpy arrays, the UCI 8x8 digits
(``optdigits``, CSV; read by :mod:`digitpad.core.optdigits`), CIFAR-10 (torchvision's
``cifar-10-batches-py``, :mod:`digitpad.core.cifar`, or an image folder) and a folder of the
user's own labelled pictures (:mod:`digitpad.core.imagefolder`).

Both processes read data through here: the engine to train, the app to evaluate and to
re-stroke MNIST digits. numpy only; a damaged file fails with one clear ``DatasetError``.

Accepted layouts for a data folder: torchvision's ``<root>/<Name>/raw/``, ``<root>/<Name>/``
and the files directly in the folder, each file raw or gzipped; for optdigits
``<root>/optdigits/`` or the folder itself; for CIFAR-10 ``<root>/cifar-10-batches-py/`` (the
original, preferred when both are there) or the image folder ``<root>/cifar10/{train,test}/<class>/``;
for ``folder`` the folder itself (``train/<class>/``, ``test/<class>/``, or only ``<class>/``).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import cifar, fileio, imagefolder, optdigits
from .contract import CIFAR10_CLASSES

# Our dataset names -> torchvision's class and folder names.
DATASETS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST", "optdigits": optdigits.NAME, "cifar10": "CIFAR10",
            "folder": "ImageFolder"}
DATASET_TITLES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST", "optdigits": "UCI 8x8 digits",
                  "cifar10": "CIFAR-10", "folder": "image folder"}
DOWNLOADABLE = ("mnist", "fashion-mnist", "cifar10")   # torchvision can fetch these; optdigits comes as files
# The pixel value of full ink in each dataset's uint8 images (optdigits counts 16 pixels per block).
FULL_SCALE = {"mnist": 255, "fashion-mnist": 255, "optdigits": optdigits.FULL_SCALE, "cifar10": 255, "folder": 255}
CIFAR10_FOLDER = "cifar10"      # the image-folder copy's name inside a data folder
# What a data folder must hold for a data set's test split (the layouts below), said to a user
# when it is not there.
SPLIT_LAYOUTS = {
    "mnist": "MNIST/raw/t10k-images-idx3-ubyte[.gz] and its labels",
    "fashion-mnist": "FashionMNIST/raw/t10k-images-idx3-ubyte[.gz] and its labels",
    "optdigits": "optdigits/optdigits.tes",
    "cifar10": "cifar-10-batches-py/ or cifar10/test/<class>/",
    "folder": "test/<class>/ folders of pictures, or <class>/ folders",
}
SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049


class DatasetError(Exception):
    """A data folder or file that cannot be used; the message is for the user."""


@dataclass
class Split:
    images: np.ndarray  # uint8 [N, 28, 28] (optdigits: [N, 8, 8]), white ink on black; colour: [N, 3, S, S] RGB
    labels: np.ndarray  # int64 [N]
    full_scale: int = 255  # the value of full ink: images / full_scale is the canonical image (0..1)
    classes: list[str] | None = None   # the class names, when the data names them (CIFAR-10, a folder of images)
    skipped: list[str] = field(default_factory=list)   # files passed over as not pictures: "name (why)"

    def __len__(self) -> int:
        return len(self.labels)


def find_file(data_dir: Path, dataset: str, stem: str) -> Path:
    folder = DATASETS[dataset]
    for base in (data_dir / folder / "raw", data_dir / folder, data_dir):
        for name in (stem, stem + ".gz"):
            if (base / name).is_file():
                return base / name
    raise DatasetError(
        f"{stem}[.gz] not found in {data_dir} (looked in {folder}/raw/, {folder}/ and the folder itself)"
    )


def has_split(data_dir: str | Path | None, dataset: str, split: str) -> bool:
    """Whether the folder holds the files of this split (without reading them)."""
    if not data_dir or dataset not in DATASETS:
        return False
    if dataset == optdigits.NAME:
        try:
            optdigits.find_file(data_dir, split)
        except (optdigits.OptdigitsError, OSError):
            return False
        return True
    if dataset == "cifar10":
        return cifar.find_folder(data_dir) is not None or cifar_image_folder(Path(data_dir)) is not None
    if dataset == "folder":
        return imagefolder.has_split(data_dir, split)
    try:
        for stem in SPLIT_FILES[split]:
            find_file(Path(data_dir), dataset, stem)
    except (DatasetError, OSError):
        return False
    return True


def first_folder_with(dataset: str, split: str, candidates) -> Path | None:
    """The first candidate folder that holds the split's files."""
    return next((Path(c) for c in candidates if has_split(c, dataset, split)), None)


def _read_bytes(path: Path) -> bytes:
    """The file's content (gunzipped for ``.gz``), through ``fileio``: a FIFO, a device, an
    oversized file or a damaged gzip stream is one DatasetError naming the file."""
    try:
        return fileio.read_unpacked(path, fileio.DATASET)
    except fileio.FileReadError as e:
        raise DatasetError(str(e)) from None


def read_idx(path: Path, expect_magic: int) -> np.ndarray:
    """Parse one IDX file, checking magic, dimensions and size so a damaged file fails loudly."""
    raw = _read_bytes(path)
    if len(raw) < 8:
        raise DatasetError(f"{path}: not an IDX file (only {len(raw)} bytes)")
    magic = int.from_bytes(raw[:4], "big")
    if magic != expect_magic:
        kind = "images" if expect_magic == IMAGES_MAGIC else "labels"
        raise DatasetError(f"{path}: wrong magic number {magic} for an IDX {kind} file (expected {expect_magic})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DatasetError(f"{path}: file truncated: {len(raw)} bytes, its header alone needs {header}")
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    expected = header + math.prod(dims)   # Python ints: a product of four 32-bit sizes cannot wrap around
    if len(raw) != expected:
        what = "truncated" if len(raw) < expected else "has trailing bytes"
        raise DatasetError(f"{path}: file {what}: {len(raw):,} bytes, header says {expected:,}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def cifar_image_folder(data_dir: Path) -> Path | None:
    """The CIFAR-10 image folder in (or at) a data folder: ``cifar10/train/airplane/...``."""
    for root in (data_dir / CIFAR10_FOLDER, data_dir):
        if (root / "test" / CIFAR10_CLASSES[0]).is_dir() or (root / "train" / CIFAR10_CLASSES[0]).is_dir():
            return root
    return None


def _pictures(data_dir: Path, dataset: str, split: str, progress) -> Split:
    """CIFAR-10 (the original batches when the folder has them, else its image folder) or a folder of
    labelled pictures: uint8 [N, 3, 32, 32]."""
    try:
        if dataset == "cifar10":
            batches = cifar.find_folder(data_dir)
            if batches is not None:
                images, labels = cifar.load(batches, split)
                return Split(images, labels, 255, list(CIFAR10_CLASSES))
            root = cifar_image_folder(data_dir)
            if root is None:
                raise DatasetError(f"CIFAR-10 not found in {data_dir} (looked for {cifar.FOLDER}/ and "
                                   f"{CIFAR10_FOLDER}/train|test/<class>/)")
            found = imagefolder.load(root, split, classes=list(CIFAR10_CLASSES), progress=progress)
        else:
            found = imagefolder.load(data_dir, split, progress=progress)
    except (cifar.CifarError, imagefolder.ImageFolderError) as e:
        raise DatasetError(str(e)) from None
    return Split(found.images, found.labels, 255, found.classes, found.skipped)


def load_split(data_dir: str | Path, dataset: str, split: str,
               progress: Callable[[int, int], None] | None = None) -> Split:
    """A split of a data set. ``progress(done, total)``: while pictures are decoded (the first time)."""
    if dataset not in DATASETS:
        raise DatasetError(f"unknown dataset {dataset!r}; choose from {', '.join(DATASETS)}")
    data_dir = Path(data_dir)
    if dataset in ("cifar10", "folder"):
        return _pictures(data_dir, dataset, split, progress)
    if dataset == optdigits.NAME:
        try:
            images, labels = optdigits.load(data_dir, split)
        except optdigits.OptdigitsError as e:
            raise DatasetError(str(e)) from None
        return Split(images, labels, optdigits.FULL_SCALE)
    img_name, lbl_name = SPLIT_FILES[split]
    img_path = find_file(data_dir, dataset, img_name)
    images = read_idx(img_path, IMAGES_MAGIC)
    if not len(images):   # an accuracy over no images is "nan %"
        raise DatasetError(f"{img_path}: the {'training' if split == 'train' else 'test'} set has 0 images")
    labels = read_idx(find_file(data_dir, dataset, lbl_name), LABELS_MAGIC)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DatasetError(f"{dataset} {split} images have shape {images.shape}, expected [N, 28, 28]")
    if labels.ndim != 1 or len(labels) != len(images):
        raise DatasetError(f"{dataset} {split}: {len(images)} images but {len(labels)} labels (count mismatch)")
    if labels.size and labels.max() > 9:
        raise DatasetError(f"{dataset} {split}: label {int(labels.max())} out of range 0..9")
    return Split(images, labels.astype(np.int64))


def concat(*splits: Split) -> Split:
    shapes = {s.images.shape[1:] for s in splits}
    scales = {s.full_scale for s in splits}
    if len(shapes) > 1 or len(scales) > 1:
        sizes = " and ".join(f"{'x'.join(map(str, shape))}" for shape in sorted(shapes))
        raise DatasetError(f"cannot mix digits of different kinds ({sizes} images, full ink at "
                           f"{' and '.join(map(str, sorted(scales)))})")
    return Split(np.concatenate([s.images for s in splits]), np.concatenate([s.labels for s in splits]),
                 splits[0].full_scale, splits[0].classes)
