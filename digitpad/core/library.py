"""Where models live and which one was used last. No Qt here: views only render this.

- the shipped model (package data, ``paths.shipped_model_path()``),
- the user's models: every ``*.onnx`` in ``paths.models_dir()`` (the training engine
  exports there),
- files opened by hand, remembered in the settings with the last model.

A folder may hold thousands of models, so listing is cheap and describing is cached: a model's
description (its ``digitpad`` metadata, read by ``modelfile.read_metadata_props``, which seeks
past the weights instead of reading them) is kept by (path, size, mtime, inode) and read again
only when the file changes. Listing 5,000 models costs a directory scan and one ``stat`` each;
choosing the model to start with describes none of them. Links that lead nowhere, loops of
links, FIFOs and devices in the folder are not models: they are left out, never opened.
"""
from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from . import not_digit
from .contract import METADATA_KEY, ModelMetadata
from .fileio import resolved
from .modelfile import read_metadata_props
from .paths import MODEL_SUFFIX, models_dir, shipped_model_path
from .settings import MAX_OPENED, SettingsStore

__all__ = ["ModelEntry", "ModelLibrary", "describe", "read_metadata_props", "summary_lines"]


@dataclass
class ModelEntry:
    path: Path
    source: str                         # "shipped", "user" or "opened"
    metadata: ModelMetadata | None = None
    problem: str | None = None          # why the metadata could not be read, if it could not
    pending: bool = False               # listed, not described yet (ModelLibrary.entries' time budget)
    real: Path | None = field(default=None, repr=False, compare=False)   # the resolved path, when known

    @property
    def name(self) -> str:
        return "Shipped model (default)" if self.source == "shipped" else self.path.stem

    @property
    def key(self) -> str:
        """The file's resolved path: one entry per file, however it was reached."""
        if self.real is None:
            self.real = resolved(self.path)
        return str(self.real)


# (path, size, mtime, inode) -> (metadata, problem). Shared by the UI thread and the listing
# job; each value is computed from the file alone, so a race only computes one twice.
_DESCRIPTIONS: dict[tuple[str, int, int, int], tuple[ModelMetadata | None, str | None]] = {}
_DESCRIPTIONS_LOCK = threading.Lock()
_MAX_DESCRIPTIONS = 50_000


def _read_description(path: Path) -> tuple[ModelMetadata | None, str | None]:
    try:
        text = read_metadata_props(path).get(METADATA_KEY)
        return (ModelMetadata.from_json(text) if text is not None else None), None
    except (OSError, ValueError, UnicodeDecodeError) as e:
        return None, str(e)


def describe(path: Path, source: str, read: bool = True, real: Path | None = None,
             st: os.stat_result | None = None) -> ModelEntry:
    """A model's entry with its metadata (cached until the file changes) or why it has none.
    ``read`` False: only what the cache holds; an entry not in it comes back ``pending``. ``real``
    and ``st``: the resolved path and the file's stat, when the caller has them already."""
    entry = ModelEntry(path if isinstance(path, Path) else Path(path), source, real=real)
    try:
        st = st or os.stat(entry.path)
    except (OSError, ValueError) as e:
        entry.problem = f"cannot read {entry.path}: {getattr(e, 'strerror', None) or e}"
        return entry
    key = (str(entry.path), st.st_size, st.st_mtime_ns, st.st_ino)
    with _DESCRIPTIONS_LOCK:
        cached = _DESCRIPTIONS.get(key)
    if cached is None:
        if not read:
            entry.pending = True
            return entry
        cached = _read_description(entry.path)
        with _DESCRIPTIONS_LOCK:
            if len(_DESCRIPTIONS) >= _MAX_DESCRIPTIONS:
                _DESCRIPTIONS.clear()
            _DESCRIPTIONS[key] = cached
    entry.metadata, entry.problem = cached
    return entry


