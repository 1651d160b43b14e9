"""The Train tab: the ``digitpad-train`` engine in a QProcess, live curves, runs history.

``tab`` ties together ``form`` (set up a run), ``live`` (watch it) and ``runs_view`` (the
history); ``curves`` draws with pyqtgraph, so ``TrainingTab`` is imported lazily.
"""


def __getattr__(name):
    if name == "TrainingTab":
        from .tab import TrainingTab

        return TrainingTab
    raise AttributeError(name)


__all__ = ["TrainingTab"]
