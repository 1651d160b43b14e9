"""The Train tab's form, Qt-free: one field per engine flag, the presets and architectures it
offers, and the checks that stop a run from starting.

The presets come from the engine itself (``training.config``, pure Python: the GUI's one
door into the engine), never from a copy.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from digitpad.core import archs as core_archs
from digitpad.core import datasets as core_datasets
from digitpad.core.contract import DATASET_INPUTS, MNIST_INPUT
from training.config import ENGINES, PRESETS, TrainConfig, default_preset, preset

from .data_preview import image_folder_problem

# The form's data sets, in its words. "folder" is the user's own labelled pictures (``image_folder``).
DATASETS = [("mnist", "MNIST digits"), ("fashion-mnist", "Fashion-MNIST"), ("optdigits", "UCI 8×8 digits"),
            ("cifar10", "CIFAR-10 photos"), ("folder", "Image folder…")]
OPTIMIZERS = ["adamw", "sgd"]
SCHEDULES = ["onecycle", "cosine", "constant"]
DEVICES = ["auto", "cpu", "cuda"]
# The NumPy engine (training/scratch) builds the archs of its presets, trains with plain SGD on the CPU,
# without augmentation or label smoothing, on a constant or cosine schedule (its check_config).
NUMPY_ARCHS = tuple(dict.fromkeys(o["arch"] for _t, o in PRESETS.values() if o.get("engine") == "numpy"))
NUMPY_SCHEDULES = ("constant", "cosine")


@dataclass(frozen=True)
class ArchInfo:
    """An architecture as the form offers it. ``size`` and ``channels`` (the images it takes) are
    ``digitpad.core.archs``' facts when not given; an arch the core does not know takes 28x28 grey."""

    name: str
    params: int
    description: str
    size: int = 0
    channels: int = 0

    def __post_init__(self) -> None:
        known = core_archs.ARCHS.get(self.name)
        if not self.size:
            object.__setattr__(self, "size", known.size if known else MNIST_INPUT.size)
        if not self.channels:
            object.__setattr__(self, "channels", known.channels if known else MNIST_INPUT.channels)

    @property
    def input_size(self) -> int:
        """The side of the images it takes."""
        return self.size

    @property
    def input_text(self) -> str:
        return _images(self.size, self.channels)


# The zoo as the core describes it: shown at once, then replaced by the engine's own answer to
# ``digitpad-train --list-archs`` (run in a QProcess, since the engine imports torch).
KNOWN_ARCHS = [ArchInfo(a.name, a.params, a.description, a.size, a.channels) for a in core_archs.ARCHS.values()]

_ARCH_LINE = re.compile(r"^(\S+)\s+([\d,]+)\s+params\s+(.*)$")


def parse_list_archs(text: str) -> list[ArchInfo]:
    """The lines of ``--list-archs``: ``name  141,418 params  description``."""
    out = []
    for line in text.splitlines():
        m = _ARCH_LINE.match(line.strip())
        if m:
            out.append(ArchInfo(m.group(1), int(m.group(2).replace(",", "")), m.group(3).strip()))
    return out


def input_kind(dataset: str) -> tuple[int, int] | None:
    """(side, channels) of a data set's images: what decides which archs and presets fit it."""
    spec = DATASET_INPUTS.get(dataset)
    return (spec.size, spec.channels) if spec else None


def arch_input(info) -> tuple[int, int]:
    """(side, channels) an arch takes (an ArchInfo or a ``core.archs.Arch``): the zoo's facts; an arch
    only the engine lists takes 28x28 grey (ArchInfo)."""
    return info.size, info.channels


def arch_fits(info, dataset: str) -> bool:
    return arch_input(info) == input_kind(dataset)


def offered_archs(dataset: str, engine_archs: list, engine_only: bool = False) -> list:
    """The archs that take this data set's images, in the zoo's order (``core.archs``), each as the engine
    described it, then any the engine lists beyond the zoo. ``engine_only``: only those the engine lists
    (once it has answered ``--list-archs``: an arch it does not build is not offered)."""
    by_name = {a.name: a for a in engine_archs}
    merged = [by_name.get(name, arch) for name, arch in core_archs.ARCHS.items()
              if name in by_name or not engine_only]
    merged += [a for a in engine_archs if a.name not in core_archs.ARCHS]
    return [a for a in merged if arch_fits(a, dataset)]


def preset_for(dataset: str) -> str | None:
    """The engine's preset made for a data set: its default for it (``training.config.DEFAULT_PRESETS``),
    else the preset named after it, else the one named after a data set of the same images (a folder of
    photos: CIFAR-10's). None when the engine has none."""
    named = default_preset(None, dataset)
    if named in PRESETS:
        return named
    kind = input_kind(dataset)
    for name in [dataset, *(n for n in PRESETS if n in DATASET_INPUTS)]:
        if name in PRESETS and input_kind(preset(name).dataset) == kind:
            return name
    return None


