"""The engine's command lines: what the app runs in a child process, exactly as a user
would type it in a shell (``digitpad-train ...``).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from digitpad.core.handwriting.finetune import Recipe

from .run_settings import RunSettings


def default_threads() -> int:
    """Leave one core to the UI."""
    return max(1, (os.cpu_count() or 2) - 1)


def engine_command() -> list[str]:
    """The engine, run by this interpreter (the same environment the app runs in)."""
    return [sys.executable, "-m", "training"]


def warm_args() -> list[str]:
    """An engine that imports torch now and reads its run's arguments later, as a JSON list on stdin."""
    return ["--wait-for-args"]


def train_args(s: RunSettings, out: Path, threads: int | None = None) -> list[str]:
    """A run of the form's settings. The thread count is the app's (cores - 1, so the window keeps
    a core) unless the base preset sets its own: optdigits' 8x8 batches run best on one. A preset's
    0 (the cores idle at start, for a shell) is the app's count too: the window is idle at Start."""
    if threads is None and not s.base_threads():
        threads = default_threads()
    args = ["--preset", s.base(), "--engine", s.engine,
            "--arch", s.arch, "--dataset", s.dataset, "--epochs", str(s.epochs), "--batch-size", str(s.batch_size),
            "--lr", repr(float(s.lr)), "--optimizer", s.optimizer, "--schedule", s.schedule,
            "--augment" if s.augment else "--no-augment", "--seed", str(s.seed), "--device", s.device,
            *(["--threads", str(threads)] if threads else []), "--out", str(out), "--progress", "jsonl"]
    folder = s.data_folder()    # the picture folder of a "folder" run; None: the engine downloads
    if folder is not None:
        args += ["--data-dir", str(folder)]
    if s.limit:
        args += ["--limit", str(s.limit)]
    return args


def resume_args(out: Path, threads: int | None = None) -> list[str]:
    return ["--resume", "--out", str(out), "--threads", str(threads or default_threads()), "--progress", "jsonl"]


def export_args(checkpoint: Path, out: Path, data_dir: str | None, best: bool = False) -> list[str]:
    """Export a checkpoint: its last epoch, or with ``best`` the epoch with the best test accuracy."""
    args = ["export", str(checkpoint), "--out", str(out), "--progress", "jsonl"] + (["--best"] if best else [])
    if data_dir:
        args += ["--data-dir", str(data_dir)]
    return args


def finetune_threads() -> int:
    """All cores: the engine runs at a lower priority (the runner renices it), so the window
    still gets the CPU when it needs it, and a short fine-tune wants every core it can get."""
    return max(1, min(8, os.cpu_count() or 1))


def finetune_args(init: Path, extra: Path, out: Path, recipe: Recipe, n_train: int,
                  data_dir: str | None, threads: int | None = None) -> list[str]:
    """A fine-tuning run (``digitpad.core.handwriting.finetune``): the arch comes from the checkpoint.
    No --preset: the engine's plain defaults (no drawn digits, no weight EMA, which over ~100
    steps would stay at the old weights) plus these flags."""
    args = ["--init", str(init), "--extra", str(extra), "--extra-repeat", str(recipe.repeat(n_train)),
            "--limit", str(recipe.mnist), "--epochs", str(recipe.epochs), "--lr", repr(float(recipe.lr)),
            "--batch-size", str(recipe.batch_size), "--augment" if recipe.augment else "--no-augment",
            "--label-smoothing", repr(float(recipe.label_smoothing)), "--schedule", "onecycle",
            "--seed", str(recipe.seed), "--device", "cpu",
            "--threads", str(threads or finetune_threads()), "--out", str(out), "--progress", "jsonl"]
    if data_dir:
        args += ["--data-dir", str(data_dir)]
    return args
