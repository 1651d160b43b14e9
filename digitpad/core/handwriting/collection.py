"""Labelled digits on disk: one ``.npz`` format for synthetic training data, for the
user's "My digits" collection and for its export, and the collection itself.

The format (``FORMAT_VERSION`` 1), a NumPy ``.npz`` readable without pickle:

=====================  ==========================  ===========================================
key                    dtype / shape               meaning
=====================  ==========================  ===========================================
``images``             uint8 [N, 28, 28]           the model input, white ink on black (required)
``labels``             int64 [N], 0..9             the digit (required)
``format``             int64 scalar                1 (written always; assumed 1 when absent)
``timestamps``         float64 [N]                 when drawn, Unix seconds (optional)
``ids``                str [N]                     unique sample ids (optional)
``sources``            str [N]                     e.g. "correction", "guided", "synth:7 plain"
``stroke_points``      float32 [P, 3]              x, y, pressure in canvas pixels (optional,
``stroke_counts``      int64 [S]                   points per stroke;    all five together)
``sample_strokes``     int64 [N]                   strokes per sample (0 allowed)
``stroke_widths``      float32 [S]                 pen width, canvas pixels
``canvas_sizes``       float32 [N]                 side of the square canvas, pixels
``stroke_erasers``     bool [S]                    eraser strokes (optional; default False)
=====================  ==========================  ===========================================

Stroke ``j`` of the file is ``stroke_points[sum(stroke_counts[:j]) : ... + stroke_counts[j]]``
and sample ``i`` owns strokes ``sum(sample_strokes[:i])`` onwards. The training engine
needs only ``images`` and ``labels``.

:class:`Collection` keeps each sample in its own file under ``<data dir>/my_digits/``
(written atomically), so a damaged file costs one sample, never the others; unreadable
files are reported in ``problems`` and left where they are.
"""
from __future__ import annotations

import io
import math
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import fileio, npzfile, paths
from ..fileio import atomic_write_bytes

FORMAT_VERSION = 1
FOLDER = "my_digits"
STROKE_KEYS = ("stroke_points", "stroke_counts", "sample_strokes", "stroke_widths", "canvas_sizes")
KNOWN_KEYS = {"images", "labels", "format", "timestamps", "ids", "sources", "stroke_erasers", *STROKE_KEYS}


class CollectionError(ValueError):
    """A file that is not a usable digit collection; the message is meant for the user."""


@dataclass
class Stroke:
    points: np.ndarray          # float32 [n, 3]: x, y, pressure (canvas pixels)
    width: float
    eraser: bool = False


@dataclass
class Sample:
    label: int
    image: np.ndarray                          # uint8 [28, 28], white on black
    strokes: list[Stroke] | None = None        # None: not recorded (e.g. imported images only)
    canvas_size: float = 0.0
    timestamp: float = 0.0
    id: str = ""
    source: str = ""


@dataclass
class DigitArrays:
    """The arrays of one file, validated."""

    images: np.ndarray
    labels: np.ndarray
    timestamps: np.ndarray | None = None
    ids: np.ndarray | None = None
    sources: np.ndarray | None = None
    strokes: dict[str, np.ndarray] | None = None   # the STROKE_KEYS (+ stroke_erasers)
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.labels)


# -- conversions ---------------------------------------------------------------------------------
def as_uint8_image(x) -> np.ndarray:
    """A 28x28 model input (float 0..1 [1, 1, 28, 28] / [28, 28], or uint8) as uint8 [28, 28]."""
    a = np.asarray(x)
    if a.size != 28 * 28:
        raise ValueError(f"a model input has 28x28 pixels, got shape {a.shape}")
    a = a.reshape(28, 28)
    if a.dtype == np.uint8:
        return a.copy()
    return np.clip(np.rint(a.astype(np.float64) * 255), 0, 255).astype(np.uint8)


def strokes_from_canvas(strokes) -> list[Stroke]:
    """Canvas strokes (anything with ``points`` [(x, y, pressure)], ``width``, ``eraser``)."""
    out = []
    for s in strokes:
        pts = np.asarray([(p[0], p[1], p[2] if len(p) > 2 else 1.0) for p in s.points], np.float32).reshape(-1, 3)
        out.append(Stroke(pts, float(s.width), bool(getattr(s, "eraser", False))))
    return out