def summary_lines(meta: ModelMetadata | None) -> list[tuple[str, str]]:
    """(label, value) rows the model panel shows; works for files without metadata."""
    if meta is None:
        return [("Metadata", "none: not a digitpad export, so layers and kernels are unknown")]
    t = meta.training or {}
    m = meta.metrics or {}
    rows = [("Architecture", meta.arch), ("Dataset", meta.dataset)]
    acc = m.get("test_accuracy")
    if isinstance(acc, (int, float)):
        rows.append(("Test accuracy", f"{acc * 100:.2f} %" if acc <= 1 else f"{acc:.2f} %"))
    if meta.created:
        rows.append(("Created", meta.created.replace("T", " ")[:16]))
    secs = next((t[k] for k in ("seconds", "train_seconds", "duration_s", "wall_seconds") if k in t), None)
    if isinstance(secs, (int, float)):
        rows.append(("Training time", _duration(secs)))
    device = t.get("device") or t.get("device_name")
    if device:
        rows.append(("Device", str(device)))
    config = t.get("config") if isinstance(t.get("config"), dict) else {}
    epochs = t.get("epochs") or config.get("epochs")
    if epochs:
        rows.append(("Epochs", str(epochs)))
    data = t.get("data")
    if isinstance(data, dict) and data:
        rows.append(("Trained on", "; ".join(f"{name}: {n:,}" for name, n in data.items()
                                              if isinstance(n, int) and not isinstance(n, bool))))
    if meta.input_spec.drawn:   # "not a digit" is a question about drawings; a photo model names a class
        rows.append(("Not a digit", _not_digit_line(meta)))
    rows.append(("Layers", ", ".join(layer.name for layer in meta.layers) or "none exposed"))
    return rows


def _not_digit_line(meta: ModelMetadata) -> str:
    """What the model's calibrated not-a-digit rule is, or that it has none."""
    rule = not_digit.from_metadata(meta)
    if rule is None:
        return "no calibrated threshold: it always names a digit"
    cal = rule.calibration or {}
    rates = []
    if isinstance(cal.get("flagged"), (int, float)) and isinstance(cal.get("n"), int):
        rates.append(f"flags {cal['flagged']:.1%} of {cal['n']:,} held-out real digits")
    if isinstance(cal.get("mnist_test_flagged"), (int, float)):
        rates.append(f"{cal['mnist_test_flagged']:.2%} of MNIST test")
    return f"digit score below {rule.threshold:.2f}" + (f" ({', '.join(rates)})" if rates else "")


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds // 60:.0f} min {seconds % 60:.0f} s"
    return f"{seconds // 3600:.0f} h {seconds % 3600 // 60:.0f} min"


