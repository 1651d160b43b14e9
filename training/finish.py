"""What both engines do once a run is over or before it starts: claim the output (writable,
not another run's, not being written by another engine), say what the user must know about the
run (warnings), write the run log and announce the model. Shared by ``cli`` (PyTorch) and
``scratch.train`` (NumPy), so the two report alike."""
from __future__ import annotations

import contextlib
import json
import math
import os
from collections.abc import Iterator
from pathlib import Path

from digitpad.core import fileio, modelfile
from digitpad.core.contract import METADATA_KEY, ModelMetadata
from digitpad.core.fileio import atomic_write_bytes, atomic_write_text
from digitpad.core.paths import RunFiles

from .errors import TrainError
from .progress import Reporter

DIVERGED_LOSS = math.log(10)   # the cross-entropy of uniform guessing over 10 classes


def check_writable(out: Path) -> None:
    """Fail before training, not after it, when the model cannot be written."""
    if out.suffix != ".onnx":
        raise TrainError(f"--out must end in .onnx (got {out.name})")
    if out.is_dir():
        raise TrainError(f"--out {out} is a folder; give the model's file name (e.g. {out / 'model.onnx'})")
    probe = out.with_name(f".{out.name}.probe{os.getpid()}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
    except OSError as e:
        raise TrainError(f"cannot write to {out.parent}: {e.strerror or e}") from None
    # Only a probe that was written is removed, and a failure to remove it (a file system turned
    # read-only since) must not replace the answer: the folder was writable.
    with contextlib.suppress(OSError):
        probe.unlink()


@contextlib.contextmanager
def claim_out(out: Path, resuming: Path | None = None) -> Iterator[None]:
    """Hold ``--out`` for this run until the block ends: it can be written (``check_writable``), no
    other engine is writing it (a lock file beside it, see ``RunFiles.lock``; a process that died
    holds nothing), and a fresh run (``resuming`` None) finds none of another run's files there:
    its model, checkpoint or logs would be replaced. A resumed run (``resuming``: its checkpoint)
    may write only over its own run's files. TrainError, one line, otherwise."""
    check_writable(out)
    run = RunFiles(out)
    try:
        with fileio.exclusive_lock(run.lock):
            taken = [p.name for p in run.all() if os.path.lexists(p)]
            own = resuming is not None and RunFiles.of(resuming).model == run.model
            if taken and not own:
                raise TrainError(
                    f"--out {out} would replace another run's files ({', '.join(taken)}); choose another --out, "
                    + (f"or resume that run with --resume --out {out}" if resuming is None else
                       f"or leave --out out to write beside {Path(resuming).name}"))
            yield
    except fileio.LockHeld as e:
        who = f"process {e.owner}" if e.owner else "another process"
        raise TrainError(f"another digitpad-train ({who}) is writing {out.name}: two runs cannot share one "
                         "--out; wait for it to finish or choose another --out") from None
    except TrainError:
        raise
    except OSError as e:   # the lock file cannot be made
        if e.filename is not None and Path(e.filename) == run.lock:
            raise TrainError(f"cannot write to {out.parent}: {e.strerror or e}") from None
        raise


def check_own_model(out: Path, run_id: str, ckpt_file: Path) -> None:
    """An export may replace the model its own run exported, never another run's: TrainError when
    ``out`` holds a model whose metadata names another run (or cannot be read)."""
    if not os.path.lexists(out):
        return
    try:
        text = modelfile.read_metadata_props(out).get(METADATA_KEY)
        theirs = ModelMetadata.from_json(text).training.get("run_id") if text is not None else None
    except (OSError, ValueError) as e:
        raise TrainError(f"{out} exists and is not a model of this run ({e}); choose another --out") from None
    if theirs != run_id:
        raise TrainError(f"{out.name} (run {theirs or 'unknown'}) is another run's model, not {ckpt_file.name}'s "
                         f"(run {run_id}); choose another --out")


def final_metrics(history: list[dict]) -> dict:
    """The model file's ``metrics``: the last epoch's test and train figures."""
    final = history[-1] if history else {}
    return {k: final[k] for k in ("test_accuracy", "test_loss", "train_loss", "train_accuracy") if k in final}


def run_warnings(history: list[dict]) -> list[str]:
    """What the user must know about a finished run before using its model."""
    if not history:
        return []
    last = history[-1]
    loss, acc = last.get("train_loss", math.nan), last.get("test_accuracy", 0.0)
    if math.isfinite(loss) and loss <= DIVERGED_LOSS and acc >= 0.2:
        return []
    return [(f"training diverged: final train loss {loss:.3g} (uniform guessing scores {DIVERGED_LOSS:.2f}), "
             f"test accuracy {acc:.2%}; try a lower --lr")]


def finish_export(reporter: Reporter, out: Path, ckpt_file: Path, meta: dict, run_log: dict | None,
                   warnings: list[str]) -> None:
    """After the model file is written: the run log (a failure there is a warning, the model
    is fine), the ``exported`` event and the summary line."""
    if run_log is not None:
        path = RunFiles.of(out).run_log
        try:
            atomic_write_text(path, json.dumps({**run_log, "metrics": meta["metrics"], "created": meta["created"]},
                                               indent=1))
        except (OSError, ValueError) as e:
            warnings.append(f"the run log {path.name} could not be written ({getattr(e, 'strerror', None) or e}); "
                            f"the model {out.name} is complete")
    for w in warnings:
        reporter.log(f"warning: {w}")
    m = meta["metrics"]
    reporter.emit("exported", path=str(out), checkpoint=str(ckpt_file), metrics=m, run_id=meta["training"]["run_id"],
                  weights_sha256=meta["training"]["weights_sha256"], warnings=warnings)
    accuracy = f"test accuracy {m['test_accuracy']:.2%}, " if "test_accuracy" in m else ""
    reporter.log(f"wrote {out}: {accuracy}ONNX Runtime top-1 agreement {m['parity_top1_agreement']:.2%}, "
                 f"max |prob diff| {m['parity_max_prob_diff']:.1e}")


def write_model(out: Path, proto_bytes: bytes) -> None:
    """Write an exported model atomically (both engines): a TrainError names what failed."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(out, proto_bytes)
    except OSError as e:
        raise TrainError(f"cannot write {out}: {e.strerror or e}") from None
