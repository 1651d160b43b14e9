"""Backpropagation for the input shown: the Draw tab's one source for the gradients of the loss.

Which label the loss is for (``label``): the one the user picked in the Learn tab, else the "Wrong? It
was" correction given for this drawing, else the model's answer. ``Predictor.gradients`` (the core's
NumPy backward pass, ~10 ms for the shipped model) runs on a worker by the app's one background pattern
(``gui.threads.background``: the newest request wins), only while a view that shows gradients is on
screen (``want``), and at most every THROTTLE_MS while the drawing changes: the 60 Hz path only stores
the new input. Views read ``gradients`` (None until the ones for the current input and label are in) and
``status()``, and follow ``changed``.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from ..threads import background

THROTTLE_MS = 100


def _compute(task, predictor, x: np.ndarray, label: int):
    """On the worker: the gradients, or the one-line reason this model has none."""
    reason = predictor.gradients_unavailable
    if reason is not None:
        return None, reason
    return predictor.gradients(x, label), None


class Backprop(QObject):
    """``set_predictor`` / ``set_input`` follow the tab; ``choose`` and ``set_correction`` the label."""

    changed = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.job = background("gradients", self)
        self.predictor = None
        self.x: np.ndarray | None = None
        self.answer: int | None = None          # the model's answer for x
        self.correction: int | None = None      # "Wrong? It was" for this drawing
        self.chosen: int | None = None          # picked in the Learn tab (None: follow the answer)
        self.gradients = None                   # core.backward.Gradients for (predictor, input, label), or None
        self.reason: str | None = None          # why this model has no gradients
        self.generation = 0                     # counts inputs: a result for an older one is not shown
        self._done_for: tuple | None = None
        self._viewers: set[str] = set()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._submit)

    # -- what the loss is for -------------------------------------------------------------------------
    @property
    def label(self) -> int | None:
        for label in (self.chosen, self.correction, self.answer):
            if label is not None:
                return label
        return None

    @property
    def label_source(self) -> str:
        """"chosen", "correction" or "answer": where ``label`` comes from."""
        return "chosen" if self.chosen is not None else "correction" if self.correction is not None else "answer"

    def choose(self, label: int | None) -> None:
        """The user's label (None: back to the correction, or the answer)."""
        if label != self.chosen:
            self.chosen = label
            self._changed_input(new_input=False)

    def set_correction(self, label: int | None) -> None:
        if label != self.correction:
            self.correction = label
            self._changed_input(new_input=False)

    # -- the model and the input ----------------------------------------------------------------------
    def set_predictor(self, predictor) -> None:
        if predictor is self.predictor:
            return
        self.predictor, self.reason, self.chosen = predictor, None, None
        self._changed_input(new_input=True)

    def set_input(self, x: np.ndarray | None, answer: int | None) -> None:
        """The canonical image shown ([1, C, S, S]; None: nothing) and the model's answer for it. A new input
        forgets the correction (it was about the drawing before)."""
        self.x, self.answer, self.correction = x, answer, None
        self._changed_input(new_input=True)

    def _changed_input(self, new_input: bool) -> None:
        if new_input:
            self.generation += 1
        self.gradients = None
        self.changed.emit()
        self._request()

    # -- computing ------------------------------------------------------------------------------------
    def want(self, viewer: str, on: bool) -> None:
        """A view that shows gradients appeared (``on``) or went: they are computed only while one is shown."""
        if on:
            self._viewers.add(viewer)
            self._request(now=True)
        else:
            self._viewers.discard(viewer)

    @property
    def key(self) -> tuple:
        return (self.predictor, self.generation, self.label)

    def _request(self, now: bool = False) -> None:
        if not self._viewers or self.predictor is None or self.x is None or self.label is None \
                or self.reason is not None or self._done_for == self.key:
            if self.x is None or self.predictor is None:
                self.job.cancel()
            return
        if now:
            self._timer.stop()
            self._submit()
        elif not self._timer.isActive():
            self._timer.start(THROTTLE_MS)

    def _submit(self) -> None:
        if self.predictor is None or self.x is None or self.label is None or not self._viewers:
            return
        key = self.key
        self.job.submit(_compute, self.predictor, np.array(self.x, copy=True), self.label,
                        on_done=lambda result: self._done(key, *result),
                        on_error=lambda e: self._done(key, None, f"The gradients could not be computed "
                                                                 f"({type(e).__name__}: {e})"))

    def _done(self, key: tuple, gradients, reason: str | None) -> None:
        if key[0] is not self.predictor:
            return
        if reason is not None:
            self.reason, self.gradients = reason, None
        elif key == self.key:
            self.gradients, self._done_for = gradients, key
        else:   # the input or label moved on while this ran: the newest is asked for next
            self._request()
            return
        self.changed.emit()

    def status(self) -> str | None:
        """None when ``gradients`` are those of the input shown, else one line to show instead."""
        if self.predictor is None:
            return "No model loaded."
        if self.reason is not None:
            return self.reason
        if self.x is None:
            return ""   # nothing shown: the view asks for a drawing
        if self.gradients is None:
            return "Computing the gradients…"
        return None

    def shutdown(self) -> None:
        self._timer.stop()
        self.job.shutdown()
