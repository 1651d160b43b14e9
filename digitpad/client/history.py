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

from digitpad.core.fileio import atomic_write_text
from digitpad.core.paths import APP_LOG_SUFFIX, RUN_LOG_SUFFIX, RunFiles

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
    removed = []
    for p in RunFiles(out).temporaries():
        try:
            p.unlink()
            removed.append(p)
        except OSError:
            pass
    return removed


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
    def has_model(self) -> bool:
        return self.model_path.is_file()

    @property
    def accuracy(self) -> float | None:
        acc = self.metrics.get("test_accuracy")
        if acc is None and self.history:
            acc = self.history[-1].get("test_accuracy")
        return float(acc) if _is_number(acc) else None

    def curves(self) -> dict[str, tuple[list[float], list[float]]]:
        """name -> (x, y). Step curves use the app's log; a run from a shell has epoch points only."""
        out: dict[str, tuple[list[float], list[float]]] = {}
        if self.steps:
            xs = [s[0] for s in self.steps]
            out["train_loss"] = (xs, [s[1] for s in self.steps])
            out["lr"] = (xs, [s[2] for s in self.steps])
        epochs = [h["epoch"] for h in self.history if "epoch" in h]
        for key in ("test_loss", "test_accuracy"):
            ys = [h[key] for h in self.history if key in h]
            if ys:
                out[key] = (epochs[:len(ys)], ys)
        spe = self.steps_per_epoch
        if "train_loss" not in out and self.history and spe:
            out["train_loss"] = ([e * spe for e in epochs], [h.get("train_loss", math.nan) for h in self.history])
        return out

    @property
    def steps_per_epoch(self) -> int:
        n, bs = self.config.get("limit") or 60000, self.config.get("batch_size") or 0
        return math.ceil(n / bs) if _is_number(n) and _is_number(bs) and bs > 0 else 0


# -- reading the logs back: every value checked before use (a hand-edited file costs only itself) ----
def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _epoch_records(value: Any) -> list[dict[str, float]]:
    if not isinstance(value, list):
        raise ValueError("'history' is not a list")
    out = []
    for h in value:
        if not isinstance(h, dict) or not _is_number(h.get("epoch")):
            raise ValueError("an epoch record has no epoch number")
        out.append({k: float(v) for k, v in h.items() if _is_number(v)})
    return out


def _step_points(value: Any) -> list[tuple[float, float, float]]:
    if not isinstance(value, list):
        raise ValueError("'steps' is not a list")
    return [(float(s[0]), float(s[1]), float(s[2])) for s in value
            if isinstance(s, list) and len(s) >= 3 and all(_is_number(v) for v in s[:3])]


def _read_log(path: Path) -> dict[str, Any]:
    """A run log's fields, type-checked; raises ValueError (or OSError) with the reason."""
    d = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(d, dict):
        raise ValueError("not a JSON object")
    out: dict[str, Any] = {}
    for key in ("config", "metrics"):
        if key in d:
            if not isinstance(d[key], dict):
                raise ValueError(f"'{key}' is not an object")
            out[key] = d[key]
    if "history" in d:
        out["history"] = _epoch_records(d["history"])
    if "steps" in d:
        out["steps"] = _step_points(d["steps"])
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
        except (OSError, ValueError, UnicodeDecodeError) as e:
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
            rec.steps = d["steps"]
    for rec in records.values():
        if rec.status == "stopped" and rec.has_model:
            rec.status = "stopped, exported"
    return sorted(records.values(), key=lambda r: mtimes.get(r.stem, 0.0), reverse=True)
