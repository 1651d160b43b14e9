"""A run as the app follows it, built only from the engine's jsonl events (``RunState``),
and the few formatting rules the views share.
"""
from __future__ import annotations

import datetime as dt
import math
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from digitpad.core import contract, live_snapshot
from digitpad.core.live_snapshot import LiveSnapshot

STDERR_TAIL = 30
# What an epoch record may hold; train_accuracy when the engine measures it (the plots show it when present).
EPOCH_KEYS = ("epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "lr", "elapsed_s")


class Ema:
    """Bias-corrected exponential moving average, for a readable training-loss curve."""

    def __init__(self, beta: float = 0.9):
        self.beta, self.value, self._n = beta, 0.0, 0

    def add(self, x: float) -> float:
        self._n += 1
        self.value = self.beta * self.value + (1 - self.beta) * x
        return self.value / (1 - self.beta ** self._n)


def smooth(values, beta: float = 0.9) -> list[float]:
    e = Ema(beta)
    return [e.add(v) for v in values]


def plural(n: int | float, word: str, words: str | None = None) -> str:
    """``1 epoch``, ``2 epochs``, ``1,000 images``: the count and the word in the right number."""
    text = f"{n:,}" if isinstance(n, int) else f"{n:g}"
    return f"{text} {word if n == 1 else (words or word + 's')}"


def format_duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "–"
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


@dataclass
class RunState:
    """Everything the tab shows about one run, built only from the engine's events."""

    out: Path | None = None
    status: str = "idle"             # idle | starting | running | stopping | completed | stopped | failed
    config: dict[str, Any] = field(default_factory=dict)
    device: str = ""
    params: int = 0
    n_train: int = 0
    total_steps: int = 0
    steps_per_epoch: int = 0
    step: int = 0
    epoch: int = 0
    epochs: int = 0
    samples_per_s: float = 0.0
    eta_s: float | None = None
    elapsed_s: float = 0.0
    steps: list[int] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    lrs: list[float] = field(default_factory=list)
    times: list[float] = field(default_factory=list)   # elapsed_s at each step: the wall-clock axis
    rates: list[float] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)   # the engine's epoch records
    exported: Path | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    checkpoint: Path | None = None
    error: str = ""
    error_kind: str = ""             # the engine's word for it ("download"), when it gives one
    error_reason: str = ""           # why, without the shell's advice (a download's network error)
    stderr_tail: deque = field(default_factory=lambda: deque(maxlen=STDERR_TAIL))
    started_at: str = ""
    snapshot: LiveSnapshot | None = None   # the latest snapshot event: the first layer's kernels and maps now
    snapshot_error: str = ""         # why the last snapshot event was ignored ("" when it was not)

    def feed(self, ev: dict[str, Any]) -> None:
        kind = ev.get("event")
        if kind == "start":
            self.status = "running"
            self.config = dict(ev.get("config") or {})
            self.device = str(ev.get("device", ""))
            self.params = int(ev.get("params") or 0)
            self.n_train = int(ev.get("n_train") or 0)
            self.total_steps = int(ev.get("total_steps") or 0)
            self.steps_per_epoch = int(ev.get("steps_per_epoch") or 0)
            self.epochs = int(self.config.get("epochs") or 0)
            if ev.get("checkpoint"):
                self.checkpoint = Path(ev["checkpoint"])
            if not self.started_at:
                self.started_at = dt.datetime.now().isoformat(timespec="seconds")
            if not ev.get("resumed"):
                self.steps, self.losses, self.lrs, self.rates, self.history = [], [], [], [], []
                self.times = []
                self.snapshot, self.snapshot_error = None, ""
            else:  # the steps before the stop are already on the curves
                self.step = max(self.step, 0)
        elif kind == "step":
            s = int(ev.get("step", 0))
            if self.steps and s <= self.steps[-1]:
                # a resumed run replays nothing, but guard against duplicates anyway
                return
            self.step = s
            self.epoch = int(ev.get("epoch", self.epoch))
            self.steps.append(s)
            self.losses.append(float(ev.get("loss", math.nan)))
            self.lrs.append(float(ev.get("lr", math.nan)))
            self.samples_per_s = float(ev.get("samples_per_s", 0.0))
            self.rates.append(self.samples_per_s)
            self.eta_s = ev.get("eta_s")
            self.elapsed_s = float(ev.get("elapsed_s", self.elapsed_s))
            self.times.append(self.elapsed_s)
        elif kind == "epoch":
            rec = {k: ev[k] for k in EPOCH_KEYS if k in ev}
            self.history = [h for h in self.history if h.get("epoch") != rec.get("epoch")] + [rec]
            self.epoch = int(ev.get("epoch", self.epoch))
            self.epochs = int(ev.get("epochs", self.epochs))
            self.elapsed_s = float(ev.get("elapsed_s", self.elapsed_s))
            if ev.get("checkpoint"):
                self.checkpoint = Path(ev["checkpoint"])
        elif kind == live_snapshot.EVENT:
            try:
                self.snapshot, self.snapshot_error = live_snapshot.parse(ev), ""
            except live_snapshot.SnapshotEventError as e:   # the last good one stays on screen
                self.snapshot_error = f"a snapshot event was ignored: {e}"
        elif kind == "exported":
            self.exported = Path(ev["path"])
            self.metrics = dict(ev.get("metrics") or {})
        elif kind == "error":
            self.error = str(ev.get("message", "unknown error"))
            self.error_kind = ev.get("kind") if isinstance(ev.get("kind"), str) else ""
            self.error_reason = ev.get("reason") if isinstance(ev.get("reason"), str) else ""
        elif kind == "done":
            status = ev.get("status")
            if status in ("completed", "stopped"):
                self.status = status
            if ev.get("checkpoint"):
                self.checkpoint = Path(ev["checkpoint"])
            if "elapsed_s" in ev:
                self.elapsed_s = float(ev["elapsed_s"])
            if status == "completed":
                self.eta_s = 0.0

    @property
    def progress(self) -> float:
        return min(1.0, self.step / self.total_steps) if self.total_steps else 0.0

    @property
    def step_in_epoch(self) -> int:
        if not self.steps_per_epoch:
            return 0
        return self.step - (self.epoch - 1) * self.steps_per_epoch if self.epoch else self.step

    def progress_text(self) -> str:
        if not self.total_steps:
            return "Starting the engine…" if self.status in ("starting", "running") else ""
        parts = [f"Epoch {max(self.epoch, 1)}/{self.epochs}",
                 f"step {self.step:,}/{self.total_steps:,}"]
        if self.samples_per_s:
            parts.append(f"{self.samples_per_s:,.0f} samples/s")
        if self.status == "running":
            parts.append(f"ETA {format_duration(self.eta_s)}")
        parts.append(f"elapsed {format_duration(self.elapsed_s)}")
        return "  ·  ".join(parts)

    def snapshot_words(self) -> tuple[str, str]:
        """What the live kernels view says of the latest snapshot: ('step 1,200 · epoch 0.64', 'test digit 7');
        ('', why there is none) before the first."""
        snap = self.snapshot
        if snap is None:
            return "", self.snapshot_error or "The first layer's kernels and maps appear as the run starts."
        dataset = self.config.get("dataset") or "mnist"
        names = contract.CLASSES.get(dataset, [])
        name = names[snap.label] if 0 <= snap.label < len(names) else str(snap.label)
        what = "digit" if dataset in ("mnist", "optdigits") else "image"
        return f"step {snap.step:,} · epoch {snap.epoch:.2f}", f"test {what}: {name}"

    @classmethod
    def from_record(cls, record) -> RunState:
        """A stopped run from the history (an earlier session closed mid-run), ready to resume:
        its curves so far, its config and checkpoint (``record``: a history.RunRecord)."""
        st = cls(out=record.model_path, status="stopped", config=dict(record.config),
                 checkpoint=record.checkpoint_path, history=list(record.history),
                 epochs=int(record.config.get("epochs") or 0), started_at=record.created)
        for step, loss, lr in record.steps:
            st.steps.append(int(step))
            st.losses.append(loss)
            st.lrs.append(lr)
        if len(record.step_times) == len(record.steps):
            st.times = list(record.step_times)
        st.step = st.steps[-1] if st.steps else 0
        return st

    def _step_rows(self) -> list[list[float]]:
        """[step, loss, lr] per step, and the elapsed seconds when every step has one."""
        rows = [[s, round(loss, 6), lr] for s, loss, lr in zip(self.steps, self.losses, self.lrs)]
        if len(self.times) == len(rows):
            for row, t in zip(rows, self.times):
                row.append(round(t, 3))
        return rows

    def log_record(self) -> dict[str, Any]:
        """What the app keeps beside the model: enough to draw this run's curves again."""
        return {"format": 1, "status": self.status, "config": self.config, "device": self.device,
                "params": self.params, "n_train": self.n_train, "started": self.started_at,
                "seconds": self.elapsed_s, "history": self.history, "metrics": self.metrics,
                "steps": self._step_rows(),
                "model": self.out.name if self.out else None,
                "checkpoint": self.checkpoint.name if self.checkpoint else None}
