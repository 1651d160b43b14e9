"""The main window as the GUI tests open it: shown, inspectors built, the model's graph read."""
from __future__ import annotations


def open_window(qtbot, path, size=(1400, 900)):
    from digitpad.app import MainWindow

    w = MainWindow(model_path=path)
    qtbot.addWidget(w)
    w.resize(*size)
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: w.workbench.feature_maps is not None, timeout=5000)
    wait_prepared(qtbot, w.controller)
    qtbot.waitUntil(lambda: not w.workbench.stepwise.loading, timeout=20_000)
    return w


def wait_prepared(qtbot, controller, timeout=20_000):
    """Until a file from elsewhere has its layers and input convention (found on a worker thread)."""
    qtbot.waitUntil(lambda: controller.predictor is None or not controller.predictor.foreign_pending,
                    timeout=timeout)
