"""Fixtures shared by every test folder: real MNIST, a private user data folder per test, and
model files (a small real model trained by the engine, contract-following random models, a
model whose answers are known in advance).

Test helpers (model factories, stroke drawings, the known test set) are in tests/support.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before any Qt import, in every test folder

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "support"))

from known import make_pattern_model, write_known_set  # noqa: E402
from model_factory import make_model  # noqa: E402

from digitpad.core.paths import shipped_model_path  # noqa: E402

SHIPPED_MODEL = shipped_model_path()


def _shared_datasets() -> Path:
    return Path(os.environ.get("DIGITPAD_TEST_DATA", REPO.parent / "shared" / "datasets"))


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    path = _shared_datasets()
    if not (path / "MNIST").is_dir():
        pytest.fail(f"real MNIST not found at {path}: set DIGITPAD_TEST_DATA to a folder with MNIST/raw/*.gz")
    return path


@pytest.fixture(autouse=True, scope="session")
def _isolated_user_data(tmp_path_factory):
    """Nothing a test does may touch the real user's data folder (session-scoped fixtures too)."""
    if not os.environ.get("DIGITPAD_DATA_DIR"):
        os.environ["DIGITPAD_DATA_DIR"] = str(tmp_path_factory.mktemp("user-data"))


@pytest.fixture(autouse=True)
def private_data_dir(tmp_path, monkeypatch):
    """A fresh user data folder per test: models, settings and My digits start empty."""
    folder = tmp_path / "digitpad-data"
    monkeypatch.setenv("DIGITPAD_DATA_DIR", str(folder))
    return folder


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory, mnist_dir) -> Path:
    """A real digitpad model: the small 3-block arch trained for a few seconds on 6,000 digits
    (about 96% on the MNIST test set), exported through the real engine."""
    from training.cli import main

    out = tmp_path_factory.mktemp("tiny-model") / "tiny.onnx"
    rc = main(["--arch", "digitpad-s", "--limit", "6000", "--epochs", "2", "--batch-size", "64",
               "--lr", "3e-3", "--no-augment", "--synthetic", "0", "--restroke", "0", "--real-writers", "0",
               "--nondigits", "0", "--data-dir", str(mnist_dir), "--threads", "2",
               "--out", str(out), "--progress", "none"])
    assert rc == 0 and out.is_file()
    return out


@pytest.fixture(scope="session")
def random_model(tmp_path_factory) -> Path:
    """A contract-following model with random weights (behaviour, not accuracy)."""
    return make_model(tmp_path_factory.mktemp("models") / "random.onnx")


@pytest.fixture(scope="session")
def other_model(tmp_path_factory) -> Path:
    return make_model(tmp_path_factory.mktemp("models2") / "other.onnx", seed=7, channels=(6, 12), arch="othernet")


@pytest.fixture(scope="session")
def accurate_models(request) -> list[Path]:
    """Models good enough to recognise clearly drawn digits: the trained fixture and the shipped model."""
    found = [request.getfixturevalue("tiny_model_path")]
    if SHIPPED_MODEL.is_file():
        found.append(SHIPPED_MODEL)
    return found


@pytest.fixture(scope="session")
def pattern_model(tmp_path_factory) -> Path:
    """A model whose answer for each image of ``known_set`` is known in advance."""
    return make_pattern_model(tmp_path_factory.mktemp("pattern") / "pattern.onnx")


@pytest.fixture(scope="session")
def known_set(tmp_path_factory):
    """(folder, images, labels, expected confusion) for pattern_model."""
    return write_known_set(tmp_path_factory.mktemp("known-set"))