def pack(samples: list[Sample]) -> dict[str, np.ndarray]:
    """Samples -> the format's arrays. Strokes are kept only if every sample has them."""
    n = len(samples)
    arrays = {
        "format": np.int64(FORMAT_VERSION),
        "images": np.stack([as_uint8_image(s.image) for s in samples]) if n else np.zeros((0, 28, 28), np.uint8),
        "labels": np.asarray([int(s.label) for s in samples], np.int64),
        "timestamps": np.asarray([float(s.timestamp) for s in samples], np.float64),
        "ids": np.asarray([s.id for s in samples], dtype=str) if n else np.zeros(0, "<U1"),
        "sources": np.asarray([s.source for s in samples], dtype=str) if n else np.zeros(0, "<U1"),
    }
    if n and all(s.strokes is not None for s in samples):
        strokes = [st for s in samples for st in s.strokes]
        arrays.update(
            stroke_points=(np.concatenate([st.points.reshape(-1, 3) for st in strokes]).astype(np.float32)
                           if strokes else np.zeros((0, 3), np.float32)),
            stroke_counts=np.asarray([len(st.points) for st in strokes], np.int64),
            sample_strokes=np.asarray([len(s.strokes) for s in samples], np.int64),
            stroke_widths=np.asarray([st.width for st in strokes], np.float32),
            canvas_sizes=np.asarray([s.canvas_size for s in samples], np.float32),
            stroke_erasers=np.asarray([st.eraser for st in strokes], bool),
        )
    return arrays


def unpack(d: DigitArrays) -> list[Sample]:
    out = []
    strokes_per_sample: list[list[Stroke] | None] = [None] * len(d)
    if d.strokes is not None:
        s = d.strokes
        ends = np.cumsum(s["stroke_counts"])
        starts = ends - s["stroke_counts"]
        erasers = s.get("stroke_erasers", np.zeros(len(starts), bool))
        all_strokes = [Stroke(s["stroke_points"][a:b].copy(), float(w), bool(e))
                       for a, b, w, e in zip(starts, ends, s["stroke_widths"], erasers)]
        k = 0
        for i, m in enumerate(s["sample_strokes"]):
            strokes_per_sample[i] = all_strokes[k:k + int(m)]
            k += int(m)
    for i in range(len(d)):
        out.append(Sample(
            label=int(d.labels[i]), image=d.images[i].copy(), strokes=strokes_per_sample[i],
            canvas_size=float(d.strokes["canvas_sizes"][i]) if d.strokes is not None else 0.0,
            timestamp=float(d.timestamps[i]) if d.timestamps is not None else 0.0,
            id=str(d.ids[i]) if d.ids is not None else "",
            source=str(d.sources[i]) if d.sources is not None else ""))
    return out


# -- file format ---------------------------------------------------------------------------------
def to_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    validate(arrays)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def save(path: str | os.PathLike, arrays_or_samples) -> None:
    """Write a collection file atomically (the old file survives any failure)."""
    arrays = pack(arrays_or_samples) if isinstance(arrays_or_samples, list) else dict(arrays_or_samples)
    arrays.setdefault("format", np.int64(FORMAT_VERSION))
    atomic_write_bytes(path, to_bytes(arrays))


# Bounds checked on the headers, before any data is read: far above any real collection (the
# synthetic training sets hold 30,000 digits; a digit drawn on the canvas has a few strokes of
# a few hundred points), far below what would take seconds or gigabytes to refuse.
MAX_SAMPLES = 250_000
MAX_STROKES_PER_SAMPLE = 1_000
MAX_POINTS_PER_SAMPLE = 100_000

# What each key may hold: dtype kinds (numpy's letters) and whether it has one entry per sample.
_INTEGER, _NUMBER, _TEXT = "iu", "fiu", "U"


