"""GUI test setup: offscreen Qt, a private data folder per test, and model files."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # model_factory, drawing helpers

from model_factory import make_model  # noqa: E402

from digitpad.core.library import shipped_model_path  # noqa: E402


@pytest.fixture(scope="session")
def random_model(tmp_path_factory) -> Path:
    """A contract-following model with random weights (behaviour, not accuracy)."""
    return make_model(tmp_path_factory.mktemp("models") / "random.onnx")


@pytest.fixture(scope="session")
def other_model(tmp_path_factory) -> Path:
    return make_model(tmp_path_factory.mktemp("models2") / "other.onnx", seed=7, channels=(6, 12), arch="othernet")


@pytest.fixture(scope="session")
def trained_model(request, random_model) -> Path:
    """The small trained model from tests/conftest.py when it exists, else the random one."""
    try:
        return request.getfixturevalue("tiny_model_path")
    except pytest.FixtureLookupError:
        return random_model


@pytest.fixture(scope="session")
def accurate_models(request) -> list[Path]:
    """Models good enough to recognise clearly drawn digits: trained fixture and shipped model."""
    found = []
    try:
        found.append(request.getfixturevalue("tiny_model_path"))
    except pytest.FixtureLookupError:
        pass
    if shipped_model_path().is_file():
        found.append(shipped_model_path())
    if not found:
        pytest.skip("no trained model yet (neither tests/conftest.py's tiny model nor digitpad/assets/models/default.onnx)")
    return found


@pytest.fixture
def window(qtbot, random_model):
    from digitpad.app import MainWindow

    w = MainWindow(model_path=random_model)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: w.workbench.feature_maps is not None, timeout=5000)
    yield w
    w.close()
