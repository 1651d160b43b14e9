"""Small colour data sets written by tests: a ``cifar-10-batches-py`` folder as torchvision
downloads it (pickle protocol 2 dicts of uint8 arrays and label lists), a labelled folder of
pictures (PNG and JPEG, with a damaged file), and a batch that runs code when unpickled."""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from digitpad.core.contract import CIFAR10_CLASSES


def class_images(labels: np.ndarray, seed: int, side: int = 32) -> np.ndarray:
    """uint8 [N, 3, side, side]: noise around one colour per class, so a net can tell classes apart."""
    rng = np.random.default_rng(seed)
    palette = rng.integers(30, 226, (max(int(labels.max()) + 1, 1), 3))
    base = palette[labels][:, :, None, None]
    return np.clip(base + rng.normal(0, 25, (len(labels), 3, side, side)), 0, 255).astype(np.uint8)


def _batch(labels: np.ndarray, seed: int, name: str) -> dict:
    images = class_images(labels, seed)
    return {"batch_label": name, "labels": [int(v) for v in labels], "data": images.reshape(len(labels), -1),
            "filenames": [f"img_{seed}_{i}.png" for i in range(len(labels))]}


def write_cifar_batches(root: Path, per_batch: int = 20, n_test: int = 30, seed: int = 0) -> Path:
    """``root/cifar-10-batches-py`` with data_batch_1..5 (``per_batch`` images each) and test_batch,
    written with pickle protocol 2 like the original. Returns ``root``."""
    folder = Path(root) / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(1, 6):
        labels = rng.integers(0, 10, per_batch)
        (folder / f"data_batch_{i}").write_bytes(pickle.dumps(_batch(labels, seed + i, f"training batch {i} of 5"),
                                                              protocol=2))
    labels = rng.integers(0, 10, n_test)
    (folder / "test_batch").write_bytes(pickle.dumps(_batch(labels, seed + 9, "testing batch 1 of 1"), protocol=2))
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": CIFAR10_CLASSES}, protocol=2))
    return Path(root)


class _RunsCode:
    """What a hostile batch holds: unpickling it calls os.system (touching ``marker``)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        import os

        return os.system, (f"touch {self.marker}",)


def write_code_running_batch(root: Path, marker: Path) -> Path:
    """A ``cifar-10-batches-py`` whose test batch runs ``touch marker`` if unpickled. Returns ``root``."""
    write_cifar_batches(root, per_batch=4, n_test=4)
    batch = _batch(np.arange(4) % 10, 1, "testing batch 1 of 1")
    batch["filenames"] = _RunsCode(marker)
    (Path(root) / "cifar-10-batches-py" / "test_batch").write_bytes(pickle.dumps(batch, protocol=2))
    return Path(root)


def write_picture_folder(root: Path, classes=("cat", "dog", "fox"), n_train: int = 10, n_test: int = 4,
                         damaged: bool = True, sides=(40, 32)) -> Path:
    """``root/train/<class>/*`` and ``root/test/<class>/*``: PNG and JPEG pictures of other sizes
    than 32x32 (the reader crops and resizes), and, with ``damaged``, a .jpg that is not a picture."""
    from PIL import Image

    root = Path(root)
    for split, n in (("train", n_train), ("test", n_test)):
        labels = np.repeat(np.arange(len(classes)), n)
        images = class_images(labels, seed=len(split), side=max(sides))
        for i, (label, image) in enumerate(zip(labels, images)):
            folder = root / split / classes[label]
            folder.mkdir(parents=True, exist_ok=True)
            side = sides[i % len(sides)]
            pic = Image.fromarray(image.transpose(1, 2, 0)).resize((side, side + 8 * (i % 2)))
            pic.save(folder / f"{i:03d}.{'png' if i % 2 else 'jpg'}")
    if damaged:
        (root / "train" / classes[0] / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a JPEG")
    return root