class ModelLibrary:
    """The models the picker offers, and the remembered choice (in the settings store)."""

    def __init__(self, settings: SettingsStore | None = None, models: Path | None = None):
        self.settings = settings if settings is not None else SettingsStore()
        self.models = Path(models) if models is not None else models_dir()

    def problems(self) -> list[str]:
        """What keeps the library from working as it should, in words (empty when all is well)."""
        if self.models.exists() and not self.models.is_dir():
            return [f"the models folder {self.models} is a file, so trained models cannot be saved or listed"]
        return []

    @property
    def last_used(self) -> Path | None:
        value = self.settings.values.last_model
        return Path(value) if value else None

    def remember(self, path: Path) -> None:
        path = resolved(path)
        values = self.settings.values
        values.last_model = str(path)
        if self._source_of(path) == "opened":
            others = [p for p in values.opened_models if p != str(path)]
            values.opened_models = ([str(path)] + others)[:MAX_OPENED]
        self.settings.save()

    def forget(self, path: Path) -> bool:
        """Take a file opened by hand off the list (the file itself is left alone); False if it was not
        on it. The models folder's and the shipped model are listed from where they are, not forgotten."""
        key = str(resolved(path))
        values = self.settings.values
        kept = [p for p in values.opened_models if p != key and p != str(path)]
        if len(kept) == len(values.opened_models):
            return False
        values.opened_models = kept
        if values.last_model in (key, str(path)):
            values.last_model = None
        self.settings.save()
        return True

    # -- listing ---------------------------------------------------------------------------
    def _source_of(self, path: Path) -> str:
        path = resolved(path)
        if path == resolved(shipped_model_path()):
            return "shipped"
        if path.parent == resolved(self.models):
            return "user"
        return "opened"

    def user_models(self) -> list[Path]:
        """The models folder's ``*.onnx`` files, newest first, without reading any of them."""
        return [path for path, _real, _st in self._user_files()]

    def _user_files(self) -> list[tuple[Path, Path, os.stat_result]]:
        """(path, resolved path, stat) of each model in the folder, newest first. Listing 5,000
        models is on the UI thread's path, so it makes one Path and one stat per file: resolving
        each path alone cost 0.1 s; a plain file's resolved path is in the resolved folder."""
        found: list[tuple[float, str, Path, Path, os.stat_result]] = []
        try:
            with os.scandir(self.models) as it:
                folder = resolved(self.models)
                same = folder == Path(os.path.abspath(self.models))
                for e in it:
                    if not e.name.endswith(MODEL_SUFFIX):
                        continue
                    try:
                        if not e.is_file():   # follows links; False for a loop, a dangling link, a FIFO
                            continue
                        st = e.stat()
                    except OSError:           # gone since the scan
                        continue
                    path = Path(e.path)
                    real = resolved(path) if e.is_symlink() else path if same else folder / e.name
                    found.append((st.st_mtime, e.name, path, real, st))
        except OSError:                       # no folder (yet), or not a folder
            return []
        found.sort(key=lambda t: (-t[0], t[1]))
        return [(path, real, st) for _m, _n, path, real, st in found]

    def _opened(self) -> list[Path]:
        return [Path(p) for p in self.settings.values.opened_models if Path(p).is_file()]

    def entries(self, budget_s: float | None = None, stop: Callable[[], bool] | None = None) -> list[ModelEntry]:
        """Shipped first, then the user's models (newest first), then files opened by hand.
        ``budget_s``: describe files not described before for at most this long; the rest come back
        ``pending`` (the list itself is always complete). ``stop``: asked between files; when it says
        so, the remaining ones come back pending."""
        deadline = None if budget_s is None else time.monotonic() + budget_s

        def read() -> bool:
            return (deadline is None or time.monotonic() < deadline) and not (stop is not None and stop())

        found: list[ModelEntry] = []
        if shipped_model_path().is_file():
            found.append(describe(shipped_model_path(), "shipped", read()))
        found += [describe(p, "user", read(), real, st) for p, real, st in self._user_files()]
        found += [describe(p, "opened", read()) for p in self._opened()]
        return _unique(found, key=lambda e: e.key)

    def iter_startup_candidates(self) -> Iterator[Path]:
        """Models to try at start, best first: the last used, then the shipped, then any user model,
        then the files opened by hand. Lazy: the folder is listed only if the first ones fail."""
        seen: set[str] = set()

        def fresh(path: Path, real: Path | None = None) -> bool:
            key = str(real or resolved(path))
            if key in seen:
                return False
            seen.add(key)
            return True

        last = self.last_used
        if last is not None and last.is_file() and fresh(last):
            yield last
        if shipped_model_path().is_file() and fresh(shipped_model_path()):
            yield shipped_model_path()
        for path, real, _st in self._user_files():
            if fresh(path, real):
                yield path
        for path in self._opened():
            if fresh(path):
                yield path

    def startup_candidates(self) -> list[Path]:
        """:meth:`iter_startup_candidates`, all of them. Nothing is read to make the list."""
        return list(self.iter_startup_candidates())


def _unique(items: list, key) -> list:
    seen, out = set(), []
    for item in items:
        k = key(item)
        if k not in seen:
            seen.add(k)
            out.append(item)
    return out
