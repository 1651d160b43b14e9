"""What a training run is, Qt-free: the form's settings, the engine's command line, the
live state built from its jsonl events, and the runs history read back from disk.

Nothing here imports torch: ``training.config`` and ``training.data`` are pure Python /
numpy, so the presets come from the engine itself, never from a copy.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import sys
from collections import deque
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from training.config import PRESETS, TrainConfig, preset

from digitpad.core.fileio import atomic_write_text

DATASETS = [("mnist", "MNIST digits"), ("fashion-mnist", "Fashion-MNIST")]
OPTIMIZERS = ["adamw", "sgd"]
SCHEDULES = ["onecycle", "cosine", "constant"]
DEVICES = ["auto", "cpu", "cuda"]
LOG_SUFFIX = ".log.json"      # the app's own record of a run it watched (step curve, status)
RUN_SUFFIX = ".run.json"      # the engine's record of a completed run
STDERR_TAIL = 30


@dataclass(frozen=True)
class ArchInfo:
    name: str
    params: int
    description: str


# What ``digitpad-train --list-archs`` printed when this was written: shown at once, then
# replaced by the engine's own answer (runs in a QProcess, since the engine imports torch).
KNOWN_ARCHS = [
    ArchInfo("digitpad", 141_418, "default: 4 conv+BN blocks 32/64/64/128, best accuracy per CPU second"),
    ArchInfo("digitpad-s", 29_178, "small: 3 conv+BN blocks 16/32/64, for quick runs"),
    ArchInfo("seed001", 9_098, "conv 1->8, pool, conv 8->16, pool, linear (seed 001)"),
    ArchInfo("seed002", 28_986, "conv5x5 16+BN, conv5x5 32+BN, linear (seed 002, Fashion-MNIST)"),
    ArchInfo("seed000", 471_210, "4 conv+BN blocks 32/64/128/256, MLP head with dropout (seed 000)"),
]

_ARCH_LINE = re.compile(r"^(\S+)\s+([\d,]+)\s+params\s+(.*)$")


def parse_list_archs(text: str) -> list[ArchInfo]:
    """The lines of ``--list-archs``: ``name  141,418 params  description``."""
    out = []
    for line in text.splitlines():
        m = _ARCH_LINE.match(line.strip())
        if m:
            out.append(ArchInfo(m.group(1), int(m.group(2).replace(",", "")), m.group(3).strip()))
    return out


def format_params(n: int) -> str:
    return f"{n / 1e6:.2f} M" if n >= 1_000_000 else f"{n / 1e3:.1f} k" if n >= 1000 else str(n)


def default_threads() -> int:
    """Leave one core to the UI."""
    return max(1, (os.cpu_count() or 2) - 1)


def shared_datasets_dir() -> Path | None:
    """The repository's ``../shared/datasets`` (development checkouts), if there is one."""
    import digitpad

    path = Path(digitpad.__file__).resolve().parent.parent.parent / "shared" / "datasets"
    return path if (path / "MNIST").is_dir() else None


def default_data_folder() -> str:
    found = shared_datasets_dir()
    return str(found) if found else ""


def preset_names() -> list[tuple[str, str]]:
    return [(name, text) for name, (text, _overrides) in PRESETS.items()]


# The form fields a preset sets; a form whose fields differ from its preset's is "custom".
PRESET_FIELDS = ("arch", "dataset", "epochs", "batch_size", "lr", "optimizer", "schedule", "augment", "seed")