def load(path: str | os.PathLike, max_samples: int = MAX_SAMPLES) -> DigitArrays:
    """Read and validate a collection file; raises CollectionError with a reason a person can act on.
    The file's layout (keys, dtypes, shapes, at most ``max_samples`` samples) is checked before
    any of its data is read (see ``digitpad.core.npzfile``)."""
    path = Path(path)
    name = path.name
    try:
        data = fileio.read_bytes(path, fileio.COLLECTION)
    except fileio.FileReadError as e:
        raise CollectionError(f"Cannot read {name}: {e.strerror}") from None
    if not data:
        raise CollectionError(f"{name} is empty.")

    def check(headers: dict[str, npzfile.Header]) -> None:
        _check_layout({k: (h.shape, h.dtype) for k, h in headers.items()}, max_samples)

    try:
        arrays = npzfile.read(data, fileio.COLLECTION, keys=KNOWN_KEYS, check=check)
        return validate(arrays, max_samples)
    except CollectionError as e:
        raise CollectionError(f"{name}: {e}") from None
    except npzfile.NpzError as e:
        raise CollectionError(f"{name} is not a digit collection (.npz) digitpad can read: {e}.") from None


def _shape(a: np.ndarray) -> str:
    return f"{a.dtype} [{', '.join(map(str, a.shape))}]"


def _layout_text(shape: tuple[int, ...], dtype: np.dtype) -> str:
    return f"{dtype} [{', '.join(map(str, shape))}]"


def _check_layout(layout: dict[str, tuple[tuple[int, ...], np.dtype]], max_samples: int = MAX_SAMPLES) -> None:
    """Keys, dtypes and shapes against the format (CollectionError if not): what can be checked
    from the headers alone, so a file that claims too much is refused before it is read."""
    for key in ("images", "labels"):
        if key not in layout:
            raise CollectionError(f"no '{key}' array (a digit collection needs 'images' and 'labels').")
    shape, dtype = layout["images"]
    if dtype != np.uint8 or len(shape) != 3 or shape[1:] != (28, 28):
        raise CollectionError(f"'images' must be uint8 [N, 28, 28], got {_layout_text(shape, dtype)}.")
    n = shape[0]
    if n > max_samples:
        raise CollectionError(f"it holds {n:,} samples; digitpad reads at most {max_samples:,} from one file.")
    shape, dtype = layout["labels"]
    if len(shape) != 1 or dtype.kind not in _INTEGER:
        raise CollectionError(f"'labels' must be int64 [N], got {_layout_text(shape, dtype)}.")
    if shape[0] != n:
        raise CollectionError(f"{n} images but {shape[0]} labels.")
    if "format" in layout:
        shape, dtype = layout["format"]
        if math.prod(shape) != 1 or dtype.kind not in _INTEGER:
            raise CollectionError(f"'format' must be one integer, got {_layout_text(shape, dtype)}.")
    for key, kinds in (("timestamps", _NUMBER), ("ids", _TEXT), ("sources", _TEXT)):
        if key in layout:
            shape, dtype = layout[key]
            if shape != (n,) or dtype.kind not in kinds:
                raise CollectionError(f"'{key}' must be [{n}] ({'strings' if kinds == _TEXT else 'numbers'}), "
                                      f"got {_layout_text(shape, dtype)}.")
    present = [k for k in STROKE_KEYS if k in layout]
    if not present:
        return
    missing = [k for k in STROKE_KEYS if k not in layout]
    if missing:
        raise CollectionError(f"strokes are incomplete: {', '.join(missing)} missing.")
    shape, dtype = layout["stroke_points"]
    if len(shape) != 2 or shape[1] != 3 or dtype.kind != "f":
        raise CollectionError(f"'stroke_points' must be float32 [P, 3], got {_layout_text(shape, dtype)}.")
    if shape[0] > max(n, 1) * MAX_POINTS_PER_SAMPLE:
        raise CollectionError(f"'stroke_points' holds {shape[0]:,} points for {n:,} samples (at most "
                              f"{MAX_POINTS_PER_SAMPLE:,} a sample).")
    s = layout["stroke_counts"][0][0] if len(layout["stroke_counts"][0]) == 1 else -1
    for key, length, kinds in (("sample_strokes", n, _INTEGER), ("canvas_sizes", n, _NUMBER),
                               ("stroke_counts", s, _INTEGER), ("stroke_widths", s, _NUMBER),
                               ("stroke_erasers", s, "b" + _INTEGER)):
        if key not in layout:
            continue
        shape, dtype = layout[key]
        if len(shape) != 1 or (length >= 0 and shape[0] != length) or dtype.kind not in kinds:
            what = "integers" if kinds == _INTEGER else "booleans" if "b" in kinds else "numbers"
            per = f"one entry per stroke ({s})" if key.startswith("stroke_") else f"{length} entries"
            raise CollectionError(f"'{key}' must have {per}, {what}, got {_layout_text(shape, dtype)}.")
    if s > max(n, 1) * MAX_STROKES_PER_SAMPLE:
        raise CollectionError(f"it holds {s:,} strokes for {n:,} samples (at most {MAX_STROKES_PER_SAMPLE:,} "
                              "a sample).")


