"""Where models live and which one was used last. No Qt here: views only render this.

- the shipped model (package data, ``paths.shipped_model_path()``),
- the user's models: every ``*.onnx`` in ``paths.models_dir()`` (the training engine
  exports there),
- files opened by hand, remembered in the settings with the last model.

Listing reads each file's ``digitpad`` metadata with a tiny protobuf scanner instead of
the ``onnx`` package, so filling the picker costs microseconds, not a 0.2 s import.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from .contract import METADATA_KEY, ModelMetadata
from .paths import SETTINGS_FILE, data_dir, shipped_model_path


# -- a minimal protobuf reader for ModelProto.metadata_props (field 14) -----------------------
def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _fields(buf: bytes):
    """Yield (field number, wire type, value) for one protobuf message, skipping nothing."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 2:
            n, pos = _varint(buf, pos)
            if pos + n > len(buf):
                raise ValueError("truncated field")
            value, pos = buf[pos:pos + n], pos + n
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        yield field, wire, value


def read_metadata_props(path: str | Path) -> dict[str, str]:
    """metadata_props of an ONNX file as a dict. Raises ValueError if it is not protobuf."""
    data = Path(path).read_bytes()
    props = {}
    for field, wire, value in _fields(data):
        if field == 14 and wire == 2:
            entry = {f: v for f, w, v in _fields(value) if w == 2}
            props[entry.get(1, b"").decode("utf-8", "replace")] = entry.get(2, b"").decode("utf-8", "replace")
    return props


@dataclass
class ModelEntry:
    path: Path
    source: str                         # "shipped", "user" or "opened"
    metadata: ModelMetadata | None = None
    problem: str | None = None          # why the metadata could not be read, if it could not

    @property
    def name(self) -> str:
        return "Shipped model (default)" if self.source == "shipped" else self.path.stem

    @property
    def key(self) -> str:
        return str(self.path.resolve())


def describe(path: Path, source: str) -> ModelEntry:
    entry = ModelEntry(Path(path), source)
    try:
        text = read_metadata_props(path).get(METADATA_KEY)
        if text is not None:
            entry.metadata = ModelMetadata.from_json(text)
    except (OSError, ValueError, UnicodeDecodeError) as e:
        entry.problem = str(e)
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
    rows.append(("Layers", ", ".join(layer.name for layer in meta.layers) or "none exposed"))
    return rows


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds // 60:.0f} min {seconds % 60:.0f} s"
    return f"{seconds // 3600:.0f} h {seconds % 3600 // 60:.0f} min"


class ModelLibrary:
    """The models the picker offers, and the remembered choice."""

    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root else data_dir()
        self._settings = self._load_settings()

    # -- settings --------------------------------------------------------------------------
    def _settings_path(self) -> Path:
        return self.root / SETTINGS_FILE

    def _load_settings(self) -> dict:
        try:
            value = json.loads(self._settings_path().read_text(encoding="utf-8"))
            return value if isinstance(value, dict) else {}
        except (OSError, ValueError):
            return {}

    def _save_settings(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            tmp = self._settings_path().with_suffix(".tmp")
            tmp.write_text(json.dumps(self._settings, indent=2), encoding="utf-8")
            tmp.replace(self._settings_path())
        except OSError:
            pass  # a read-only home must not stop the app; the choice is just not remembered

    @property
    def last_used(self) -> Path | None:
        value = self._settings.get("last_model")
        return Path(value) if value else None

    def remember(self, path: Path) -> None:
        path = Path(path).resolve()
        self._settings["last_model"] = str(path)
        if self._source_of(path) == "opened":
            opened = [p for p in self._settings.get("opened", []) if p != str(path)]
            self._settings["opened"] = ([str(path)] + opened)[:10]
        self._save_settings()

    def get(self, key: str, default=None):
        return self._settings.get(key, default)

    def set(self, key: str, value) -> None:
        self._settings[key] = value
        self._save_settings()

    # -- listing ---------------------------------------------------------------------------
    def _source_of(self, path: Path) -> str:
        path = Path(path).resolve()
        if path == shipped_model_path():
            return "shipped"
        if path.parent == (self.root / "models").resolve():
            return "user"
        return "opened"

    def entries(self) -> list[ModelEntry]:
        """Shipped first, then the user's models (newest first), then files opened by hand."""
        found: list[ModelEntry] = []
        if shipped_model_path().is_file():
            found.append(describe(shipped_model_path(), "shipped"))
        user = self.root / "models"
        if user.is_dir():
            files = sorted(user.glob("*.onnx"), key=lambda p: p.stat().st_mtime, reverse=True)
            found += [describe(p, "user") for p in files]
        for p in self._settings.get("opened", []):
            if Path(p).is_file():
                found.append(describe(Path(p), "opened"))
        seen, unique = set(), []
        for e in found:
            if e.key not in seen:
                seen.add(e.key)
                unique.append(e)
        return unique

    def entry_for(self, path: Path) -> ModelEntry:
        return describe(Path(path), self._source_of(path))

    def startup_candidates(self) -> list[Path]:
        """Models to try at start, best first: the last used, then the shipped, then any user model."""
        out = []
        if self.last_used and self.last_used.is_file():
            out.append(self.last_used)
        out += [e.path for e in self.entries()]
        seen, unique = set(), []
        for p in out:
            k = str(Path(p).resolve())
            if k not in seen:
                seen.add(k)
                unique.append(Path(p))
        return unique
