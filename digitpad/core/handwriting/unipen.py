"""Real pen-recorded digits (UNIPEN 1a): reading, the writer split, and placing them on the canvas.

``unipen-1a-dev/digits.jsonl.gz`` (see the datasets README) holds 8,303 isolated digits
from 90 writers of five contributors, one JSON object per line::

    {"label": 7, "writer": "syn/rcw-dig15", "contributor": "syn", "strokes": [[[x, y], ...], ...]}

with y growing downward and units that differ per contributor (``app``: 72-dpi screen
pixels, a digit about 20 units tall; the others: tablet units, 40-400 units tall). The
units do not matter here: :func:`drawing` scales each digit by its own height to the size
a person draws on the app's canvas, the way :func:`strokes.place` places every drawing.

The split is by writer, never by digit, and fixed (:data:`DEV_WRITERS`, :data:`CALIB_WRITERS`):
per contributor the writers were ordered by ``sha256("digitpad-unipen-split:" + writer)``,
the first ``max(1, round(25 %))`` became ``dev`` (the real-writers benchmark; nothing
trains on them or is tuned on them), the next ``round(15 %)`` ``calib`` (held out from
training; the engine calibrates the not-a-digit threshold on them, and recipes were
compared on them), the rest ``train``. Dev: 23 writers, 2,411 digits; calib: 13 writers,
994 digits; train: 54 writers, 4,898 digits.

A damaged line raises :class:`UnipenError` naming the file and line; nothing is skipped
silently.
"""
from __future__ import annotations

import math
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import fileio, safejson
from .strokes import CANVAS_SIZE, Drawing, Hand, _warp, _wobble, place

RELATIVE_PATH = Path("unipen-1a-dev") / "digits.jsonl.gz"
CONTRIBUTORS = ("aga", "app", "ced", "gmd", "syn")
SPLITS = ("train", "calib", "dev")

DEV_WRITERS = frozenset({
    "aga/jhnshrly", "aga/dawnmrsh", "aga/drdvlllb", "aga/crlmtchl",
    "app/ChrisWilliams", "app/KristynLagae", "app/ChristineStellina", "app/DavidMarasco",
    "ced/DDJH4871", "ced/CADA7032", "ced/RMNN2357", "ced/MABA4240", "ced/KNKE4574.A", "ced/JNPK7049",
    "ced/SNCN4237.B", "ced/KKFG6658", "ced/REPY0371", "ced/SHMH-105",
    "gmd/monu",
    "syn/jel-dig14", "syn/pm", "syn/jab-dig9", "syn/sjb-dig20",
})
CALIB_WRITERS = frozenset({
    "aga/greghunt", "aga/ScttJyns",
    "app/DeanBlackketter", "app/DaveMeek",
    "ced/RACY0978", "ced/YLSN6164", "ced/JIKA4257", "ced/BYKG6164", "ced/FLAD4341", "ced/RISN4711",
    "syn/cam", "syn/spd", "syn/bek-dig2",
})

# How a person draws on the app's canvas: the app's pen (DrawingCanvas.pen_width) and a digit
# filling most of the guide square (20/28 of the canvas), a little off the centre.
APP_PEN = 30.0
BENCH_HEIGHT = (0.50, 0.75)     # digit height, fraction of the canvas


class UnipenError(ValueError):
    """The file is missing or a line of it is damaged; the message names the file and line."""


@dataclass(frozen=True)
class RealDigit:
    label: int
    writer: str
    contributor: str
    strokes: tuple[np.ndarray, ...]   # each float64 [n, 2] (x, y), y down, the recording's units
    line: int                          # 1-based line in the file

    @property
    def split(self) -> str:
        return split_of(self.writer)


def split_of(writer: str) -> str:
    return "dev" if writer in DEV_WRITERS else "calib" if writer in CALIB_WRITERS else "train"


def default_path(data_dir: str | os.PathLike) -> Path:
    return Path(data_dir) / RELATIVE_PATH


def _stroke(raw, where: str) -> np.ndarray:
    if not isinstance(raw, list) or not raw:
        raise UnipenError(f"{where}: a stroke must be a non-empty list of [x, y] points")
    for pt in raw:
        if not (isinstance(pt, list) and len(pt) == 2
                and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in pt)):
            raise UnipenError(f"{where}: a point must be [x, y] numbers (got {str(pt)[:40]})")
    a = np.asarray(raw, dtype=np.float64)
    if not np.isfinite(a).all():
        raise UnipenError(f"{where}: a point is not a finite number")
    keep = np.r_[True, np.any(np.diff(a, axis=0) != 0, axis=1)]   # tablets repeat a sample while the pen rests
    return a[keep]


def parse_line(text: str, where: str) -> RealDigit:
    """One line of the file -> a RealDigit; ``where`` ("file:line") prefixes every error."""
    try:
        d = safejson.loads(text, where)   # a huge number or deep nesting is refused here, in one type
    except safejson.JsonError as e:
        raise UnipenError(str(e)) from None
    if not isinstance(d, dict):
        raise UnipenError(f"{where}: expected a JSON object")
    label, writer, contributor, raw = d.get("label"), d.get("writer"), d.get("contributor"), d.get("strokes")
    if not isinstance(label, int) or isinstance(label, bool) or not 0 <= label <= 9:
        raise UnipenError(f"{where}: label must be an integer 0..9 (got {label!r})")
    if not isinstance(writer, str) or not writer:
        raise UnipenError(f"{where}: writer must be a non-empty string")
    if not isinstance(contributor, str) or not contributor:
        raise UnipenError(f"{where}: contributor must be a non-empty string")
    if not isinstance(raw, list) or not raw:
        raise UnipenError(f"{where}: strokes must be a non-empty list")
    strokes = tuple(_stroke(s, where) for s in raw)
    allp = np.vstack(strokes)
    if float(np.ptp(allp, axis=0).max()) <= 0:
        raise UnipenError(f"{where}: the ink is a single point (no extent to scale)")
    line = int(where.rsplit(":", 1)[-1]) if where.rsplit(":", 1)[-1].isdigit() else 0
    return RealDigit(label, writer, contributor, strokes, line)


