"""Where models live and which one was used last. No Qt here: views only render this.

- the shipped model (package data, ``paths.shipped_model_path()``),
- the user's models: every ``*.onnx`` in ``paths.models_dir()`` (the training engine
  exports there),
- files opened by hand, remembered in the settings with the last model.

Listing reads each file's ``digitpad`` metadata with a tiny protobuf scanner instead of
the ``onnx`` package, so filling the picker costs microseconds, not a 0.2 s import.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import not_digit
from .contract import METADATA_KEY, ModelMetadata
from .paths import models_dir, shipped_model_path
from .settings import MAX_OPENED, SettingsStore


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
        path = Path(path).resolve()
        values = self.settings.values
        values.last_model = str(path)
        if self._source_of(path) == "opened":
            others = [p for p in values.opened_models if p != str(path)]
            values.opened_models = ([str(path)] + others)[:MAX_OPENED]
        self.settings.save()

    # -- listing ---------------------------------------------------------------------------
    def _source_of(self, path: Path) -> str:
        path = Path(path).resolve()
        if path == shipped_model_path():
            return "shipped"
        if path.parent == self.models.resolve():
            return "user"
        return "opened"

    def entries(self) -> list[ModelEntry]:
        """Shipped first, then the user's models (newest first), then files opened by hand."""
        found: list[ModelEntry] = []
        if shipped_model_path().is_file():
            found.append(describe(shipped_model_path(), "shipped"))
        if self.models.is_dir():
            files = sorted(self.models.glob("*.onnx"), key=lambda p: p.stat().st_mtime, reverse=True)
            found += [describe(p, "user") for p in files]
        for p in self.settings.values.opened_models:
            if Path(p).is_file():
                found.append(describe(Path(p), "opened"))
        return _unique(found, key=lambda e: e.key)

    def startup_candidates(self) -> list[Path]:
        """Models to try at start, best first: the last used, then the shipped, then any user model."""
        out = [self.last_used] if self.last_used and self.last_used.is_file() else []
        out += [e.path for e in self.entries()]
        return _unique([Path(p) for p in out], key=lambda p: str(p.resolve()))


def _unique(items: list, key) -> list:
    seen, out = set(), []
    for item in items:
        k = key(item)
        if k not in seen:
            seen.add(k)
            out.append(item)
    return out