def format_params(n: int) -> str:
    return f"{n / 1e6:.2f} M" if n >= 1_000_000 else f"{n / 1e3:.1f} k" if n >= 1000 else str(n)


def preset_names() -> list[tuple[str, str]]:
    return [(name, text) for name, (text, _overrides) in PRESETS.items()]


def preset_extras(name: str) -> list[str]:
    """What preset ``name`` brings to a run that the form does not show, in words (empty: nothing)."""
    cfg = preset(name)
    extras = [f"{cfg.synthetic:,} template-drawn digits" if cfg.synthetic else "",
              f"{cfg.restroke:,} re-stroked MNIST digits" if cfg.restroke else "",
              f"the UNIPEN training writers' digits drawn {cfg.real_writers} times each" if cfg.real_writers else "",
              f"{cfg.nondigits:,} generated non-digits" if cfg.nondigits else "",
              f"weight averaging (EMA {cfg.ema:g})" if cfg.ema else "",
              f"label smoothing {cfg.label_smoothing:g}" if cfg.label_smoothing else "",
              f"milder augmentation over the last {cfg.mild_epochs} epochs" if cfg.augment and cfg.mild_epochs else ""]
    return [e for e in extras if e]


# The range of each numeric field: the form's spin boxes take these, and a remembered value outside
# one (a hand-edited settings file: 10**30 epochs) falls back to the default instead of reaching them.
RANGES: dict[str, tuple[float, float]] = {
    "epochs": (1, 500), "batch_size": (1, 8192), "lr": (0.00001, 5.0), "seed": (0, 2_147_483_647),
    "limit": (1, 1_000_000_000),
}

# The form fields a preset sets; a form whose fields differ from its preset's is "custom".
PRESET_FIELDS = ("engine", "arch", "dataset", "epochs", "batch_size", "lr", "optimizer", "schedule", "augment", "seed")