def validate(arrays: dict[str, np.ndarray], max_samples: int = MAX_SAMPLES) -> DigitArrays:
    """Check the arrays against the format; return them as DigitArrays (CollectionError if not)."""
    a = {k: np.asarray(v) for k, v in arrays.items()}
    for k, v in a.items():
        if v.dtype.hasobject:
            raise CollectionError(f"'{k}' holds Python objects (pickled data), which digitpad does not load.")
    _check_layout({k: (v.shape, v.dtype) for k, v in a.items() if k in KNOWN_KEYS}, max_samples)
    fmt = int(a["format"].reshape(-1)[0]) if "format" in a else FORMAT_VERSION
    if fmt > FORMAT_VERSION:
        raise CollectionError(f"format {fmt} is newer than this digitpad reads ({FORMAT_VERSION}); update digitpad.")
    images, labels = a["images"], a["labels"]
    n = len(images)
    if n and (labels.min() < 0 or labels.max() > 9):
        raise CollectionError(f"labels must be digits 0..9, found {int(labels.min())}..{int(labels.max())}.")
    if "timestamps" in a and not np.all(np.isfinite(a["timestamps"].astype(np.float64))):
        raise CollectionError("'timestamps' has NaN or infinite values.")
    if "ids" in a and len(set(a["ids"].tolist())) != n:
        raise CollectionError("'ids' are not unique.")
    strokes = None
    if "stroke_points" in a:
        pts, counts, per_sample = a["stroke_points"], a["stroke_counts"], a["sample_strokes"]
        s = len(counts)
        # Bounds before sums: a count near 2**63 would wrap the int64 sum around.
        if (counts.size and (counts.min() < 1 or counts.max() > 2 ** 31)) or \
                (per_sample.size and (per_sample.min() < 0 or per_sample.max() > 2 ** 31)):
            raise CollectionError("stroke counts must be positive (and below 2**31).")
        if int(per_sample.sum(dtype=np.int64)) != s:
            raise CollectionError(f"'sample_strokes' add up to {int(per_sample.sum(dtype=np.int64))} strokes, "
                                  f"'stroke_counts' has {s}.")
        if int(counts.sum(dtype=np.int64)) != len(pts):
            raise CollectionError(f"'stroke_counts' add up to {int(counts.sum(dtype=np.int64))} points, "
                                  f"'stroke_points' has {len(pts)}.")
        for key in ("stroke_points", "stroke_widths", "canvas_sizes"):
            if not np.all(np.isfinite(a[key].astype(np.float64))):
                raise CollectionError(f"'{key}' has NaN or infinite values.")
        strokes = {k: a[k] for k in STROKE_KEYS}
        strokes["stroke_counts"] = counts.astype(np.int64)
        strokes["sample_strokes"] = per_sample.astype(np.int64)
        if "stroke_erasers" in a:
            strokes["stroke_erasers"] = a["stroke_erasers"].astype(bool)
    return DigitArrays(
        images=images, labels=labels.astype(np.int64),
        timestamps=a["timestamps"].astype(np.float64) if "timestamps" in a else None,
        ids=a.get("ids"), sources=a.get("sources"), strokes=strokes,
        extra={k: v for k, v in a.items() if k not in KNOWN_KEYS})


# -- the user's collection -----------------------------------------------------------------------
def default_folder() -> Path:
    return paths.collection_dir()


