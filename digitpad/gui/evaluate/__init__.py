"""Judging a model on its test set. ``evaluator`` is Qt-free (numpy + ONNX Runtime);
``worker`` runs it off the UI thread; ``view`` is the Evaluate tab (imported lazily)."""


def __getattr__(name):
    if name == "EvaluationView":
        from .view import EvaluationView

        return EvaluationView
    raise AttributeError(name)


__all__ = ["EvaluationView"]
