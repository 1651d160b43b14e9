"""The layers of DESIGN.md hold: the import contracts in pyproject.toml, checked here so the
README's test command enforces them (napari runs the same check in CI)."""
from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_import_contracts_are_kept(capsys):
    from importlinter.cli import lint_imports

    code = lint_imports(config_filename=str(REPO / "pyproject.toml"), no_cache=True, no_logo=True)
    out = capsys.readouterr().out
    assert code == 0, out
    assert "0 broken" in out


def test_the_stable_names_of_design_md_still_import():
    from digitpad.app import MainWindow
    from digitpad.canvas import DrawingCanvas
    from digitpad.core.inference import Predictor as CorePredictor
    from digitpad.inference import Predictor
    from digitpad.preprocess import to_model_input

    assert Predictor is CorePredictor and callable(to_model_input)
    assert hasattr(DrawingCanvas, "draw_stroke") and hasattr(MainWindow, "closeEvent")
