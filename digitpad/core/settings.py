"""What the app remembers between sessions: one JSON file, declared fields, typed values.

The fields of :class:`Settings` are the only settings keys; code reads and writes them as
attributes (``store.values.last_model``), never as strings. Every value read from the
file is checked against its declared type, so a hand-edited or damaged file costs at most
the fields it got wrong, each reported in ``problems``; a file that is not JSON at all (or
holds a number or nesting no reader could use, see ``safejson``) is kept aside as
``settings.damaged.json`` (never silently overwritten) and the app starts with the defaults.
A settings "file" that cannot be read (a FIFO, a device, a link to nowhere) is reported and
left alone: nothing is written over it.

Two windows (two processes) share the file, so a save writes only what this window changed
since it last read or wrote the file, merged into the file's current content under a lock
(read, merge, atomic rename): one window's opened models are never lost to another's save.

``VERSION`` numbers the schema; :func:`_migrate` turns older files into the current one
(Orange's versioned settings are the model).
"""
from __future__ import annotations

import copy
import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from . import fileio, paths, safejson

VERSION = 2
MAX_OPENED = 10
DAMAGED_SUFFIX = ".damaged.json"
LOCK_WAIT_S = 2.0   # another window's save takes milliseconds; past this, this save gives up
MAX_DEPTH = 16      # the file nests 3 deep; merging copies values recursively


@dataclass
class Settings:
    last_model: str | None = None                              # the model active when the app closed
    opened_models: list[str] = field(default_factory=list)     # files opened by hand, newest first
    datasets_folder: str | None = None                         # where datasets are; None: the engine downloads
    train_form: dict[str, Any] = field(default_factory=dict)   # the Train tab's form (client.RunSettings)
    window: dict[str, Any] = field(default_factory=dict)       # the main window: see WindowState


# The declared type of each field, checked on load: (allowed JSON types, element type for lists).
_TYPES: dict[str, tuple[tuple[type, ...], type | None]] = {
    "last_model": ((str, type(None)), None),
    "opened_models": ((list,), str),
    "datasets_folder": ((str, type(None)), None),
    "train_form": ((dict,), None),
    "window": ((dict,), None),
}


@dataclass(frozen=True)
class WindowState:
    """The main window as it was closed: its size when not maximised, and whether it was maximised
    (``Settings.window`` holds ``to_dict()``)."""

    width: int
    height: int
    maximized: bool = False

    SIDES = (200, 16384)   # px: what a real window measures

    def to_dict(self) -> dict[str, Any]:
        return {"width": self.width, "height": self.height, "maximized": self.maximized}

    @classmethod
    def from_dict(cls, d: Any) -> WindowState | None:
        """The remembered state, or None when there is none or it is not one a window could have."""
        if not isinstance(d, dict):
            return None
        w, h, m = d.get("width"), d.get("height"), d.get("maximized", False)
        lo, hi = cls.SIDES
        if not all(isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi for v in (w, h)) \
                or not isinstance(m, bool):
            return None
        return cls(w, h, m)


def _migrate(d: dict[str, Any]) -> dict[str, Any]:
    """Version 1 (unversioned) files: ``opened``, ``training_form`` (with its own data folder)
    and ``evaluation_data_dir``."""
    if d.get("version", 1) < 2:
        d = dict(d)
        if "opened" in d:
            d.setdefault("opened_models", d.pop("opened"))
        form = d.pop("training_form", None)
        if isinstance(form, dict):
            form = dict(form)
            folder = form.pop("data_dir", None)
            if isinstance(folder, str) and folder and not form.pop("download", False):
                d.setdefault("datasets_folder", folder)
            d.setdefault("train_form", form)
        folder = d.pop("evaluation_data_dir", None)
        if isinstance(folder, str) and folder:
            d.setdefault("datasets_folder", folder)
    return d


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false", type(None): "null"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__)


def parse(d: Any) -> tuple[Settings, list[str]]:
    """Settings from a decoded JSON value; each wrong field falls back to its default and is reported."""
    if not isinstance(d, dict):
        return Settings(), [f"settings file holds {_type_name(d)}, not an object: using the defaults"]
    d = _migrate(d)
    values, problems = Settings(), []
    for f in fields(Settings):
        if f.name not in d:
            continue
        value = d[f.name]
        allowed, element = _TYPES[f.name]
        if not isinstance(value, allowed) or isinstance(value, bool):
            problems.append(f"setting '{f.name}' is {_type_name(value)}; reset to its default")
            continue
        if element is not None:
            kept = [v for v in value if isinstance(v, element)]
            if len(kept) != len(value):
                problems.append(f"setting '{f.name}' had entries of the wrong type; they were dropped")
            value = kept
        setattr(values, f.name, value)
    values.opened_models = values.opened_models[:MAX_OPENED]
    return values, problems


