"""Small real data and a finished tiny run (model, checkpoint, run log) that tests copy and damage."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from train_helpers import TINY, write_mnist


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
