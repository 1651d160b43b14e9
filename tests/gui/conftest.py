"""Qt-side fixtures: the main window, the model controller, the Train tab."""
from __future__ import annotations

import pytest


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


@pytest.fixture
def controller(private_data_dir):
    from digitpad.core.library import ModelLibrary
    from digitpad.gui.controller import ModelController

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


@pytest.fixture(scope="session")
def model_8x8(tmp_path_factory, mnist_dir):
    """A real 8x8 model: the NumPy engine's seed004 net, 3 epochs on the UCI 8x8 digits (~1 s, about
    94 % on their test set), exported by the engine itself. In a child process, so this test
    process stays torch-free as the app is."""
    import subprocess
    import sys
    from pathlib import Path

    out = tmp_path_factory.mktemp("model-8x8") / "seed004-8x8.onnx"
    repo = Path(__file__).resolve().parents[2]
    run = subprocess.run([sys.executable, "-m", "training", "--preset", "seed004", "--data-dir", str(mnist_dir),
                          "--epochs", "3", "--out", str(out), "--progress", "none"],
                         cwd=repo, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and out.is_file(), run.stderr[-2000:]
    return out


@pytest.fixture(scope="session")
def floor_pooled_model(tmp_path_factory):
    """The digitpad net as it was before its last pool took ceil mode (random weights, exported by
    the engine): conv4's 7x7 maps are pooled 2x2 with the floor, so row 6 and column 6 feed
    nothing, which the honest maps must show. In a child process: this one stays torch-free."""
    import subprocess
    import sys
    from pathlib import Path

    out = tmp_path_factory.mktemp("floor-model") / "digitpad-floor.onnx"
    repo = Path(__file__).resolve().parents[2]
    script = ("import sys, torch; from training import export, models; torch.manual_seed(0); "
              "net = models._BEFORE_CEIL_FIX['digitpad']().eval(); "
              "export.export(net, sys.argv[1], arch='digitpad', dataset='mnist', metrics={}, training={})")
    run = subprocess.run([sys.executable, "-c", script, str(out)], cwd=repo, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0 and out.is_file(), run.stderr[-2000:]
    return out
