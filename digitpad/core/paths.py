"""Where digitpad keeps things: the one source of every folder and file-name rule.

The app and the engine both import this, so they always agree on the user's folders
(``platformdirs`` is asked once, the same way, here) and on the files a run leaves
beside its model.

- ``data_dir()``: ``$DIGITPAD_DATA_DIR``, else ``platformdirs.user_data_dir("digitpad",
  appauthor=False)`` (tests point the variable at a temporary folder);
- under it: ``models/`` (what the engine exports and the picker lists), ``datasets/``
  (torchvision downloads), ``my_digits/`` (the user's collection), ``cache/`` (drawn
  synthetic digits), ``settings.json``;
- the shipped model is package data (``digitpad/assets/models/default.onnx``), so an
  installed wheel finds it; nothing here looks for a source checkout.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "digitpad"
DATA_DIR_ENV = "DIGITPAD_DATA_DIR"
SETTINGS_FILE = "settings.json"

MODEL_SUFFIX = ".onnx"
CHECKPOINT_SUFFIX = ".ckpt.pt"     # the engine's resumable state, beside its model
NUMPY_CHECKPOINT_SUFFIX = ".ckpt.npz"  # the same from the NumPy engine (digitpad-train --engine numpy)
RUN_LOG_SUFFIX = ".run.json"       # the engine's record of a completed run
APP_LOG_SUFFIX = ".log.json"       # the app's record of a run it watched (step curve, status)


def data_dir() -> Path:
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override)
    import platformdirs  # only when no override: tests never touch the real folder

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def models_dir() -> Path:
    return data_dir() / "models"


def datasets_dir() -> Path:
    """Where the engine downloads datasets when no folder is given."""
    return data_dir() / "datasets"


def collection_dir() -> Path:
    return data_dir() / "my_digits"


def cache_dir() -> Path:
    return data_dir() / "cache"


def settings_path() -> Path:
    return data_dir() / SETTINGS_FILE


def package_dir() -> Path:
    return Path(__file__).resolve().parent.parent


def shipped_model_path() -> Path:
    return package_dir() / "assets" / "models" / "default.onnx"


def icon_path(kind: str = "svg") -> Path:
    """The app's icon (package data): ``svg`` (scalable) or ``png`` (256x256)."""
    return package_dir() / "assets" / "icon" / f"digitpad.{kind}"


def reference_digits_path() -> Path:
    """200 labelled MNIST test digits (package data): what a model from elsewhere is tried on."""
    return package_dir() / "assets" / "reference" / "mnist-test-200.npz"


@dataclass(frozen=True)
class RunFiles:
    """The files of one run, named after its model: ``X.onnx``, ``X.ckpt.pt`` (``X.ckpt.npz`` from the
    NumPy engine), ``X.run.json``, ``X.log.json``."""

    model: Path

    @classmethod
    def of(cls, path: str | os.PathLike) -> RunFiles:
        """From any of the run's files (or its model path)."""
        path = Path(path)
        name = path.name
        for suffix in (CHECKPOINT_SUFFIX, NUMPY_CHECKPOINT_SUFFIX, RUN_LOG_SUFFIX, APP_LOG_SUFFIX, MODEL_SUFFIX):
            if name.endswith(suffix):
                return cls(path.with_name(name[: -len(suffix)] + MODEL_SUFFIX))
        return cls(path.with_name(name + MODEL_SUFFIX))

    @property
    def stem(self) -> str:
        return self.model.name[: -len(MODEL_SUFFIX)] if self.model.name.endswith(MODEL_SUFFIX) else self.model.stem

    @property
    def checkpoint(self) -> Path:
        return self.model.with_name(self.stem + CHECKPOINT_SUFFIX)

    @property
    def numpy_checkpoint(self) -> Path:
        return self.model.with_name(self.stem + NUMPY_CHECKPOINT_SUFFIX)

    def best_epoch_model(self, epoch: int) -> Path:
        """Where ``digitpad-train export CKPT --best`` writes the run's best epoch: ``X-best-epochN.onnx``."""
        return self.model.with_name(f"{self.stem}-best-epoch{epoch}{MODEL_SUFFIX}")

    @property
    def run_log(self) -> Path:
        return self.model.with_name(self.stem + RUN_LOG_SUFFIX)

    @property
    def app_log(self) -> Path:
        return self.model.with_name(self.stem + APP_LOG_SUFFIX)

    @property
    def lock(self) -> Path:
        """Held by the engine writing this run (``.X.onnx.lock``): two engines never share an --out."""
        return self.model.with_name(f".{self.model.name}.lock")

    def all(self) -> list[Path]:
        return [self.model, self.checkpoint, self.numpy_checkpoint, self.run_log, self.app_log]

    def temporaries(self) -> list[Path]:
        """What an atomic write killed half-way may leave: ``.X.onnx.tmpPID``, ``.X.ckpt.pt.tmpPID``,
        and the engine's writability probe ``.X.onnx.probePID``."""
        folder = self.model.parent
        found: list[Path] = []
        for name in (self.model.name, self.checkpoint.name, self.numpy_checkpoint.name):
            found += folder.glob(f".{name}.tmp*")
        found += folder.glob(f".{self.model.name}.probe*")
        return found

    def remove(self, files: bool = True) -> tuple[list[Path], list[str]]:
        """Delete the run's files (``files=False``: only the temporaries). Returns what was removed
        and what could not be, as "name (reason)"; a file that is not there is neither."""
        removed, failed = [], []
        for p in (self.all() if files else []) + self.temporaries():
            try:
                p.unlink()
                removed.append(p)
            except FileNotFoundError:
                pass
            except OSError as e:
                failed.append(f"{p.name} ({e.strerror or e})")
        return removed, failed
