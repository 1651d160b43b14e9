"""The runs history: what the engine (``X.run.json``) and the app (``X.log.json``) leave
beside each model, read back, validated and merged; and the app's own log of a run.
"""
from __future__ import annotations

import contextlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from digitpad.core import fileio, safejson
from digitpad.core.fileio import atomic_write_text
from digitpad.core.paths import APP_LOG_SUFFIX, RUN_LOG_SUFFIX, RunFiles
from training.config import TrainConfig

from .state import RunState


def save_log(state: RunState) -> Path | None:
    """Write ``X.log.json`` beside ``X.onnx`` atomically; None if there is nothing to keep."""
    if state.out is None or not (state.steps or state.history):
        return None
    path = RunFiles(state.out).app_log
    try:
        atomic_write_text(path, json.dumps(state.log_record(), indent=None))
    except OSError:
        return None
    return path


def remove_temporaries(out: Path) -> list[Path]:
    """After a killed run: the engine's atomic writes may have left temporary files behind.
    The library never lists them; remove them anyway."""
    return RunFiles(out).remove(files=False)[0]


# -- the runs history -------------------------------------------------------------------------------
@dataclass
class RunRecord:
    files: RunFiles
    status: str = "completed"
    config: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, float]] = field(default_factory=list)   # the engine's epoch records
    metrics: dict[str, Any] = field(default_factory=dict)
    seconds: float | None = None
    created: str = ""
    steps: list[tuple[float, float, float]] = field(default_factory=list)   # (step, loss, lr)
    step_times: list[float] = field(default_factory=list)   # elapsed seconds per step (app logs that keep them)
    n_train: int | None = None                               # training images per epoch, when the app saw it
    finetune: dict[str, Any] = field(default_factory=dict)   # what My digits adds about a fine-tune it ran

    @property
    def stem(self) -> str:
        return self.files.stem

    @property
    def model_path(self) -> Path:
        return self.files.model

    @property
    def checkpoint_path(self) -> Path:
        return self.files.checkpoint

    @property
    def best_epoch(self) -> int | None:
        """The epoch with the best test accuracy (the first of equals), as the engine keeps it; None without records."""
        accs = [r.get("test_accuracy") for r in self.history]
        if not accs or not all(isinstance(a, (int, float)) for a in accs):
            return None
        return max(range(len(accs)), key=lambda i: (accs[i], -i)) + 1

    @property
    def has_model(self) -> bool:
        return self.model_path.is_file()

    @property
    def accuracy(self) -> float | None:
        acc = self.metrics.get("test_accuracy")
        if acc is None and self.history:
            acc = self.history[-1].get("test_accuracy")
        return float(acc) if _is_number(acc) else None

    def curves(self, x: str = "step") -> dict[str, tuple[list[float], list[float]]]:
        """name -> (x, y). Step curves use the app's log; a run from a shell has epoch points only.

        ``x="time"``: every curve against the seconds since the run started (TensorBoard's
        "relative" axis): the epochs' own times, and each step's where the app kept them, else
        interpolated between the epochs' ends."""
        out: dict[str, tuple[list[float], list[float]]] = {}
        if self.steps:
            xs = [s[0] for s in self.steps]
            out["train_loss"] = (xs, [s[1] for s in self.steps])
            out["lr"] = (xs, [s[2] for s in self.steps])
        for key in ("test_loss", "test_accuracy", "train_accuracy"):
            pts = [(h["epoch"], h[key]) for h in self.history if key in h]
            if pts:
                out[key] = ([p[0] for p in pts], [p[1] for p in pts])
        spe = self.steps_per_epoch
        per_epoch = [h for h in self.history if "train_loss" in h]
        if "train_loss" not in out and per_epoch and spe:
            out["train_loss"] = ([h["epoch"] * spe for h in per_epoch], [h["train_loss"] for h in per_epoch])
        if x == "time":
            out = {key: (self._seconds_at(key, xs), ys) for key, (xs, ys) in out.items()}
        return out

    def _seconds_at(self, key: str, xs: list[float]) -> list[float]:
        if key in ("test_loss", "test_accuracy", "train_accuracy"):
            at = {h["epoch"]: h.get("elapsed_s", math.nan) for h in self.history}
            return [at.get(e, math.nan) for e in xs]
        if self.steps and len(self.step_times) == len(self.steps) and xs == [s[0] for s in self.steps]:
            return list(self.step_times)
        ends = [(h["epoch"] * self.steps_per_epoch, h["elapsed_s"]) for h in self.history if "elapsed_s" in h]
        if not ends or not self.steps_per_epoch:
            return [math.nan] * len(xs)
        sx, sy = [0.0] + [e[0] for e in ends], [0.0] + [e[1] for e in ends]
        return [_interp(v, sx, sy) for v in xs]

    @property
    def has_times(self) -> bool:
        """Whether the wall-clock axis has anything to draw for this run."""
        return bool(self.step_times) or any("elapsed_s" in h for h in self.history)

    # -- fine-tunes (My digits) -----------------------------------------------------------------
    @property
    def base_model(self) -> str | None:
        """The model a fine-tune started from (its file stem), None for a run from scratch."""
        base = self.finetune.get("base") or self.config.get("init")
        return RunFiles.of(Path(str(base))).stem if isinstance(base, str) and base else None

    @property
    def own_digits(self) -> int | None:
        """How many of the user's digits a fine-tune learnt from, when known."""
        n = self.finetune.get("digits")
        if _is_number(n):
            return int(n)
        repeat, limit = self.config.get("extra_repeat"), self.config.get("limit")
        if self.config.get("extra") and self.n_train and _is_number(repeat) and repeat >= 1 and _is_number(limit):
            return max(0, round((self.n_train - min(limit, 60000)) / repeat))
        return None

    @property
    def duration(self) -> float | None:
        """What the user waited: a fine-tune's time from the button to the result (preparing,
        training, scoring), else the engine's training time."""
        wall = self.finetune.get("seconds")
        return float(wall) if _is_number(wall) else self.seconds

    @property
    def steps_per_epoch(self) -> int:
        n, bs = self.config.get("limit") or 60000, self.config.get("batch_size") or 0
        return math.ceil(n / bs) if _is_number(n) and _is_number(bs) and n >= 1 and bs >= 1 else 0


