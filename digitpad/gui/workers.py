"""Background work that must not hold up drawing, reporting through signals.

Saliency takes a batch of ~50-100 occluded copies through the model (a few ms); done
on the UI thread at 60 Hz it would eat most of each frame. A worker thread computes it
instead, and only the newest request is kept: while one runs, newer drawings replace
the pending one, so the worker never falls behind the pen. ONNX Runtime releases the
GIL during a run and sessions may be shared across threads.

A plain daemon thread rather than a QThread: a QThread still running when its parent
widget is destroyed aborts the process, and a daemon thread never blocks exit. Its
results reach the UI thread as queued signals, dropped if the receiver is gone.
"""
from __future__ import annotations

import threading
import time

import numpy as np
from PySide6.QtCore import QObject, Signal

from digitpad.core.saliency import occlusion_saliency


class SaliencyWorker(QObject):
    """``request(predictor, x28)``; ``ready(saliency or None, target, seconds)`` for the newest request."""

    ready = Signal(object, int, float)
    _finished = Signal(int, object, int, float)   # from the worker thread, queued to the UI thread

    def __init__(self, parent=None):
        super().__init__(parent)
        self._cond = threading.Condition()
        self._pending: tuple | None = None
        self._latest = 0
        self._busy = False
        self._stopped = False
        self._finished.connect(self._deliver)
        self._thread = threading.Thread(target=self._loop, name="digitpad-saliency", daemon=True)
        self._thread.start()

    def request(self, predictor, x28: np.ndarray | None) -> None:
        with self._cond:
            self._latest += 1
            if x28 is None or predictor is None:
                self._pending = None
                request_id = None
            else:
                self._pending = (self._latest, predictor, np.array(x28, dtype=np.float32, copy=True))
                self._cond.notify()
                return
        if request_id is None:
            self.ready.emit(None, -1, 0.0)

    def busy(self) -> bool:
        with self._cond:
            return self._busy or self._pending is not None

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._pending = None
            self._cond.notify()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while self._pending is None and not self._stopped:
                    self._cond.wait()
                if self._stopped:
                    return
                request_id, predictor, x = self._pending
                self._pending = None
                self._busy = True
            t0 = time.perf_counter()
            try:
                sal, target = occlusion_saliency(predictor, x)
            except Exception:  # a model that fails on batches: no overlay, no crash
                sal, target = None, -1
            seconds = time.perf_counter() - t0
            with self._cond:
                self._busy = False
                stopped = self._stopped
            if not stopped:
                try:
                    self._finished.emit(request_id, sal, target, seconds)
                except RuntimeError:
                    return  # the QObject is gone: the window closed

    def _deliver(self, request_id: int, sal, target: int, seconds: float) -> None:
        if request_id == self._latest:  # older results are stale: the drawing moved on
            self.ready.emit(sal, target, seconds)
