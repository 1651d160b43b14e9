"""Handwriting tests: Qt only where the real canvas is compared; a private data folder each."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def random_model_path(tmp_path_factory):
    """A contract-following model with random weights (tests/gui's factory, reused)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "gui"))
    from model_factory import make_model

    return make_model(tmp_path_factory.mktemp("models") / "random.onnx")
