"""MNIST-style data: IDX files read straight into uint8 tensors.

Why not torchvision's Dataset + DataLoader: per-sample PIL conversion and collation cost
more than a small CNN's forward pass on a CPU. A whole split is 47 MB of uint8, so it
lives on the training device and batches are plain index selections.
"""
from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import TrainError

# Our dataset names -> torchvision's class and folder names.
DATASETS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}
_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_IMAGES_MAGIC, _LABELS_MAGIC = 2051, 2049


@dataclass
class Split:
    images: np.ndarray  # uint8 [N, 28, 28], white ink on black
    labels: np.ndarray  # int64 [N]

    def __len__(self) -> int:
        return len(self.labels)


def default_data_dir() -> Path:
    import platformdirs

    return Path(os.environ.get("DIGITPAD_DATA_DIR") or platformdirs.user_data_dir("digitpad")) / "datasets"


def _find(data_dir: Path, folder: str, stem: str) -> Path:
    """Accept torchvision's ``<root>/<Name>/raw/`` layout, ``<root>/<Name>/`` and a flat folder."""
    for base in (data_dir / folder / "raw", data_dir / folder, data_dir):
        for name in (stem, stem + ".gz"):
            if (base / name).is_file():
                return base / name
    raise TrainError(
        f"{stem}[.gz] not found in {data_dir} (looked in {folder}/raw/, {folder}/ and the folder itself)"
    )


def _read_bytes(path: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise TrainError(f"cannot read {path}: {e}") from None


def read_idx(path: Path, expect_magic: int) -> np.ndarray:
    """Parse one IDX file, checking magic, dimensions and size so a damaged file fails loudly."""
    raw = _read_bytes(path)
    if len(raw) < 8:
        raise TrainError(f"{path}: not an IDX file (only {len(raw)} bytes)")
    magic = int.from_bytes(raw[:4], "big")
    if magic != expect_magic:
        kind = "images" if expect_magic == _IMAGES_MAGIC else "labels"
        raise TrainError(f"{path}: wrong magic number {magic} for an IDX {kind} file (expected {expect_magic})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    expected = header + int(np.prod(dims))
    if len(raw) != expected:
        what = "truncated" if len(raw) < expected else "has trailing bytes"
        raise TrainError(f"{path}: file {what}: {len(raw)} bytes, header says {expected}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def load_split(data_dir: Path, dataset: str, split: str) -> Split:
    folder = DATASETS[dataset]
    img_name, lbl_name = _FILES[split]
    images = read_idx(_find(data_dir, folder, img_name), _IMAGES_MAGIC)
    labels = read_idx(_find(data_dir, folder, lbl_name), _LABELS_MAGIC)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise TrainError(f"{dataset} {split} images have shape {images.shape}, expected [N, 28, 28]")
    if labels.ndim != 1 or len(labels) != len(images):
        raise TrainError(
            f"{dataset} {split}: {len(images)} images but {len(labels)} labels (count mismatch)"
        )
    if labels.size and labels.max() > 9:
        raise TrainError(f"{dataset} {split}: label {int(labels.max())} out of range 0..9")
    return Split(images, labels.astype(np.int64))


def load_extra(path: str | os.PathLike) -> Split:
    """An .npz of extra labelled digits (the user's collection, synthetic styles), in the app's
    digit collection format: ``images`` uint8 [N, 28, 28] white-on-black, ``labels`` 0..9.
    The collection module is the one reader and validator of that format."""
    from digitpad.handwriting.collection import CollectionError, load

    try:
        arrays = load(path)
    except CollectionError as e:
        raise TrainError(f"--extra {e}") from None
    return Split(arrays.images, arrays.labels.astype(np.int64))


def _synthetic_cache_key(n: int, seed: int, restroke: int) -> str:
    """Changes whenever the drawing code does, so a stale cache is never reused (and only
    then: editing the fine-tuning or view code must not cost a five-minute redraw)."""
    import hashlib

    import digitpad.handwriting as hw
    import digitpad.preprocess as pre

    h = hashlib.sha256(f"{n}-{seed}-{restroke}".encode())
    drawing = [Path(hw.__file__).parent / f"{name}.py" for name in ("strokes", "skeleton", "raster", "synth")]
    for src in drawing + [Path(pre.__file__)]:
        h.update(src.read_bytes())
    return h.hexdigest()[:16]


def synthetic(n: int, seed: int, restroke: int = 0, data_dir: str | os.PathLike | None = None) -> Split:
    """Digits drawn from the app's stroke templates (European 1s and 7s, one-stroke and open 4s,
    ...) plus ``restroke`` MNIST *training* digits redrawn along their skeletons, all with a
    round pen and preprocessed exactly as the canvas is. Only the templates' training variants
    and seeds are reachable here; the drawn-digit benchmark uses the others.

    Drawing 30,000 digits takes minutes, so the result is cached in the user's data folder."""
    import io

    from digitpad.fileio import atomic_write_bytes
    from digitpad.handwriting import collection, synth

    cache = default_data_dir().parent / "cache" / f"synthetic-{_synthetic_cache_key(n, seed, restroke)}.npz"
    if cache.is_file():
        try:
            with np.load(cache, allow_pickle=False) as z:
                return Split(z["images"], z["labels"].astype(np.int64))
        except Exception:  # a damaged cache is only a cache: draw again
            pass
    samples = synth.generate(n, seed=seed, mnist_train=restroke, data_dir=data_dir or default_data_dir(),
                             workers=min(2, os.cpu_count() or 1))
    arrays = collection.pack(samples)
    split = Split(arrays["images"], arrays["labels"].astype(np.int64))
    buf = io.BytesIO()
    np.savez(buf, images=split.images, labels=split.labels)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(cache, buf.getvalue())
    except OSError:
        pass  # no cache on a full or read-only disk; training goes on
    return split


def concat(*splits: Split) -> Split:
    return Split(np.concatenate([s.images for s in splits]), np.concatenate([s.labels for s in splits]))


def download(dataset: str, root: Path) -> None:
    """torchvision's downloader; only used when no --data-dir is given (users have internet)."""
    import torchvision

    cls = getattr(torchvision.datasets, DATASETS[dataset])
    root.mkdir(parents=True, exist_ok=True)
    try:
        for train in (True, False):
            cls(str(root), train=train, download=True)
    except Exception as e:  # network errors come in many types
        # torchvision's message spans several lines (one per mirror): keep the error one line.
        reason = " ".join(str(e).split())
        reason = reason if len(reason) < 160 else reason[:157] + "..."
        raise TrainError(
            f"could not download {dataset} into {root} ({reason}); pass --data-dir with local IDX files"
        ) from None


def load(dataset: str, data_dir: str | os.PathLike | None) -> tuple[Split, Split]:
    """Train and test splits. Without ``data_dir`` download into the user's data folder first."""
    if dataset not in DATASETS:
        raise TrainError(f"unknown dataset {dataset!r}; choose from {', '.join(DATASETS)}")
    if data_dir is None:
        root = default_data_dir()
        try:
            return load_split(root, dataset, "train"), load_split(root, dataset, "test")
        except TrainError:
            download(dataset, root)
        data_dir = root
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise TrainError(f"data folder {data_dir} does not exist")
    return load_split(data_dir, dataset, "train"), load_split(data_dir, dataset, "test")
