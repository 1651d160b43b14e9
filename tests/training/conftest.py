"""Small real data and a finished tiny run (model, checkpoint, run log) that tests copy and damage."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

# seed001 on 600 real digits, 2 epochs, with a weight EMA: about 3 s.
TINY = ["--arch", "seed001", "--limit", "600", "--epochs", "2", "--batch-size", "32", "--threads", "1",
        "--ema", "0.9", "--lr", "3e-3"]


def write_idx(path: Path, arr: np.ndarray, magic: int) -> None:
    path.write_bytes(magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
                     + arr.astype(np.uint8).tobytes())


def write_mnist(folder: Path, train, test) -> Path:
    """An MNIST folder (flat IDX layout) holding the given (images, labels) splits."""
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, (images, labels) in (("train", train), ("t10k", test)):
        write_idx(folder / f"{prefix}-images-idx3-ubyte", images, 2051)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", labels, 2049)
    return folder


@pytest.fixture(scope="session")
def small_mnist(tmp_path_factory, mnist_dir) -> Path:
    """The first 2,000 real MNIST training and 500 test digits: evaluation and export parity in
    milliseconds, for tests about files and failures rather than accuracy."""
    from training.data import load

    train, test = load("mnist", mnist_dir)
    return write_mnist(tmp_path_factory.mktemp("small-mnist"), (train.images[:2000], train.labels[:2000]),
                       (test.images[:500], test.labels[:500]))


@pytest.fixture(scope="session")
def _tiny_run_master(tmp_path_factory, small_mnist) -> Path:
    from training.cli import main

    out = tmp_path_factory.mktemp("tiny-run") / "m.onnx"
    assert main([*TINY, "--data-dir", str(small_mnist), "--out", str(out), "--progress", "none"]) == 0
    return out


@pytest.fixture
def tiny_run(_tiny_run_master, tmp_path) -> Path:
    """A private copy of the finished run's files (m.onnx, m.ckpt.pt, m.run.json) in tmp_path/run."""
    folder = tmp_path / "run"
    shutil.copytree(_tiny_run_master.parent, folder)
    return folder / "m.onnx"