def load(path: str | os.PathLike, splits: tuple[str, ...] | None = None) -> list[RealDigit]:
    """Every digit in the file (gzip or plain JSON lines), or those of the given ``splits``."""
    path = Path(path)
    if splits is not None and not set(splits) <= set(SPLITS):
        raise ValueError(f"unknown split in {splits}; expected some of {SPLITS}")
    try:
        text = fileio.read_unpacked(path, fileio.TEXT_DATASET).decode("utf-8")
    except fileio.FileReadError as e:
        if e.missing:
            raise UnipenError(f"real-writer digits not found: {path}") from None
        raise UnipenError(f"{path.name} cannot be read: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise UnipenError(f"{path.name} is damaged or not a gzip'd JSON-lines file (not UTF-8 text at byte "
                          f"{e.start})") from None
    out = []
    for i, line in enumerate(text.split("\n"), 1):   # lines as a file reads them (not at U+2028)
        if not line.strip():
            continue
        d = parse_line(line, f"{path.name}:{i}")
        if splits is None or d.split in splits:
            out.append(d)
    if not out and splits is None:
        raise UnipenError(f"{path.name} holds no digits")
    return out


def _key(text: str) -> int:
    return zlib.crc32(text.encode())


def _centred(strokes) -> list[np.ndarray]:
    allp = np.vstack(strokes)
    centre = (allp.min(0) + allp.max(0)) / 2
    h = max(float(np.ptp(allp[:, 1])), float(np.ptp(allp[:, 0])) * 0.25, 1e-9)
    return [(s - centre) / h for s in strokes]   # about unit height; a flat '-'-like ink keeps a sane size


def drawing(d: RealDigit, rng: np.random.Generator, canvas_size: int = CANVAS_SIZE,
            pen: float = APP_PEN, height: tuple[float, float] = BENCH_HEIGHT) -> Drawing:
    """The digit as a person draws it on the app's canvas: unchanged in shape, scaled so its
    height is ``height`` of the canvas, near the centre, with the app's pen. The recorded pen
    samples are kept (no resampling): they are what a real pen gave."""
    polys = _centred(d.strokes)
    scale = rng.uniform(*height) * canvas_size
    polys = [p * scale for p in polys]
    allp = np.vstack(polys)
    lo, hi = allp.min(0) - pen / 2, allp.max(0) + pen / 2
    if np.any(hi - lo > canvas_size):
        f = (canvas_size - 2) / float((hi - lo).max())
        polys, allp = [p * f for p in polys], allp * f
        lo, hi = allp.min(0) - pen / 2, allp.max(0) + pen / 2
    room = canvas_size - (hi - lo)
    start = np.clip(room / 2 + rng.normal(0, 0.03 * canvas_size, 2), 0, room)
    polys = [p + (start - lo) for p in polys]
    return Drawing(label=d.label, strokes=polys, width=float(pen) * canvas_size / CANVAS_SIZE,
                   canvas_size=canvas_size, style=f"unipen {d.contributor}", condition="app pen",
                   meta={"writer": d.writer, "line": d.line})


def bench_drawings(digits: list[RealDigit], seed: int = 0, canvas_size: int = CANVAS_SIZE) -> list[Drawing]:
    """The real-writers benchmark: each digit once, as :func:`drawing` places it, from a random
    stream keyed by its file line (the same digit is always drawn the same way)."""
    return [drawing(d, np.random.default_rng([0xBE4C, seed, d.line]), canvas_size) for d in digits]


# A real writer's digit is already a real hand: training renderings only vary it a little more
# (the templates' Hand varies a drawn template much more), plus size, pen, position and sampling.
TRAIN_HAND = Hand(stroke_shift=0.0, warp=0.025, aspect=(0.85, 1.18), slant=(-0.25, 0.30), rotate_deg=16.0,
                  wobble=0.004, spacing_px=(2.0, 8.0))


def training_drawing(d: RealDigit, rng: np.random.Generator, condition: str = "mixed",
                     canvas_size: int = CANVAS_SIZE, hand: Hand = TRAIN_HAND) -> Drawing:
    """A varied rendering of a training writer's digit: a smooth warp, aspect, slant, rotation
    and tremor, then size, pen width, position and mouse-like sampling from ``condition``
    (strokes.CONDITIONS; "mixed" picks one)."""
    if d.split != "train":
        raise ValueError(f"{d.writer} is a {d.split} writer; only training writers are rendered for training")
    polys = _centred(d.strokes)
    seed = int(rng.integers(2 ** 63))
    polys = [_warp(p, np.random.default_rng(seed), hand.warp) for p in polys]
    sx = rng.uniform(*hand.aspect)
    shear = rng.uniform(*hand.slant)
    th = math.radians(rng.uniform(-hand.rotate_deg, hand.rotate_deg) / 2)
    rot = np.array([[math.cos(th), -math.sin(th)], [math.sin(th), math.cos(th)]])
    m = rot @ np.array([[sx, -shear], [0.0, 1.0]])
    polys = [_wobble(p @ m.T, rng, rng.uniform(0.0, 1.0) * hand.wobble) for p in polys]
    out = place(polys, d.label, rng, condition, canvas_size, hand, style=f"unipen {d.contributor}")
    out.meta.update(writer=d.writer, line=d.line)
    return out