@dataclass
class RunSettings:
    """The set-up form, one field per engine flag (all passed explicitly, so a preset's
    values are just where the form starts)."""

    preset: str = "fast"
    # A custom form starts from this preset, which also brings the settings the form does not
    # show (extra synthetic data, weight EMA, the augmentation tail) to the run.
    base_preset: str = "fast"
    arch: str = "digitpad-s"
    dataset: str = "mnist"
    download: bool = False           # True: no --data-dir, the engine downloads
    data_dir: str = ""
    epochs: int = 1
    batch_size: int = 128
    lr: float = 5e-3
    optimizer: str = "adamw"
    schedule: str = "onecycle"
    augment: bool = False
    seed: int = 0
    device: str = "auto"
    name: str = ""                   # model file stem; empty: arch-dataset-timestamp
    limit: int | None = None         # not in the form; tests and quick trials

    @classmethod
    def from_preset(cls, name: str, base: "RunSettings | None" = None) -> "RunSettings":
        cfg = preset(name)
        s = RunSettings(**asdict(base)) if base else cls()
        s.preset = s.base_preset = name
        for f in PRESET_FIELDS:
            setattr(s, f, getattr(cfg, f))
        return s

    @classmethod
    def defaults(cls) -> "RunSettings":
        s = cls.from_preset("fast")
        s.data_dir = default_data_folder()
        s.download = not s.data_dir
        return s

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Any) -> "RunSettings":
        """Remembered settings; unknown keys and wrong types fall back to the defaults."""
        s = cls.defaults()
        if not isinstance(d, dict):
            return s
        for f in fields(cls):
            if f.name not in d:
                continue
            v, default = d[f.name], getattr(s, f.name)
            if default is None:
                if v is None or (isinstance(v, int) and not isinstance(v, bool)):
                    setattr(s, f.name, v)
            elif isinstance(default, bool):
                if isinstance(v, bool):
                    setattr(s, f.name, v)
            elif isinstance(default, float):
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    setattr(s, f.name, float(v))
            elif isinstance(v, type(default)) and not isinstance(v, bool):
                setattr(s, f.name, v)
        if s.preset not in PRESETS:
            s.preset = "custom"
        return s

    def problems(self, known_archs: list[str] | None = None) -> list[str]:
        """What stops a run from starting, in words, before a process is spawned."""
        out = []
        if known_archs and self.arch not in known_archs:
            out.append(f"unknown architecture {self.arch!r}")
        if not self.download:
            if not self.data_dir:
                out.append("choose a data folder, or pick “Download”")
            elif not Path(self.data_dir).is_dir():
                out.append(f"data folder {self.data_dir} does not exist")
        if self.name and not re.fullmatch(r"[\w.\- ]+", self.name):
            out.append("the model name may use letters, digits, spaces, '.', '-' and '_' only")
        try:
            TrainConfig(arch=self.arch, dataset=self.dataset, epochs=self.epochs, batch_size=self.batch_size,
                        lr=self.lr, optimizer=self.optimizer, schedule=self.schedule, device=self.device,
                        seed=self.seed).validate()
        except Exception as e:  # TrainError: the engine's own wording
            out.append(str(e))
        return out

    def out_path(self, models_dir: Path, now: dt.datetime | None = None) -> Path:
        stem = self.name.strip() or f"{self.arch}-{self.dataset}-{(now or dt.datetime.now()):%Y%m%d-%H%M%S}"
        return Path(models_dir) / f"{stem}.onnx"


def engine_command() -> list[str]:
    """The engine, run by this interpreter (the same environment the app runs in)."""
    return [sys.executable, "-m", "training"]


def train_args(s: RunSettings, out: Path, threads: int | None = None) -> list[str]:
    base = s.preset if s.preset in PRESETS else s.base_preset if s.base_preset in PRESETS else "default"
    args = ["--preset", base,
            "--arch", s.arch, "--dataset", s.dataset, "--epochs", str(s.epochs), "--batch-size", str(s.batch_size),
            "--lr", repr(float(s.lr)), "--optimizer", s.optimizer, "--schedule", s.schedule,
            "--augment" if s.augment else "--no-augment", "--seed", str(s.seed), "--device", s.device,
            "--threads", str(threads or default_threads()), "--out", str(out), "--progress", "jsonl"]
    if not s.download:
        args += ["--data-dir", str(s.data_dir)]
    if s.limit:
        args += ["--limit", str(s.limit)]
    return args


def resume_args(out: Path, threads: int | None = None) -> list[str]:
    return ["--resume", "--out", str(out), "--threads", str(threads or default_threads()), "--progress", "jsonl"]


def export_args(checkpoint: Path, out: Path, data_dir: str | None) -> list[str]:
    args = ["export", str(checkpoint), "--out", str(out), "--progress", "jsonl"]
    if data_dir:
        args += ["--data-dir", str(data_dir)]
    return args


def checkpoint_for(out: Path) -> Path:
    """The engine keeps ``X.ckpt.pt`` beside ``X.onnx`` (training.checkpoint.checkpoint_path)."""
    return Path(out).with_suffix(".ckpt.pt")


# -- the live run ---------------------------------------------------------------------------------
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
    rates: list[float] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)   # the engine's epoch records
    exported: Path | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    checkpoint: Path | None = None
    error: str = ""
    stderr_tail: deque = field(default_factory=lambda: deque(maxlen=STDERR_TAIL))
    started_at: str = ""

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
        elif kind == "epoch":
            rec = {k: ev[k] for k in ("epoch", "train_loss", "test_loss", "test_accuracy", "lr", "elapsed_s")
                   if k in ev}
            self.history = [h for h in self.history if h.get("epoch") != rec.get("epoch")] + [rec]
            self.epoch = int(ev.get("epoch", self.epoch))
            self.epochs = int(ev.get("epochs", self.epochs))
            self.elapsed_s = float(ev.get("elapsed_s", self.elapsed_s))
            if ev.get("checkpoint"):
                self.checkpoint = Path(ev["checkpoint"])
        elif kind == "exported":
            self.exported = Path(ev["path"])
            self.metrics = dict(ev.get("metrics") or {})
        elif kind == "error":
            self.error = str(ev.get("message", "unknown error"))
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

    def log_record(self) -> dict[str, Any]:
        """What the app keeps beside the model: enough to draw this run's curves again."""
        return {"format": 1, "status": self.status, "config": self.config, "device": self.device,
                "params": self.params, "started": self.started_at, "seconds": self.elapsed_s,
                "history": self.history, "metrics": self.metrics,
                "steps": [[s, round(l, 6), lr] for s, l, lr in zip(self.steps, self.losses, self.lrs)],
                "model": self.out.name if self.out else None,
                "checkpoint": self.checkpoint.name if self.checkpoint else None}


