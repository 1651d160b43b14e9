"""Weight snapshots during a run, for both engines (no torch here): the loop calls a Recorder at
three places, and the exporter once.

    snaps = Recorder(path, engine=..., run_id=..., planned_steps=..., steps_per_epoch=..., step=global_step,
                     weights=lambda: {...name: float array...}, state=checkpoint's "snapshots" or None, log=...)
    snaps.after_step(global_step, loss)      # after every optimiser step: O(1) unless one is due
    snaps.on_take = live                     # optional: told each step a snapshot was taken at (live events)
    ckpt["snapshots"] = snaps.save(history)  # beside every checkpoint: the file, and its state for the checkpoint
    snaps.finish(model_path)                 # after the export: names the model's initializers, checks the last

When: the initial weights (step 0) and the steps of ``schedule(planned_steps)``: geometric, so
denser early, where the weights change fastest, and always the last step. A resumed run keeps what
the file holds up to its checkpoint's step and goes on with the schedule of its (maybe new) total.

What: every float tensor of the weights that are evaluated and exported (the EMA when kept, batch
norm's running statistics included), unless ``BUDGET`` would be passed; then only the conv kernels,
or only the first conv layer's (``kept`` in the file says which). Kept in memory, written at every
checkpoint (a few MB; the shipped model's 25 full snapshots take 15 MB). A failure to write them is
a warning: the run and its model matter more.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np

from digitpad.core import snapshots as snapfile
from digitpad.core.paths import RunFiles

BUDGET = 48 << 20     # bytes of all a run's snapshots together (issue 23: <= 50 MB for the shipped model)
LATER = 24            # snapshots after the initial weights, when the run has that many steps


def schedule(total: int, count: int = LATER) -> list[int]:
    """``count`` steps in 1..total (all of them when there are fewer), geometrically spaced, ``total`` last."""
    if total <= count:
        return list(range(1, total + 1))
    m = count
    while True:
        steps = np.unique(np.round(np.geomspace(1, total, m)).astype(np.int64))
        if len(steps) >= count:
            return [int(s) for s in steps]
        m += 1


def kept_names(shapes: dict[str, tuple[int, ...]], count: int, budget: int = BUDGET) -> tuple[list[str], str]:
    """Which tensors ``count`` snapshots can hold within ``budget`` bytes, and the word for it."""
    def size(names):
        return 4 * count * sum(math.prod(shapes[n]) for n in names)

    every = list(shapes)
    if size(every) <= budget:
        return every, "all"
    convs = [n for n in every if len(shapes[n]) == 4]
    if convs and size(convs) <= budget:
        return convs, "conv kernels"
    return (convs[:1] or every[:1]), "first conv kernels"


def torch_weights(module) -> Callable[[], dict[str, np.ndarray]]:
    """A module's float tensors as numpy arrays (a state dict's views: copied when a snapshot is taken)."""
    def read() -> dict[str, np.ndarray]:
        return {k: v.detach().cpu().numpy() for k, v in module.state_dict().items() if v.is_floating_point()}
    return read


def beside(checkpoint: Path) -> Path:
    """Where a run keeps its snapshots while it trains: beside its checkpoint (and so its model)."""
    return RunFiles.of(checkpoint).snapshots


class Recorder:
    def __init__(self, path: Path, *, engine: str, run_id: str, planned_steps: int, steps_per_epoch: int, step: int,
                 weights: Callable[[], dict[str, np.ndarray]], state: dict | None = None,
                 log: Callable[[str], None] = print):
        self.path, self.weights, self.log = Path(path), weights, log
        self.steps_per_epoch, self.planned = max(1, steps_per_epoch), max(1, planned_steps)
        self.meta = {"engine": engine, "run_id": run_id}
        self.step: list[int] = []
        self.epoch: list[float] = []
        self.accuracy: list[float] = []
        self.loss: list[float] = []
        self.tensors: dict[str, list[np.ndarray]] = {}
        self.known = math.nan    # the test accuracy known now
        self.kept = "all"
        self.current = step      # the last optimiser step taken
        self.resumed = False     # going on from the file's snapshots
        self.on_take: Callable[[int], None] | None = None   # called with the step after each snapshot taken
        if state is not None:
            self._resume(state, step)
        if not self.step:
            current = self.weights()
            shapes = {k: tuple(v.shape) for k, v in current.items()}
            names, self.kept = kept_names(shapes, 2 + len(schedule(self.planned)))
            self.tensors = {n: [] for n in names}
            self._take(step, math.nan, current)
        self.pending = [s for s in schedule(self.planned) if s > self.step[-1]]

    @classmethod
    def reopen(cls, checkpoint: Path, *, run_id: str | None, epoch: int, step_in_epoch: int,
               weights: Callable[[], dict[str, np.ndarray]], log: Callable[[str], None] = print) -> Recorder | None:
        """The snapshots beside ``checkpoint`` up to its position (``epoch`` finished epochs and
        ``step_in_epoch`` steps), for ``digitpad-train export``, which then calls ``finish``; None when there
        are none of this run's to go on from."""
        path = beside(checkpoint)
        if run_id is None or not path.is_file():
            return None
        try:
            meta = snapfile.read(path).meta
        except snapfile.SnapshotError as e:
            log(f"warning: the run's snapshots cannot be read, so the model gets none ({e})")
            return None
        if meta["run_id"] != run_id:
            return None
        step = epoch * meta["steps_per_epoch"] + step_in_epoch
        rec = cls(path, engine=meta["engine"], run_id=run_id, planned_steps=meta["planned_steps"],
                  steps_per_epoch=meta["steps_per_epoch"], step=step, weights=weights, state={}, log=log)
        return rec if rec.resumed else None

    def _resume(self, state: dict, step: int) -> None:
        """Go on from the file beside the checkpoint, up to the checkpoint's step."""
        try:
            snaps = snapfile.read(self.path)
        except snapfile.SnapshotError as e:
            self.log(f"warning: the run's snapshots cannot be read, so they start again here ({e})")
            return
        if snaps.meta.get("run_id") != self.meta["run_id"]:
            self.log(f"warning: {self.path.name} belongs to another run; the snapshots start again here")
            return
        keep = snaps.step <= step
        if not keep.any():
            return
        want = state.get("count") if isinstance(state, dict) else None
        if isinstance(want, int) and want > int(keep.sum()):
            self.log(f"warning: {self.path.name} holds {int(keep.sum())} of the checkpoint's {want} snapshots")
        self.kept = snaps.meta["kept"]
        self.step = [int(s) for s in snaps.step[keep]]
        self.epoch = [float(e) for e in snaps.epoch[keep]]
        self.accuracy = [float(a) for a in snaps.accuracy[keep]]
        self.loss = [float(x) for x in snaps.loss[keep]]
        self.tensors = {n: list(w[keep]) for n, w in snaps.weights.items()}
        known = [a for a in self.accuracy if not math.isnan(a)]
        self.known = known[-1] if known else math.nan
        self.resumed = True

    def _take(self, step: int, loss: float, current: dict[str, np.ndarray] | None = None) -> None:
        current = self.weights() if current is None else current
        for name, held in self.tensors.items():
            held.append(np.array(current[name], np.float32, copy=True))
        self.step.append(int(step))
        self.epoch.append(step / self.steps_per_epoch)
        self.accuracy.append(self.known)
        self.loss.append(loss)

    def after_step(self, step: int, loss=None) -> None:
        """After optimiser step ``step`` (counted from 1): a snapshot when one is due. ``loss``: the step's
        training loss (a float or a 0-d tensor), read only then."""
        self.current = step
        if not self.pending or step < self.pending[0]:
            return
        while self.pending and self.pending[0] <= step:
            self.pending.pop(0)
        if step > self.step[-1]:
            self._take(step, math.nan if loss is None else float(loss.item() if hasattr(loss, "item") else loss))
            if self.on_take is not None:
                self.on_take(step)

    def snapshots(self) -> snapfile.Snapshots:
        return snapfile.Snapshots(
            {**self.meta, "planned_steps": self.planned, "steps_per_epoch": self.steps_per_epoch,
             "kept": self.kept, "initializers": None},
            np.asarray(self.step, np.int64), np.asarray(self.epoch, np.float64),
            np.asarray(self.accuracy, np.float64), np.asarray(self.loss, np.float64),
            {n: np.stack(held) for n, held in self.tensors.items()})

    def save(self, history: list[dict]) -> dict:
        """At a checkpoint: the epochs' accuracy (at an epoch's last step it is the evaluation of those very
        weights), the file written, and the state the checkpoint keeps: {"count", "last_step", "planned_steps"}."""
        if history and isinstance(history[-1].get("test_accuracy"), (int, float)):
            self.known = float(history[-1]["test_accuracy"])
            end = len(history) * self.steps_per_epoch
            if self.step and self.step[-1] == end:
                self.accuracy[-1] = self.known
        self._write(self.path, self.snapshots())
        return self.state()

    def state(self) -> dict:
        return {"count": len(self.step), "last_step": self.step[-1], "planned_steps": self.planned}

    def _write(self, path: Path, snaps: snapfile.Snapshots) -> bool:
        try:
            snapfile.write(path, snaps)
            return True
        except OSError as e:
            self.log(f"warning: the weight snapshots could not be written to {path.name} "
                     f"({e.strerror or e}); the run goes on")
            return False

    def metadata(self, model: Path) -> dict:
        """What the model's metadata says of its snapshots (``training.snapshots``)."""
        return {"snapshots": {"file": RunFiles(Path(model)).snapshots.name, "count": len(self.step),
                              "kept": self.kept}}

    def finish(self, model: Path, step: int | None = None) -> Path | None:
        """After ``model`` was exported from the current weights (those of step ``step``, default: the last
        step taken): the last snapshot is those weights, each
        tensor is named by the model's initializer that holds it (checked equal), and the file is written
        as ``RunFiles(model).snapshots``. Returns that path, or None (a warning said why)."""
        import onnx
        from onnx import numpy_helper

        step = self.current if step is None else step
        current = self.weights()
        if step > self.step[-1]:
            self._take(step, math.nan, current)
        else:   # the same weights (a run's last step is always a snapshot); exactly what was exported
            for name, held in self.tensors.items():
                held[-1] = np.array(current[name], np.float32, copy=True)
        try:
            proto = onnx.load_from_string(Path(model).read_bytes())
        except Exception as e:  # noqa: BLE001 - a model just written; still, never fail a finished run
            self.log(f"warning: no snapshots for {Path(model).name}: it cannot be read back ({e})")
            return None
        inits = {i.name: numpy_helper.to_array(i) for i in proto.graph.initializer}
        table = {}
        for name, held in self.tensors.items():
            last = held[-1]
            found = next((n for n in (name, f"net.{name}") if n in inits and inits[n].shape == last.shape), None)
            if found is None:   # another exporter's names: the one initializer equal to it
                same = [n for n, v in inits.items() if v.shape == last.shape and np.array_equal(v, last)]
                found = same[0] if len(same) == 1 else None
            if found is None or not np.allclose(inits[found], last, rtol=0, atol=1e-6):
                self.log(f"warning: no snapshots for {Path(model).name}: its weights do not show {name} "
                         "as the run's last snapshot holds it")
                return None
            table[name] = found
        snaps = self.snapshots()
        snaps.meta["initializers"] = table
        path = RunFiles(Path(model)).snapshots
        return path if self._write(path, snaps) else None
