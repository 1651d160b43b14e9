"""A run's files handled as one: rename, delete, export as CSV.

A run is its model ``X.onnx`` and whatever lies beside it under the same name
(``digitpad.core.paths.RunFiles``: checkpoint, the engine's and the app's logs); renaming
moves them all or none, deleting removes them all. Whether a run may be touched now (the
active model, a run in progress) is the GUI's question, not this module's.
"""
from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import re
from pathlib import Path

from digitpad.core import fileio, safejson
from digitpad.core.fileio import atomic_write_text
from digitpad.core.paths import MODEL_SUFFIX, RunFiles

from .history import RunRecord

NAME = re.compile(r"[\w.\- ]+")


class RunFileError(Exception):
    """A rename or delete that could not be done, in words for the user (nothing was changed)."""


def name_problem(stem: str) -> str | None:
    """Why ``stem`` cannot name a model, or None."""
    if not stem.strip():
        return "the name is empty"
    if stem != stem.strip():
        return "the name may not start or end with a space"
    if not NAME.fullmatch(stem):
        return "the name may use letters, digits, spaces, '.', '-' and '_' only"
    if stem.startswith("."):
        return "the name may not start with '.' (such files are hidden)"
    if stem.lower().endswith(MODEL_SUFFIX):
        return f"give the name without '{MODEL_SUFFIX}'"
    return None


def rename_run(model: Path, new_stem: str) -> RunFiles:
    """Rename every file of the run of ``model`` to ``new_stem``; all or none. Returns the new files."""
    old = RunFiles(Path(model))
    problem = name_problem(new_stem)
    if problem:
        raise RunFileError(problem)
    new = RunFiles(old.model.with_name(new_stem + MODEL_SUFFIX))
    if new.model == old.model:
        return old
    taken = [p.name for p in new.all() if p.exists()]
    if taken:
        raise RunFileError(f"a model named {new_stem} already exists ({', '.join(taken)}); choose another name")
    moves = [(src, dst) for src, dst in zip(old.all(), new.all()) if src.exists()]
    if not moves:
        raise RunFileError(f"{old.model.name} is gone")
    moves.sort(key=lambda m: m[0] == old.model)   # the model last: a half-done rename never lists twice
    done: list[tuple[Path, Path]] = []
    try:
        for src, dst in moves:
            os.rename(src, dst)
            done.append((src, dst))
    except OSError as e:
        for src, dst in reversed(done):
            with contextlib.suppress(OSError):
                os.rename(dst, src)
        raise RunFileError(f"could not rename {src.name}: {e.strerror or e}") from e
    for log in (new.run_log, new.app_log):   # the logs name the run's files: keep them true
        _rename_inside(log, new)
    return new


def _rename_inside(log: Path, files: RunFiles) -> None:
    try:
        d = safejson.read(log, fileio.RUN_LOG, allow_nan=True)
    except (OSError, ValueError):
        return
    if not isinstance(d, dict):
        return
    if "model" in d:
        d["model"] = files.model.name
    if "checkpoint" in d:
        d["checkpoint"] = files.checkpoint.name
    with contextlib.suppress(OSError):
        atomic_write_text(log, json.dumps(d, indent=None))


def delete_run(model: Path) -> list[Path]:
    """Remove every file of the run of ``model`` (and what killed writes left). Returns what was removed."""
    removed, failed = RunFiles(Path(model)).remove()
    if failed:
        raise RunFileError("could not delete " + ", ".join(failed))
    return removed


# -- CSV ---------------------------------------------------------------------------------------
CSV_COLUMNS = ["kind", "epoch", "step", "elapsed_s", "loss", "lr",
               "train_loss", "train_accuracy", "test_loss", "test_accuracy"]


def run_csv(run: RunRecord) -> str:
    """The run's epoch records and step curve as one CSV table (a ``kind`` column tells them apart):
    what TensorBoard and DIGITS users take to a spreadsheet or pandas."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, CSV_COLUMNS, lineterminator="\n")
    w.writeheader()
    spe = run.steps_per_epoch
    times = run.step_times if len(run.step_times) == len(run.steps) else []
    for i, (step, loss, lr) in enumerate(run.steps):
        w.writerow({"kind": "step", "epoch": math.ceil(step / spe) if spe else "", "step": int(step),
                    "elapsed_s": _num(times[i]) if times else "", "loss": _num(loss), "lr": _num(lr)})
    for h in run.history:
        row = {"kind": "epoch", "epoch": int(h["epoch"]), "step": int(h["epoch"] * spe) if spe else ""}
        row.update({k: _num(h[k]) for k in CSV_COLUMNS if k in h and k not in ("epoch", "step")})
        w.writerow(row)
    return buf.getvalue()


def _num(v: float) -> str:
    return repr(float(v)) if math.isfinite(v) else ""


def write_csv(run: RunRecord, path: Path) -> int:
    """Write :func:`run_csv` atomically; returns the number of rows."""
    text = run_csv(run)
    atomic_write_text(Path(path), text)
    return text.count("\n") - 1
