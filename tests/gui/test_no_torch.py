"""The engine client and the Qt views never import torch (a subprocess checks sys.modules)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_gui_side_modules_never_import_torch(tmp_path, pattern_model, known_set):
    folder = known_set[0]
    code = f"""
import sys
from digitpad.client.run_settings import RunSettings
from digitpad.gui.train.tab import TrainingTab
from digitpad.gui.evaluate.view import EvaluationView
from digitpad.core.evaluation import evaluate, load_test_set
from digitpad.core.inference import Predictor
r = evaluate(Predictor({str(pattern_model)!r}), load_test_set({str(folder)!r}))
RunSettings.from_preset('fast').problems()
print("TORCH" if "torch" in sys.modules else "NO-TORCH", r.accuracy)
"""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", DIGITPAD_DATA_DIR=str(tmp_path), PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "NO-TORCH" in out.stdout