def save_log(state: RunState) -> Path | None:
    """Write ``X.log.json`` beside ``X.onnx`` atomically; None if there is nothing to keep."""
    if state.out is None or not (state.steps or state.history):
        return None
    path = state.out.with_name(state.out.stem + LOG_SUFFIX)
    try:
        atomic_write_text(path, json.dumps(state.log_record(), indent=None))
    except OSError:
        return None
    return path


def remove_temporaries(out: Path) -> list[Path]:
    """After a killed run: the engine's atomic writes may have left ``.X.onnx.tmpPID`` (or a
    checkpoint's) behind. The library never lists them; remove them anyway."""
    out = Path(out)
    removed = []
    for pattern in (f".{out.name}.tmp*", f".{out.stem}.ckpt.pt.tmp*", f".{out.name}.probe*"):
        for p in out.parent.glob(pattern):
            try:
                p.unlink()
                removed.append(p)
            except OSError:
                pass
    return removed


# -- the runs history -------------------------------------------------------------------------------
@dataclass
class RunRecord:
    stem: str
    folder: Path
    status: str = "completed"
    config: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    seconds: float | None = None
    created: str = ""
    steps: list[list[float]] = field(default_factory=list)   # [step, loss, lr]

    @property
    def model_path(self) -> Path:
        return self.folder / f"{self.stem}.onnx"

    @property
    def checkpoint_path(self) -> Path:
        return self.folder / f"{self.stem}.ckpt.pt"

    @property
    def has_model(self) -> bool:
        return self.model_path.is_file()

    @property
    def accuracy(self) -> float | None:
        acc = self.metrics.get("test_accuracy")
        if acc is None and self.history:
            acc = self.history[-1].get("test_accuracy")
        return float(acc) if isinstance(acc, (int, float)) else None

    def curves(self) -> dict[str, tuple[list[float], list[float]]]:
        """name -> (x, y). Step curves use the app's log; a run from a shell has epoch points only."""
        out: dict[str, tuple[list[float], list[float]]] = {}
        if self.steps:
            xs = [float(s[0]) for s in self.steps]
            out["train_loss"] = (xs, [float(s[1]) for s in self.steps])
            out["lr"] = (xs, [float(s[2]) for s in self.steps])
        spe = self.steps_per_epoch
        epochs = [float(h["epoch"]) for h in self.history if "epoch" in h]
        for key in ("test_loss", "test_accuracy"):
            ys = [float(h[key]) for h in self.history if key in h]
            if ys:
                out[key] = (epochs[:len(ys)], ys)
        if "train_loss" not in out and self.history and spe:
            out["train_loss"] = ([e * spe for e in epochs], [float(h.get("train_loss", math.nan)) for h in self.history])
        return out

    @property
    def steps_per_epoch(self) -> int:
        c = self.config
        n = c.get("limit") or 60000
        bs = c.get("batch_size") or 0
        return math.ceil(n / bs) if bs else 0


def _read_json(path: Path) -> dict | None:
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
        return d if isinstance(d, dict) else None
    except (OSError, ValueError, UnicodeDecodeError):
        return None


def list_runs(folder: Path) -> list[RunRecord]:
    """Runs beside the models, newest first: the engine's ``X.run.json`` (completed runs,
    from the app or a shell) merged with the app's ``X.log.json`` (step curves, stopped runs)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    records: dict[str, RunRecord] = {}
    mtimes: dict[str, float] = {}
    for path in list(folder.glob("*" + LOG_SUFFIX)) + list(folder.glob("*" + RUN_SUFFIX)):
        if path.name.startswith("."):
            continue  # a temporary file of an atomic write
        d = _read_json(path)
        if d is None:
            continue
        is_run = path.name.endswith(RUN_SUFFIX)
        stem = path.name[: -len(RUN_SUFFIX if is_run else LOG_SUFFIX)]
        rec = records.setdefault(stem, RunRecord(stem, folder))
        try:
            mtimes[stem] = max(mtimes.get(stem, 0.0), path.stat().st_mtime)
        except OSError:
            pass
        if is_run or not rec.config:
            rec.config = dict(d.get("config") or rec.config)
            rec.history = list(d.get("history") or rec.history)
            rec.metrics = dict(d.get("metrics") or rec.metrics)
            secs = d.get("seconds")
            rec.seconds = float(secs) if isinstance(secs, (int, float)) else rec.seconds
            rec.created = str(d.get("created") or d.get("started") or rec.created)
        if is_run:
            rec.status = str(d.get("status", "completed"))
        elif not (folder / f"{stem}{RUN_SUFFIX}").is_file():
            rec.status = str(d.get("status", rec.status))
        if not is_run and isinstance(d.get("steps"), list):
            rec.steps = [s for s in d["steps"] if isinstance(s, list) and len(s) >= 3]
    for rec in records.values():
        if rec.status == "stopped" and rec.has_model:
            rec.status = "stopped, exported"
    return sorted(records.values(), key=lambda r: mtimes.get(r.stem, 0.0), reverse=True)
