"""Background work that must not hold up drawing, reporting through signals.

Saliency takes a batch of ~50-100 occluded copies through the model (a few ms); done
on the UI thread at 60 Hz it would eat most of each frame. A worker thread computes it
instead, and only the newest request is kept: while one runs, newer drawings replace
the pending one, so the worker never falls behind the pen. ONNX Runtime releases the
GIL during a run and sessions may be shared across threads.
"""
from __future__ import annotations

import threading

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from .saliency import occlusion_saliency


class _SaliencyJob(QObject):
    done = Signal(int, object, int, float)   # request id, saliency [28,28], target class, seconds
    failed = Signal(int, str)

    @Slot(int, object, object)
    def run(self, request_id: int, predictor, x28) -> None:
        import time

        t0 = time.perf_counter()
        try:
            sal, target = occlusion_saliency(predictor, x28)
        except Exception as e:  # a model that fails on batches: report, don't crash the thread
            self.failed.emit(request_id, str(e))
            return
        self.done.emit(request_id, sal, target, time.perf_counter() - t0)


class SaliencyWorker(QObject):
    """``request(predictor, x28)``; ``ready(saliency, target, seconds)`` for the newest request only."""

    ready = Signal(object, int, float)
    _start = Signal(int, object, object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._thread = QThread(self)
        self._thread.setObjectName("digitpad-saliency")
        self._job = _SaliencyJob()
        self._job.moveToThread(self._thread)
        self._start.connect(self._job.run)
        self._job.done.connect(self._on_done)
        self._job.failed.connect(self._on_failed)
        self._thread.start()
        self._lock = threading.Lock()
        self._next_id = 0
        self._running: int | None = None
        self._pending: tuple | None = None
        self._wanted = -1

    def request(self, predictor, x28: np.ndarray | None) -> None:
        self._next_id += 1
        self._wanted = self._next_id
        if x28 is None or predictor is None:
            self._pending = None
            self.ready.emit(None, -1, 0.0)
            return
        self._pending = (self._next_id, predictor, np.array(x28, dtype=np.float32, copy=True))
        if self._running is None:
            self._dispatch()

    def busy(self) -> bool:
        return self._running is not None or self._pending is not None

    def _dispatch(self) -> None:
        request_id, predictor, x = self._pending
        self._pending = None
        self._running = request_id
        self._start.emit(request_id, predictor, x)

    def _on_done(self, request_id: int, sal, target: int, seconds: float) -> None:
        self._running = None
        if request_id == self._wanted:
            self.ready.emit(sal, target, seconds)
        if self._pending is not None:
            self._dispatch()

    def _on_failed(self, request_id: int, _message: str) -> None:
        self._running = None
        if self._pending is not None:
            self._dispatch()

    def stop(self) -> None:
        self._thread.quit()
        self._thread.wait(2000)