def merge(base: Settings, mine: Settings, theirs: Settings) -> Settings:
    """``theirs`` (the file as it is now) with what changed from ``base`` to ``mine`` (this
    window's edits since it last read or wrote the file). Lists of opened models merge by entry
    (what this window opened or brought forward goes first, what it removed goes), the Train
    form by key, other fields whole."""
    out = copy.deepcopy(theirs)
    for f in fields(Settings):
        was, now = getattr(base, f.name), getattr(mine, f.name)
        if now == was:
            continue
        if isinstance(now, list) and isinstance(was, list):
            forward = [p for i, p in enumerate(now) if p not in was or i < was.index(p)]
            gone = set(was) - set(now)
            merged = forward + [p for p in getattr(out, f.name) if p not in forward and p not in gone]
            setattr(out, f.name, merged[:MAX_OPENED] if f.name == "opened_models" else merged)
        elif isinstance(now, dict) and isinstance(was, dict):
            merged = dict(getattr(out, f.name))
            merged.update({k: copy.deepcopy(v) for k, v in now.items() if k not in was or was[k] != v})
            for k in set(was) - set(now):
                merged.pop(k, None)
            setattr(out, f.name, merged)
        else:
            setattr(out, f.name, copy.deepcopy(now))
    return out


class SettingsStore:
    """``values`` (a :class:`Settings`), ``problems`` found while loading, ``save()``."""

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path is not None else paths.settings_path()
        self.problems: list[str] = []
        self._writable = True
        self.values = self._load()
        self._base = copy.deepcopy(self.values)   # the file as this window last read or wrote it

    @property
    def _lock_path(self) -> Path:
        return self.path.with_name(f".{self.path.name}.lock")

    def _load(self) -> Settings:
        try:
            data = fileio.read_bytes(self.path, fileio.SETTINGS)
        except fileio.FileReadError as e:
            if e.missing:
                return Settings()
            # Present but unreadable: keep it untouched (never overwrite what we could not read).
            self._writable = False
            self.problems.append(f"cannot read {self.path.name} ({e.strerror}); "
                                 "using the defaults, and changes will not be saved")
            return Settings()
        try:
            decoded = safejson.loads(data, self.path.name, MAX_DEPTH)
        except safejson.JsonError as e:
            kept = self._keep_damaged()
            self.problems.append(f"{self.path.name} is damaged ({e.reason}); " + (
                f"kept as {kept.name}, starting with the defaults" if kept else "starting with the defaults"))
            return Settings()
        values, problems = parse(decoded)
        self.problems += [f"{self.path.name}: {p}" for p in problems]
        return values

    def _on_disk(self) -> Settings | None:
        """The file's current content for a save to merge into: the defaults when it is missing or
        damaged (kept aside first), None when it cannot be read (then nothing is written)."""
        try:
            data = fileio.read_bytes(self.path, fileio.SETTINGS)
        except fileio.FileReadError as e:
            return Settings() if e.missing else None
        try:
            return parse(safejson.loads(data, self.path.name, MAX_DEPTH))[0]
        except safejson.JsonError:
            return Settings() if self._keep_damaged() else None

    def _keep_damaged(self) -> Path | None:
        target = self.path.with_name(self.path.name.removesuffix(".json") + DAMAGED_SUFFIX)
        try:
            os.replace(self.path, target)
            return target
        except OSError:
            self._writable = False
            return None

    def save(self) -> bool:
        """Merge this window's changes into the file and write it atomically; False (and nothing
        lost on disk) when the folder is not writable or the file cannot be read."""
        if not self._writable:
            return False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with fileio.exclusive_lock(self._lock_path, timeout=LOCK_WAIT_S):
                theirs = self._on_disk()
                if theirs is None:
                    return False
                merged = merge(self._base, self.values, theirs)
                fileio.atomic_write_text(self.path, json.dumps({"version": VERSION, **asdict(merged)}, indent=2))
        except OSError:
            return False  # a read-only home must not stop the app; the choice is just not remembered
        for f in fields(Settings):   # in place: views may hold ``values``
            setattr(self.values, f.name, getattr(merged, f.name))
        self._base = copy.deepcopy(merged)
        return True

    def update(self, **changes: Any) -> bool:
        for name, value in changes.items():
            if name not in _TYPES:
                raise AttributeError(f"no setting named {name!r}")
            setattr(self.values, name, value)
        return self.save()
