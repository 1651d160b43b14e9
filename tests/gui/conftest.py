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
