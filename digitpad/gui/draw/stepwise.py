"""The active model's step-by-step forward pass, read from its file on a worker thread.

``Predictor.network`` imports onnx and reads the graph (~0.2 s): too long for the UI thread,
so it is built here, with the honest maps and shapes it makes and a StageProbe (ONNX Runtime's
value of every stage, for the side-by-side check), by the app's one background
pattern (``gui.threads.background``). Views ask ``ready`` before they call ``explain``,
``used_map`` or ``shapes`` on the UI thread (each a few ms at most once the network exists),
and listen to ``changed``, emitted when the network is ready or known to be unavailable.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from digitpad.core.stage_probe import StageProbe

from ..threads import background


def _prepare(task, predictor) -> tuple[str | None, StageProbe | None]:
    """On the worker: the network, its used maps and shapes (both memoised), and a second ONNX
    Runtime session that outputs every stage; or the reason there is no network."""
    reason = predictor.explain_unavailable
    probe = None
    if reason is None and not task.cancelled:
        predictor.used_maps()
        predictor.shapes()
        try:
            probe = StageProbe(predictor)
        except Exception:   # noqa: BLE001  without it, only the model's outputs are checked against ORT
            probe = None
    return reason, probe


class StepByStep(QObject):
    """Which model's network is ready. ``load(predictor)`` when the model changes."""

    changed = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.job = background("network", self)
        self.predictor = None
        self.ready = False
        self.reason: str | None = None      # why this model cannot be computed step by step
        self.probe: StageProbe | None = None   # ONNX Runtime's value of any stage
        self._closed = False

    @property
    def loading(self) -> bool:
        return self.predictor is not None and not self.ready and self.reason is None

    def load(self, predictor) -> None:
        if predictor is self.predictor or self._closed:   # closed: the window went before its first frame
            return
        self.predictor, self.ready, self.reason, self.probe = predictor, False, None, None
        if predictor is None:
            self.job.cancel()
            self.changed.emit()
            return
        self.job.submit(_prepare, predictor, on_done=lambda result: self._done(predictor, *result),
                        on_error=lambda e: self._done(predictor, f"{predictor.path.name} cannot be computed step "
                                                                 f"by step ({type(e).__name__}: {e})"))
        self.changed.emit()

    def _done(self, predictor, reason: str | None, probe: StageProbe | None = None) -> None:
        if predictor is not self.predictor:
            return
        self.reason, self.probe = reason, probe
        self.ready = reason is None
        self.changed.emit()

    def status(self) -> str | None:
        """None when ready, else one line for a view to show instead."""
        if self.predictor is None:
            return "No model loaded."
        if self.reason is not None:
            return self.reason
        if not self.ready:
            return "Reading the model's graph for the step-by-step forward pass…"
        return None

    def shutdown(self) -> None:
        self._closed = True
        self.job.shutdown()
