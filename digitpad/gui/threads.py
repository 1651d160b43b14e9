"""Background jobs for the Qt side: ``digitpad.core.background`` with results on the UI thread."""
from __future__ import annotations

import contextlib
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from digitpad.core.background import LatestOnly


class UiThread(QObject):
    """``call(fn)`` from any thread runs ``fn()`` on the thread this object lives in (the UI
    thread): a queued signal, dropped by Qt if the object is gone (the window closed)."""

    _call = Signal(object)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._call.connect(lambda fn: fn())

    def call(self, fn: Callable[[], None]) -> None:
        with contextlib.suppress(RuntimeError):   # the C++ object is deleted: nobody is left to show it
            self._call.emit(fn)


def background(name: str, parent: QObject) -> LatestOnly:
    """A newest-request-wins worker whose callbacks run on ``parent``'s (the UI) thread."""
    return LatestOnly(name, deliver=UiThread(parent).call)