def _interp(x: float, xs: list[float], ys: list[float]) -> float:
    """Piecewise-linear y at x (xs ascending), extended flat beyond the ends."""
    if x <= xs[0]:
        return ys[0]
    for (x0, y0), (x1, y1) in zip(zip(xs, ys), zip(xs[1:], ys[1:])):
        if x <= x1:
            return y0 + (y1 - y0) * (x - x0) / max(x1 - x0, 1e-12)
    return ys[-1]


def add_to_log(model: Path, key: str, value: Any) -> bool:
    """Add a field to the app's log of a run (``X.log.json``), e.g. My digits' word on a fine-tune."""
    path = RunFiles(model).app_log
    try:
        d = safejson.read(path, fileio.RUN_LOG, allow_nan=True)
        if not isinstance(d, dict):
            return False
        d[key] = value
        atomic_write_text(path, json.dumps(d, indent=None))
    except (OSError, ValueError):
        return False
    return True


# -- reading the logs back: every value checked before use (a hand-edited file costs only itself) ----
MAX_EPOCHS = 1_000_000   # an epoch number past this is damage, and would overflow step counts


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _epoch_records(value: Any) -> list[dict[str, float]]:
    if not isinstance(value, list):
        raise ValueError("'history' is not a list")
    out = []
    for h in value:
        if not isinstance(h, dict) or not _is_number(h.get("epoch")):
            raise ValueError("an epoch record has no epoch number")
        if not 0 <= h["epoch"] <= MAX_EPOCHS:
            raise ValueError(f"an epoch record has epoch {h['epoch']!r} (0 to {MAX_EPOCHS:,})")
        out.append({k: float(v) for k, v in h.items() if _is_number(v)})
    return out


def _step_points(value: Any) -> list[tuple[float, float, float]]:
    if not isinstance(value, list):
        raise ValueError("'steps' is not a list")
    return [(float(s[0]), float(s[1]), float(s[2])) for s in value
            if isinstance(s, list) and len(s) >= 3 and all(_is_number(v) for v in s[:3])]


def _step_times(value: Any) -> list[float]:
    """Each step's elapsed seconds (a 4th value), only when every usable step has one."""
    rows = [s for s in value if isinstance(s, list) and len(s) >= 3 and all(_is_number(v) for v in s[:3])]
    if rows and all(len(s) >= 4 and _is_number(s[3]) for s in rows):
        return [float(s[3]) for s in rows]
    return []


