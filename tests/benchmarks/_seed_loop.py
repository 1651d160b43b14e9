"""Seed 001's input pipeline, kept as the yardstick: torchvision's MNIST Dataset with
ToTensor, batched by a DataLoader (per-sample PIL -> tensor conversion and collation)."""
from __future__ import annotations

import gzip
import shutil
import tempfile
from pathlib import Path


def torchvision_mnist_root(shared: Path) -> Path:
    """torchvision's MNIST wants decompressed files in <root>/MNIST/raw; the shared copy is gz only."""
    root = Path(tempfile.mkdtemp(prefix="seed-mnist-"))
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for gz in (shared / "MNIST" / "raw").glob("*.gz"):
        with gzip.open(gz) as src, open(raw / gz.stem, "wb") as dst:
            shutil.copyfileobj(src, dst)
    return root


def seed_loader(root: Path, batch_size: int, train: bool = True):
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    ds = datasets.MNIST(str(root), train=train, download=False, transform=transforms.ToTensor())
    return DataLoader(ds, batch_size=batch_size, shuffle=train)
