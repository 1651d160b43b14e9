"""Stop after the current step on SIGINT/SIGTERM (both engines): the loop checkpoints and says how to resume."""
from __future__ import annotations

import signal


class StopFlag:
    """Set by SIGINT/SIGTERM; the loop checks it after every step."""

    def __init__(self):
        self.requested = False
        self._previous = {}

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.requested:  # a second Ctrl-C means "now"
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
