"""Shared set-up of the train-tab benchmarks: the real main window, on its Train tab."""
from __future__ import annotations

import time


def open_train_tab(argv: list[str], nice: int | None):
    """(app, window) with the Train tab shown and first paints done; ``nice`` overrides
    the engine's niceness (None: the tab's own)."""
    from PySide6.QtWidgets import QApplication

    app = QApplication(argv)
    from digitpad.app import MainWindow
    from digitpad.gui import engine as trunner

    if nice is not None:
        trunner.ENGINE_NICE = nice
    w = MainWindow()
    w.show()
    w.tabs.setCurrentWidget(w.training)
    t_end = time.perf_counter() + 1.0
    while time.perf_counter() < t_end:
        app.processEvents()
    return app, w