def new_id(label: int, when: float) -> str:
    return f"{int(label)}-{time.strftime('%Y%m%dT%H%M%S', time.localtime(when))}-{secrets.token_hex(3)}"


class Collection:
    """The user's labelled drawings: ``<data dir>/my_digits/<id>.npz``, one sample per file."""

    def __init__(self, folder: str | os.PathLike | None = None):
        self.folder = Path(folder) if folder is not None else default_folder()
        self._samples: dict[str, Sample] = {}
        self.problems: list[tuple[Path, str]] = []   # files that could not be read (left untouched)
        self.refresh()

    def refresh(self) -> None:
        self._samples, self.problems = {}, []
        if self.folder.exists() and not self.folder.is_dir():
            self.problems.append((self.folder, f"{self.folder} is a file, not a folder: My digits cannot be kept"))
            return
        if not self.folder.is_dir():
            return
        for path in sorted(self.folder.glob("*.npz")):
            try:
                d = load(path, max_samples=1)   # one sample a file: a bigger one is refused unread
                if len(d) != 1:
                    raise CollectionError(f"{path.name}: holds {len(d)} samples; a collection file holds one.")
            except CollectionError as e:
                self.problems.append((path, str(e)))
                continue
            s = unpack(d)[0]
            s.id = path.stem   # the file name is the identity
            self._samples[s.id] = s

    def __len__(self) -> int:
        return len(self._samples)

    def samples(self, digit: int | None = None) -> list[Sample]:
        """Samples, oldest first (all, or of one digit)."""
        out = [s for s in self._samples.values() if digit is None or s.label == digit]
        return sorted(out, key=lambda s: (s.timestamp, s.id))

    def counts(self) -> list[int]:
        c = [0] * 10
        for s in self._samples.values():
            c[s.label] += 1
        return c

    def get(self, sample_id: str) -> Sample | None:
        return self._samples.get(sample_id)

    def _write(self, s: Sample) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        save(self.folder / f"{s.id}.npz", [s])
        self._samples[s.id] = s

    def add(self, label: int, image, strokes=None, canvas_size: float = 0.0, source: str = "correction",
            timestamp: float | None = None) -> Sample:
        """Save a labelled drawing: its model input (28x28) and, if given, its strokes
        (canvas strokes or :class:`Stroke`). Raises OSError if it cannot be written."""
        if not 0 <= int(label) <= 9:
            raise ValueError(f"label must be a digit 0..9, got {label}")
        when = time.time() if timestamp is None else float(timestamp)
        if strokes is not None and not all(isinstance(s, Stroke) for s in strokes):
            strokes = strokes_from_canvas(strokes)
        s = Sample(label=int(label), image=as_uint8_image(image),
                   strokes=list(strokes) if strokes is not None else None,
                   canvas_size=float(canvas_size), timestamp=when, id=new_id(label, when), source=source)
        while s.id in self._samples or (self.folder / f"{s.id}.npz").exists():
            s.id = new_id(label, when)
        self._write(s)
        return s

    def restore(self, sample: Sample) -> None:
        """Write a sample back as it was (a delete undone): its id, label and strokes. Raises OSError."""
        self._write(sample)

    def delete(self, sample_id: str) -> bool:
        s = self._samples.pop(sample_id, None)
        (self.folder / f"{sample_id}.npz").unlink(missing_ok=True)
        return s is not None

    def export(self, path: str | os.PathLike) -> int:
        """All samples in one file (atomic). Returns how many."""
        samples = self.samples()
        save(path, pack(samples))
        return len(samples)

    def import_file(self, path: str | os.PathLike) -> int:
        """Add the samples of an exported (or synthetic) file. The whole file is checked
        before anything is written; samples already here (same id) are skipped. Returns
        how many were added."""
        samples = unpack(load(path))   # CollectionError before any change
        added = 0
        for s in samples:
            if s.id and s.id in self._samples:
                continue
            if not s.id or (self.folder / f"{s.id}.npz").exists():
                s.id = new_id(s.label, s.timestamp or time.time())
            if not s.timestamp:
                s.timestamp = time.time()
            self._write(s)
            added += 1
        return added