def _finetune_record(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        return {}
    out: dict[str, Any] = {k: value[k] for k in ("base",) if isinstance(value.get(k), str)}
    out.update({k: float(value[k]) for k in ("digits", "held_out", "before", "after", "seconds")
                if _is_number(value.get(k)) and value[k] >= 0})
    return out


def _read_log(path: Path) -> dict[str, Any]:
    """A run log's fields, type-checked; raises ValueError (or OSError) with the reason."""
    d = safejson.read(path, fileio.RUN_LOG, allow_nan=True)
    if not isinstance(d, dict):
        raise ValueError("not a JSON object")
    out: dict[str, Any] = {}
    for key in ("config", "metrics"):
        if key in d:
            if not isinstance(d[key], dict):
                raise ValueError(f"'{key}' is not an object")
            out[key] = d[key]
    if "config" in out:   # the engine's fields with their declared types only: readers use them as such
        out["config"] = {k: v for k, v in TrainConfig.typed_items(out["config"]).items()
                         if not isinstance(v, float) or math.isfinite(v)}
    if "metrics" in out:
        out["metrics"] = {k: v for k, v in out["metrics"].items() if _is_number(v)}
    if "history" in d:
        out["history"] = _epoch_records(d["history"])
    if "steps" in d:
        out["steps"] = _step_points(d["steps"])
        out["step_times"] = _step_times(d["steps"])
    if _is_number(d.get("n_train")) and d["n_train"] > 0:
        out["n_train"] = int(d["n_train"])
    if "finetune" in d:
        out["finetune"] = _finetune_record(d["finetune"])
    if _is_number(d.get("seconds")) and d["seconds"] >= 0:
        out["seconds"] = float(d["seconds"])
    for key in ("status", "created", "started"):
        if isinstance(d.get(key), str):
            out[key] = d[key]
    return out


def list_runs(folder: Path, problems: list[str] | None = None) -> list[RunRecord]:
    """Runs beside the models, newest first: the engine's ``X.run.json`` (completed runs,
    from the app or a shell) merged with the app's ``X.log.json`` (step curves, stopped runs).
    A log that cannot be read is skipped and named in ``problems``."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    records: dict[str, RunRecord] = {}
    mtimes: dict[str, float] = {}
    logs = sorted(folder.glob("*" + APP_LOG_SUFFIX)) + sorted(folder.glob("*" + RUN_LOG_SUFFIX))
    for path in logs:
        if path.name.startswith("."):
            continue  # a temporary file of an atomic write
        try:
            d = _read_log(path)
        except fileio.FileReadError as e:
            if problems is not None:
                problems.append(f"{path.name}: {e.strerror}")
            continue
        except safejson.JsonError as e:
            if problems is not None:
                problems.append(f"{path.name}: {e.reason}")
            continue
        except (OSError, ValueError) as e:
            if problems is not None:
                problems.append(f"{path.name}: {e}")
            continue
        files = RunFiles.of(path)
        is_run = path.name.endswith(RUN_LOG_SUFFIX)
        rec = records.setdefault(files.stem, RunRecord(files))
        with contextlib.suppress(OSError):   # gone since the glob: it still sorts, last
            mtimes[files.stem] = max(mtimes.get(files.stem, 0.0), path.stat().st_mtime)
        if is_run or not rec.config:   # the engine's record wins where both have a field
            rec.config = d.get("config", rec.config)
            rec.history = d.get("history", rec.history)
            rec.metrics = d.get("metrics", rec.metrics)
            rec.seconds = d.get("seconds", rec.seconds)
            rec.created = d.get("created") or d.get("started") or rec.created
        if is_run:
            rec.status = d.get("status", "completed")
        elif not files.run_log.is_file():
            rec.status = d.get("status", rec.status)
        if not is_run and "steps" in d:
            rec.steps, rec.step_times = d["steps"], d["step_times"]
        if not is_run:
            rec.n_train = d.get("n_train", rec.n_train)
            rec.finetune = d.get("finetune", rec.finetune)
    for rec in records.values():
        if rec.status == "stopped" and rec.has_model:
            rec.status = "stopped, exported"
    return sorted(records.values(), key=lambda r: mtimes.get(r.stem, 0.0), reverse=True)
