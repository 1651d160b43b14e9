"""The engine's data: the core's IDX reader, torchvision's download, extra and synthetic digits.

Why not torchvision's Dataset + DataLoader: per-sample PIL conversion and collation cost
more than a small CNN's forward pass on a CPU. A whole split is 47 MB of uint8, so it
lives on the training device and batches are plain index selections.
"""
from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import numpy as np

from digitpad.core import optdigits, paths
from digitpad.core.datasets import DATASETS, DOWNLOADABLE, DatasetError, Split, concat, load_split
from digitpad.core.fileio import atomic_write_bytes
from digitpad.core.handwriting import collection, synth

from .errors import TrainError

__all__ = ["DATASETS", "Split", "concat", "download", "load", "load_extra", "synthetic"]


def load_extra(path: str | os.PathLike) -> Split:
    """An .npz of extra labelled digits (the user's collection, synthetic styles), in the app's
    digit collection format: ``images`` uint8 [N, 28, 28] white-on-black, ``labels`` 0..9.
    The collection module is the one reader and validator of that format."""
    try:
        arrays = collection.load(path)
    except collection.CollectionError as e:
        raise TrainError(f"--extra {e}") from None
    return Split(arrays.images, arrays.labels.astype(np.int64))


def _synthetic_cache_key(n: int, seed: int, restroke: int) -> str:
    """Changes whenever the drawing code does, so a stale cache is never reused (and only
    then: editing the fine-tuning or view code must not cost a five-minute redraw)."""
    from digitpad.core import preprocess

    h = hashlib.sha256(f"{n}-{seed}-{restroke}".encode())
    drawing = [Path(synth.__file__).parent / f"{name}.py" for name in ("strokes", "skeleton", "raster", "synth")]
    for src in drawing + [Path(preprocess.__file__)]:
        h.update(src.read_bytes())
    return h.hexdigest()[:16]


def synthetic(n: int, seed: int, restroke: int = 0, data_dir: str | os.PathLike | None = None) -> Split:
    """Digits drawn from the app's stroke templates (European 1s and 7s, one-stroke and open 4s,
    ...) plus ``restroke`` MNIST *training* digits redrawn along their skeletons, all with a
    round pen and preprocessed exactly as the canvas is. Only the templates' training variants
    and seeds are reachable here; the drawn-digit benchmark uses the others.

    Drawing 30,000 digits takes minutes, so the result is cached in the user's data folder."""
    cache = paths.cache_dir() / f"synthetic-{_synthetic_cache_key(n, seed, restroke)}.npz"
    if cache.is_file():
        try:
            with np.load(cache, allow_pickle=False) as z:
                return Split(z["images"], z["labels"].astype(np.int64))
        except Exception:  # a damaged cache is only a cache: draw again
            pass
    try:
        samples = synth.generate(n, seed=seed, mnist_train=restroke, data_dir=data_dir or paths.datasets_dir(),
                                 workers=min(2, os.cpu_count() or 1))
    except DatasetError as e:
        raise TrainError(str(e)) from None
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


def download(dataset: str, root: Path) -> None:
    """torchvision's downloader; only used when no --data-dir is given (users have internet)."""
    if dataset not in DOWNLOADABLE:
        raise TrainError(f"{dataset} is not downloaded by digitpad-train: pass --data-dir with a folder that holds "
                         f"{dataset}/ ({', '.join(optdigits.SPLIT_FILES.values())}, the UCI files)")
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
        root = paths.datasets_dir()
        try:
            return load_split(root, dataset, "train"), load_split(root, dataset, "test")
        except DatasetError:
            download(dataset, root)
        data_dir = root
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise TrainError(f"data folder {data_dir} does not exist")
    try:
        return load_split(data_dir, dataset, "train"), load_split(data_dir, dataset, "test")
    except DatasetError as e:
        raise TrainError(str(e)) from None
