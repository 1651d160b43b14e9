"""One engine at a time, app-wide. Its own module: the main window makes the slot before its
first frame, and ``engine`` (with the engine client's imports) is only needed by the tabs."""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

if TYPE_CHECKING:
    from .engine import EngineRunner


class EngineSlot(QObject):
    """One engine at a time in the whole app (a 2-core laptop cannot train twice, and two runs
    would fight over the same cores). Each tab registers its runner and asks the slot, never
    another tab, whether an engine is busy elsewhere; ``changed`` fires when any starts or ends."""

    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._runners: list[tuple[EngineRunner, str]] = []

    def register(self, runner: EngineRunner, activity: str) -> None:
        """``activity`` says what the runner does, for messages: "a training run in the Train tab"."""
        self._runners.append((runner, activity))
        runner.statusChanged.connect(lambda _status: self.changed.emit())
        runner.finished.connect(lambda _final: self.changed.emit())

    def runners(self) -> list[tuple[EngineRunner, str]]:
        """Every registered runner and what it does."""
        return list(self._runners)

    def busy_elsewhere(self, runner: EngineRunner) -> str | None:
        """What another runner is doing, or None when the engine is free for ``runner``."""
        return next((activity for r, activity in self._runners if r is not runner and r.is_running()), None)
