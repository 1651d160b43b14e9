"""The Train tab: the ``digitpad-train`` engine in a QProcess, live curves, runs history.

``model`` is Qt-free (settings, command lines, run state, history); ``runner`` owns the
QProcess; ``tab`` and ``curves`` are the views. ``TrainingTab`` is imported lazily so
``digitpad.training_tab.model`` stays importable without Qt.
"""


def __getattr__(name):
    if name == "TrainingTab":
        from .tab import TrainingTab

        return TrainingTab
    raise AttributeError(name)


__all__ = ["TrainingTab"]
