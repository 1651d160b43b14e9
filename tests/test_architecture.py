"""The layers of DESIGN.md hold: the import contracts in pyproject.toml, checked here so the
README's test command enforces them (napari runs the same check in CI)."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def test_import_contracts_are_kept(capsys):
    from importlinter.cli import lint_imports

    code = lint_imports(config_filename=str(REPO / "pyproject.toml"), no_cache=True, no_logo=True)
    out = capsys.readouterr().out
    assert code == 0, out
    assert "0 broken" in out


def test_the_stable_names_of_design_md_still_import():
    from digitpad.app import MainWindow
    from digitpad.core.inference import Predictor
    from digitpad.core.model_input import InputAdapter
    from digitpad.core.preprocess import to_model_input
    from digitpad.gui.canvas import DrawingCanvas

    assert callable(to_model_input) and hasattr(Predictor, "predict") and hasattr(InputAdapter, "to_tensor")
    assert hasattr(DrawingCanvas, "draw_stroke") and hasattr(MainWindow, "closeEvent")


def test_ruff_check_is_clean():
    """``ruff check`` over the whole repository, with the rules of pyproject.toml [tool.ruff]."""
    if importlib.util.find_spec("ruff") is None:
        pytest.skip("ruff is not installed in this Python (it is in the test extras: pip install '.[test]')")
    cmd = [sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", str(REPO)]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
