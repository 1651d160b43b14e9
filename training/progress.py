"""Progress reporting: a tqdm bar for people, or one JSON event per stdout line for the app.

In jsonl mode stdout carries nothing but events; human text always goes to stderr.
"""
from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any

MAX_STEP_EVENTS_PER_S = 10


class Reporter:
    def __init__(self, mode: str = "bar"):
        if mode not in ("bar", "jsonl", "none"):
            raise ValueError(mode)
        self._mode = mode
        # A data-parallel run's processes other than rank 0: no events, bars or log lines, whatever
        # --progress says (rank 0 reports the run); their own errors still reach stderr (cli._fail).
        self.quiet = False
        self._bar = None
        self._last_step_emit = 0.0

    @property
    def mode(self) -> str:
        return "none" if self.quiet else self._mode

    @mode.setter
    def mode(self, mode: str) -> None:
        self._mode = mode

    # --- events -------------------------------------------------------------
    def emit(self, event: str, **data: Any) -> None:
        if self.mode == "jsonl":
            try:
                sys.stdout.write(json.dumps({"event": event, **data}) + "\n")
                sys.stdout.flush()
            except BrokenPipeError:
                # The reader (the app) went away; the run goes on and still writes its files.
                self.mode = "none"

    def log(self, text: str) -> None:
        if self.quiet:
            return
        if self._bar is not None:
            self._bar.write(text, file=sys.stderr)
        else:
            print(text, file=sys.stderr, flush=True)

    def start(self, total_steps: int, initial_step: int, **data: Any) -> None:
        self.emit("start", total_steps=total_steps, **data)
        if self.mode == "bar":
            from tqdm import tqdm

            self._bar = tqdm(total=total_steps, initial=initial_step, unit="step", file=sys.stderr,
                             dynamic_ncols=True, smoothing=0.1)

    def task(self, name: str, total: int, unit: str) -> Callable[[int], None]:
        """Progress of a set-up step before training (drawing digits): a tqdm bar (with the
        time left), or ``progress`` events with ``done``, ``total`` and ``eta_s``. Returns
        ``update(done)``; the bar closes when ``done`` reaches ``total``."""
        t0 = time.monotonic()
        bar = None
        if self.mode == "bar":
            from tqdm import tqdm

            bar = tqdm(total=total, unit=unit, desc=name, file=sys.stderr, dynamic_ncols=True)

        def update(done: int) -> None:
            elapsed = time.monotonic() - t0
            eta = elapsed / done * (total - done) if done else None
            self.emit("progress", task=name, done=done, total=total, unit=unit, elapsed_s=round(elapsed, 2),
                      eta_s=None if eta is None else round(eta, 1))
            if bar is not None:
                bar.update(done - bar.n)
                if done >= total:
                    bar.close()

        update(0)
        return update

    def due(self) -> bool:
        return time.monotonic() - self._last_step_emit >= 1.0 / MAX_STEP_EVENTS_PER_S

    def step(self, step: int, force: bool = False, **data: Any) -> None:
        """Throttled: at most MAX_STEP_EVENTS_PER_S events (a bar refreshes itself)."""
        if self._bar is not None:
            self._bar.update(step - self._bar.n)
            self._bar.set_postfix(loss=f"{data['loss']:.3f}", samples_s=f"{data['samples_per_s']:.0f}",
                                  refresh=False)
        if self.mode == "jsonl" and (force or self.due()):
            self._last_step_emit = time.monotonic()
            self.emit("step", step=step, **data)

    def epoch(self, record: dict[str, Any], epochs: int, checkpoint: str) -> None:
        """An epoch is over (both engines): its event, and one line for people."""
        self.emit("epoch", epochs=epochs, checkpoint=checkpoint, **record)
        self.log(f"epoch {record['epoch']}/{epochs}: test accuracy {record['test_accuracy']:.2%} "
                 f"(train {record['train_accuracy']:.2%}), test loss {record['test_loss']:.4f}")

    def stopped_mid_epoch(self, epoch: int, step: int, steps_per_epoch: int, checkpoint: str) -> None:
        self.log(f"stopped at epoch {epoch}, step {step}/{steps_per_epoch}; "
                 f"checkpoint {checkpoint} (continue with --resume)")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
