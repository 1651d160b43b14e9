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


@pytest.fixture
def legacy_run(tiny_run, tmp_path) -> Path:
    """The tiny run's files as digitpad-train wrote them before checkpoints had a format, run ids and
    checksums (the shipped model was such a pair until it was retrained): default.onnx without
    training.run_id/weights_sha256, default.ckpt.pt with the old keys only. Returns the folder."""
    import onnx
    import torch

    from digitpad.core.contract import METADATA_KEY, ModelMetadata
    from training import checkpoint

    folder = tmp_path / "legacy"
    folder.mkdir()
    ckpt = torch.load(checkpoint.checkpoint_path(tiny_run), weights_only=True)
    old_keys = ("config", "model", "ema_model", "ema_n", "optimizer", "epoch", "step_in_epoch", "history", "elapsed_s")
    torch.save({k: ckpt[k] for k in old_keys}, folder / "default.ckpt.pt")
    model = onnx.load(str(tiny_run))
    props = {p.key: p.value for p in model.metadata_props}
    meta = ModelMetadata.from_json(props[METADATA_KEY])
    for key in ("run_id", "weights_sha256", "parent"):
        meta.training.pop(key, None)
    del model.metadata_props[:]
    entry = model.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, meta.to_json()
    onnx.save(model, str(folder / "default.onnx"))
    return folder
