"""Evaluation off the UI thread: a daemon thread (like the saliency worker, see
``digitpad.workers``) that reports through queued signals; a newer request cancels an older one."""
from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Signal

from digitpad.core.evaluation import TestSetError, evaluate, load_test_set


class EvaluationWorker(QObject):
    progress = Signal(int, int)          # done, total
    finished = Signal(object)            # EvalResult
    failed = Signal(str)
    _progress = Signal(int, int, int)
    _done = Signal(int, object, str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._generation = 0
        self._lock = threading.Lock()
        self._progress.connect(self._on_progress)
        self._done.connect(self._on_done)
        self._cache: dict[tuple, object] = {}
        self._thread: threading.Thread | None = None

    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def request(self, predictor, folder, dataset: str) -> int:
        with self._lock:
            self._generation += 1
            gen = self._generation
        self._thread = threading.Thread(target=self._run, args=(gen, predictor, folder, dataset),
                                        name="digitpad-evaluation", daemon=True)
        self._thread.start()
        return gen

    def cancel(self) -> None:
        with self._lock:
            self._generation += 1

    def _current(self, gen: int) -> bool:
        with self._lock:
            return gen == self._generation

    def _run(self, gen, predictor, folder, dataset) -> None:
        try:
            key = (str(folder), dataset)
            test = self._cache.get(key)
            if test is None:
                test = load_test_set(folder, dataset)
                self._cache = {key: test}
            result = evaluate(predictor, test, progress=lambda d, n: self._emit(self._progress, gen, d, n),
                              cancelled=lambda: not self._current(gen))
            if result is not None:
                self._emit(self._done, gen, result, "")
        except TestSetError as e:
            self._emit(self._done, gen, None, str(e))
        except Exception as e:  # a model that fails on batches
            self._emit(self._done, gen, None, f"evaluation failed: {type(e).__name__}: {e}")

    @staticmethod
    def _emit(signal, *args) -> None:
        try:
            signal.emit(*args)
        except RuntimeError:
            pass  # the window is gone

    def _on_progress(self, gen: int, done: int, total: int) -> None:
        if self._current(gen):
            self.progress.emit(done, total)

    def _on_done(self, gen: int, result, error: str) -> None:
        if not self._current(gen):
            return
        if result is None:
            self.failed.emit(error)
        else:
            self.finished.emit(result)
