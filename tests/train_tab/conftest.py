"""Train-tab and evaluation tests: offscreen Qt, a private data folder per test, small
IDX sets and a model whose answers are known in advance."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from known import make_pattern_model, write_known_set  # noqa: E402


@pytest.fixture(scope="session")
def pattern_model(tmp_path_factory) -> Path:
    return make_pattern_model(tmp_path_factory.mktemp("pattern") / "pattern.onnx")


@pytest.fixture(scope="session")
def known_set(tmp_path_factory):
    """(folder, images, labels, expected confusion) for pattern_model."""
    return write_known_set(tmp_path_factory.mktemp("known-set"))


@pytest.fixture
def controller(private_data_dir):
    from digitpad.gui.controller import ModelController
    from digitpad.core.library import ModelLibrary

    return ModelController(ModelLibrary())


@pytest.fixture
def tab(qtbot, controller):
    from digitpad.gui.train import TrainingTab

    t = TrainingTab(controller)
    qtbot.addWidget(t)
    yield t
    if t.runner.is_running():
        t.runner.kill()
        t.runner.wait(10_000)


@pytest.fixture
def rng():
    return np.random.default_rng(0)
