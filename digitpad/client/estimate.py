"""How long a run will take on this machine: measured, not promised.

The preset notes of the engine promised "about 20 s"; the tab, which runs the engine with a
core left to the window, took 32 s. So the form says what *this* machine did: the training
images per second of the runs in the history (the same network, with or without
augmentation as asked; their whole duration, so data loading and the per-epoch test are in
it), times the work of the run set up (epochs x training images per epoch).

Training images per epoch: the engine may say (``training.config.samples_per_epoch(cfg)``,
if it offers it); else the data set's size (or ``limit``) plus the drawn digits a preset adds.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass

import training.config as engine_config

from .history import RunRecord
from .run_settings import RunSettings

TRAIN_SIZES = {"mnist": 60_000, "fashion-mnist": 60_000}


def samples_per_epoch(cfg) -> int | None:
    """Training images in one epoch of ``cfg`` (a TrainConfig, or a dict of its fields)."""
    get = cfg.get if isinstance(cfg, dict) else (lambda k, d=None: getattr(cfg, k, d))
    engine = getattr(engine_config, "samples_per_epoch", None)
    if engine is not None and not isinstance(cfg, dict):
        try:
            return int(engine(cfg))
        except Exception:   # noqa: BLE001 (an engine without the answer: count as below)
            pass
    base = TRAIN_SIZES.get(str(get("dataset", "mnist")))
    if base is None:
        return None
    limit = get("limit")
    if isinstance(limit, int) and limit > 0:
        base = min(base, limit)
    if get("extra"):
        return None   # the user's digits repeated: only the engine knows how many
    return base + int(get("synthetic", 0) or 0) + int(get("restroke", 0) or 0)


def run_config(s: RunSettings):
    """The engine's whole config for the form's settings: its preset's values (drawn digits,
    EMA, ...) under the form's."""
    cfg = engine_config.preset(s.base())
    for f in ("engine", "arch", "dataset", "epochs", "batch_size", "lr", "optimizer", "schedule", "augment", "seed",
              "limit"):
        setattr(cfg, f, getattr(s, f))
    return cfg


@dataclass(frozen=True)
class Speed:
    """How a past run went: training images per second while training, seconds to start, seconds
    per epoch spent on the test set. From the app's step log when it has each step's time; for a
    run from a shell only its whole duration is known (``rate`` over everything, no setup or test)."""

    rate: float
    setup_s: float = 0.0
    test_s: float = 0.0
    detailed: bool = False

    def seconds(self, epochs: int, n: int) -> float:
        return self.setup_s + epochs * (n / self.rate + self.test_s)


@dataclass(frozen=True)
class Estimate:
    seconds: float
    rate: float          # training images per second measured here
    runs: int            # how many past runs it comes from
    same_augment: bool   # False: only runs with the other augmentation setting were found

    def words(self, format_duration) -> str:
        from .state import plural

        note = "" if self.same_augment else ", with augmentation set the other way"
        return (f"This machine: about {format_duration(self.seconds)} ({plural(self.runs, 'past run')} of "
                f"this network here, {self.rate:,.0f} images/s{note}).")


def speed(run: RunRecord) -> Speed | None:
    """What a past run tells of this machine's speed, or None."""
    batch, spe = run.config.get("batch_size"), run.steps_per_epoch
    times = run.step_times if len(run.step_times) == len(run.steps) else []
    if times and isinstance(batch, int) and batch > 0 and spe:
        images = seconds = 0.0
        for (s0, *_), (s1, *_), t0, t1 in zip(run.steps, run.steps[1:], times, times[1:]):
            if -(-s0 // spe) == -(-s1 // spe) and t1 > t0:      # within one epoch: no test in between
                images += (s1 - s0) * batch
                seconds += t1 - t0
        if images and seconds:
            rate = images / seconds
            at = {int(s[0]): t for s, t in zip(run.steps, times)}
            tests = [h["elapsed_s"] - at[int(h["epoch"] * spe)] for h in run.history
                     if "elapsed_s" in h and int(h["epoch"] * spe) in at]
            setup = times[0] - run.steps[0][0] * batch / rate
            return Speed(rate, max(0.0, setup), statistics.median(tests) if tests else 0.0, True)
    n = run.n_train or samples_per_epoch(run.config)
    ends = [h["elapsed_s"] for h in run.history if "elapsed_s" in h]
    if n and len(ends) == len(run.history) >= 2:
        # Epoch to epoch (its test included), and the start apart: a short run is mostly start-up.
        per_epoch = statistics.median(b - a for a, b in zip(ends, ends[1:]))
        if per_epoch > 0:
            return Speed(n / per_epoch, max(0.0, ends[0] - per_epoch))
    if run.seconds is None or run.seconds <= 0 or not run.history or not n:
        return None
    return Speed(n * len(run.history) / run.seconds)


def estimate(s: RunSettings, runs: list[RunRecord]) -> Estimate | None:
    """The time the run set up in ``s`` will take here, from the history ``runs``; None with no such run.
    Runs whose steps the app timed are preferred: a run from a shell on a few thousand images is
    mostly start-up and testing, and its whole-run rate would make a full run look slow."""
    n = samples_per_epoch(run_config(s))
    if not n:
        return None
    # The same arch in the other engine runs at another speed (the NumPy engine is its own code).
    same = [r for r in runs if r.config.get("arch") == s.arch and r.config.get("engine", "torch") == s.engine
            and r.base_model is None]
    for pool, same_augment in (([r for r in same if bool(r.config.get("augment")) == s.augment], True),
                               (same, False)):
        speeds = [x for x in (speed(r) for r in pool) if x]
        detailed = [x for x in speeds if x.detailed]
        speeds = detailed or speeds
        if speeds:
            seconds = statistics.median(x.seconds(s.epochs, n) for x in speeds)
            return Estimate(seconds, statistics.median(x.rate for x in speeds), len(speeds), same_augment)
    return None
