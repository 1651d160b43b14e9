"""Work that must not hold up the window, where only the newest request matters.

One pattern serves every such job in the app (saliency while drawing, evaluating a model on
its test set, scoring a fine-tuned model): napari's ``_layer_slicer`` shape, Qt-free.

- One worker thread per kind of job: jobs of one kind never compete with each other, and
  a 2-core laptop keeps a core for the window.
- ``submit`` supersedes the previous request: a pending one never starts, a running one
  sees ``task.cancelled`` and may stop early (evaluation checks between batches).
- Results come back through ``deliver``, which the GUI sets to "call this on the UI thread"
  (``digitpad.gui.threads``); delivery re-checks that the task is still the newest, so a
  stale result is never shown, however late it arrives.
- ``synchronous=True`` runs jobs inline (tests, scripts); ``shutdown()`` cancels and stops, and
  requests after it are dropped.

A plain thread rather than a QThread: a QThread still running when its owner is destroyed
aborts the process, and a daemon thread never blocks exit.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def call_now(fn: Callable[[], None]) -> None:
    fn()


class Task:
    """What a job is handed: whether it was superseded, and a way to report progress."""

    def __init__(self, on_progress: Callable[[int, int], None] | None = None):
        self._cancelled = threading.Event()
        self._on_progress = on_progress

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def cancel(self) -> None:
        self._cancelled.set()

    def progress(self, done: int, total: int) -> None:
        if self._on_progress is not None and not self.cancelled:
            self._on_progress(done, total)


class LatestOnly:
    """Runs ``fn(task, *args)`` jobs one at a time on a background thread; the newest request wins."""

    def __init__(self, name: str, deliver: Callable[[Callable[[], None]], None] = call_now,
                 synchronous: bool = False):
        self.name = name
        self._deliver = deliver
        self._executor = None if synchronous else ThreadPoolExecutor(1, thread_name_prefix=f"digitpad-{name}")
        self._lock = threading.Lock()
        self._current: Task | None = None
        self._running = 0
        self._closed = False

    def submit(self, fn: Callable[..., Any], *args: Any, on_done: Callable[[Any], None],
               on_error: Callable[[BaseException], None] | None = None,
               on_progress: Callable[[int, int], None] | None = None) -> Task:
        progress = None if on_progress is None else (lambda d, n: self._send(task, on_progress, d, n))
        task = Task(progress)
        if self._closed:   # after shutdown (a window closing while files still change): nothing runs
            task.cancel()
            return task
        with self._lock:
            if self._current is not None:
                self._current.cancel()
            self._current = task
            self._running += 1
        if self._executor is None:
            self._run(task, fn, args, on_done, on_error)
        else:
            self._executor.submit(self._run, task, fn, args, on_done, on_error)
        return task

    def cancel(self) -> None:
        with self._lock:
            if self._current is not None:
                self._current.cancel()
            self._current = None

    def busy(self) -> bool:
        """True while a job is queued or running."""
        with self._lock:
            return self._running > 0

    def shutdown(self) -> None:
        self._closed = True
        self.cancel()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)

    def _run(self, task: Task, fn, args, on_done, on_error) -> None:
        try:
            if task.cancelled:
                return
            try:
                result = fn(task, *args)
            except Exception as e:  # the job's failure is the caller's to report, not the thread's
                if on_error is not None:
                    self._send(task, on_error, e)
                return
            self._send(task, on_done, result)
        finally:
            with self._lock:
                self._running -= 1

    def _send(self, task: Task, callback: Callable, *values: Any) -> None:
        def call() -> None:
            if not task.cancelled and task is self._current:
                callback(*values)
        self._deliver(call)