@dataclass
class RunSettings:
    """The set-up form, one field per engine flag (all passed explicitly, so a preset's
    values are just where the form starts)."""

    preset: str = "fast"
    # A custom form starts from this preset, which also brings the settings the form does not
    # show (extra synthetic data, weight EMA, the augmentation tail) to the run.
    base_preset: str = "fast"
    engine: str = "torch"            # torch | numpy (the from-scratch NumPy engine)
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
    image_folder: str = ""           # the user's labelled pictures: the data of dataset "folder"
    name: str = ""                   # model file stem; empty: arch-dataset-timestamp
    limit: int | None = None         # not in the form; tests and quick trials

    @classmethod
    def from_preset(cls, name: str, base: RunSettings | None = None) -> RunSettings:
        cfg = preset(name)
        s = RunSettings(**asdict(base)) if base else cls()
        s.preset = s.base_preset = name
        for f in PRESET_FIELDS:
            setattr(s, f, getattr(cfg, f))
        return s

    @classmethod
    def remembered(cls, form: Any, datasets_folder: str | None) -> RunSettings:
        """The form as the settings store keeps it: its fields (``Settings.train_form``) and the
        data folder all tabs share (``Settings.datasets_folder``; None: download)."""
        s = cls.from_dict(form)
        s.data_dir, s.download = datasets_folder or "", not datasets_folder
        return s

    def to_dict(self) -> dict[str, Any]:
        """The fields to remember: not the data folder (shared), the name or the limit (one run's)."""
        d = asdict(self)
        for key in ("data_dir", "download", "name", "limit"):
            d.pop(key)
        return d

    @classmethod
    def from_dict(cls, d: Any) -> RunSettings:
        """Remembered settings; unknown keys, wrong types and numbers out of :data:`RANGES` fall back
        to the defaults."""
        s = cls.from_preset("fast")
        if not isinstance(d, dict):
            return s
        for f in fields(cls):
            if f.name not in d:
                continue
            v, default = d[f.name], getattr(s, f.name)
            lo, hi = RANGES.get(f.name, (None, None))
            if lo is not None and v is not None and not (isinstance(v, (int, float)) and not isinstance(v, bool)
                                                         and lo <= v <= hi):
                continue
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

    def data_folder(self) -> str | None:
        """The run's ``--data-dir``: the picture folder for "folder", else the data folder; None: download."""
        if self.dataset == "folder":
            return self.image_folder
        return None if self.download else self.data_dir

    def base(self) -> str:
        """The preset the run starts from (``--preset``): the form's, or the one it was edited from,
        unless that one is for another engine or other images (size, channels); then the engine's own
        preset for this engine and data set (seed004 for NumPy, optdigits for the 8x8 digits, the one
        for CIFAR-10's photos for a folder of photos), else ``fast``."""
        name = self.preset if self.preset in PRESETS else self.base_preset if self.base_preset in PRESETS \
            else "default"
        cfg = preset(name)
        if cfg.engine != self.engine or input_kind(cfg.dataset) != input_kind(self.dataset):
            name = (default_preset(self.engine if self.engine != "torch" else None, self.dataset)
                    or preset_for(self.dataset) or "fast")
        return name

    def momentum(self) -> float:
        """SGD's momentum in this run: the base preset's (the form has no field for it; 0 is plain SGD)."""
        return preset(self.base()).momentum

    def base_threads(self) -> int | None:
        """The thread count the base preset sets itself (optdigits: 1), or None."""
        return preset(self.base()).threads

    def engine_problems(self, archs: list[ArchInfo] | None = None) -> list[str]:
        """What the chosen engine, arch and data set cannot do together, in the engine's words."""
        out = []
        if self.engine not in ENGINES:
            return [f"unknown engine {self.engine!r}"]
        info = next((a for a in archs or KNOWN_ARCHS if a.name == self.arch), None) \
            or core_archs.ARCHS.get(self.arch)
        kind = input_kind(self.dataset)
        if info is not None and kind is not None and arch_input(info) != kind:
            fitting = [a.name for a in offered_archs(self.dataset, archs or KNOWN_ARCHS)]
            noun = "digits" if DATASET_INPUTS[self.dataset].drawn else "images"
            out.append(f"{self.arch} takes {_images(*arch_input(info))} images; {self.dataset} {noun} are "
                       f"{_images(*kind)} (archs for them: {', '.join(fitting) or 'none yet'})")
        if self.engine == "numpy":
            if self.arch not in NUMPY_ARCHS:
                out.append(f"the NumPy engine builds {', '.join(NUMPY_ARCHS)} only (not {self.arch})")
            if self.optimizer != "sgd":
                out.append("the NumPy engine trains with plain SGD")
            if self.schedule not in NUMPY_SCHEDULES:
                out.append("the NumPy engine's schedule is constant or cosine")
            if self.augment:
                out.append("the NumPy engine does not augment")
            if self.device == "cuda":
                out.append("the NumPy engine runs on the CPU")
        return out

    def problems(self, known_archs: list[str] | None = None, archs: list[ArchInfo] | None = None) -> list[str]:
        """What stops a run from starting, in words, before a process is spawned."""
        out = []
        if known_archs and self.arch not in known_archs:
            out.append(f"unknown architecture {self.arch!r}")
        out += self.engine_problems(archs)
        title = core_datasets.DATASET_TITLES.get(self.dataset, self.dataset)
        if self.dataset == "folder":
            problem = image_folder_problem(self.image_folder)
            if problem:
                out.append(problem)
        elif self.download and self.dataset not in core_datasets.DOWNLOADABLE:
            out.append(f"the {title} cannot be downloaded: choose the data folder that holds them")
        elif not self.download:
            if not self.data_dir:
                out.append("choose a data folder, or pick “Download”")
            elif not Path(self.data_dir).is_dir():
                out.append(f"data folder {self.data_dir} does not exist")
            else:   # the folder checked before Start: a run that would fail on its first line never starts
                missing = [split for split in ("train", "test")
                           if not core_datasets.has_split(self.data_dir, self.dataset, split)]
                if missing:
                    layout = core_datasets.SPLIT_LAYOUTS.get(self.dataset, "")
                    if missing == ["train"]:
                        layout = layout.replace("t10k", "train").replace(".tes", ".tra").replace("test/", "train/")
                    out.append(f"no {title} in {self.data_dir} (its {' and '.join(missing)} set: looked for {layout}); "
                               + ("choose the folder that holds it, or pick “Download it”"
                                  if self.dataset in core_datasets.DOWNLOADABLE else
                                  "choose the folder that holds it (it comes as files, not downloaded)"))
        if self.name and not re.fullmatch(r"[\w.\- ]+", self.name):
            out.append("the model name may use letters, digits, spaces, '.', '-' and '_' only")
        try:
            TrainConfig(engine=self.engine, arch=self.arch, dataset=self.dataset, epochs=self.epochs,
                        batch_size=self.batch_size, lr=self.lr, optimizer=self.optimizer, schedule=self.schedule,
                        device=self.device,
                        seed=self.seed).validate()
        except Exception as e:  # TrainError: the engine's own wording
            out.append(str(e))
        return out

    def out_path(self, models_dir: Path, now: dt.datetime | None = None) -> Path:
        stem = self.name.strip() or f"{self.arch}-{self.dataset}-{(now or dt.datetime.now()):%Y%m%d-%H%M%S}"
        return Path(models_dir) / f"{stem}.onnx"


def _images(side: int, channels: int) -> str:
    return f"{side}×{side}" + (" RGB" if channels == 3 else "")
