"""The UCI "Optical Recognition of Handwritten Digits" set (optdigits): 8x8 digits, numpy only.

Alpaydin and Kaynak (1998) ran NIST's preprocessing over forms filled in by 43 people:
each digit was size-normalised into a 32x32 bitmap and the on-pixels counted in the 64
non-overlapping 4x4 blocks, so a digit is 64 integers 0..16 (``optdigits.names``). The
training file holds 3,823 digits from 30 writers, the test file 1,797 from 13 others, so
the test accuracy is a writer-independent figure.

The files are CSV without a header: 64 values, then the class 0..9, one digit per line.
A damaged file fails with one ``DatasetError`` that names the file, the line and what is
wrong (column count, a non-integer, a value out of range, no digits at all).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import fileio

NAME = "optdigits"
SIDE = 8
FULL_SCALE = 16        # the count of a 4x4 block with every pixel on
COLUMNS = SIDE * SIDE + 1
SPLIT_FILES = {"train": "optdigits.tra", "test": "optdigits.tes"}


class OptdigitsError(ValueError):
    """A file that is not a readable optdigits split; the message is for the user."""


def find_file(data_dir: str | Path, split: str) -> Path:
    """``<data_dir>/optdigits/optdigits.tra`` or ``<data_dir>/optdigits.tra`` (each raw or .gz)."""
    data_dir = Path(data_dir)
    name = SPLIT_FILES[split]
    for base in (data_dir / NAME, data_dir):
        for candidate in (name, name + ".gz"):
            if (base / candidate).is_file():
                return base / candidate
    raise OptdigitsError(f"{name}[.gz] not found in {data_dir} (looked in {NAME}/ and the folder itself)")


def parse(text: str, source: str = "optdigits") -> tuple[np.ndarray, np.ndarray]:
    """CSV text -> (images uint8 [N, 8, 8] with values 0..16, labels int64 [N])."""
    lines = [(i + 1, line.strip()) for i, line in enumerate(text.splitlines())]
    lines = [(n, line) for n, line in lines if line]
    if not lines:
        raise OptdigitsError(f"{source}: no digits in the file (it is empty)")
    rows = [line.split(",") for _, line in lines]
    for (n, _), row in zip(lines, rows):
        if len(row) != COLUMNS:
            raise OptdigitsError(f"{source} line {n}: {len(row)} columns, expected {COLUMNS} "
                                 f"(64 block counts and the class)")
    try:
        table = np.array(rows).astype(np.int64)  # int("3.5"), int("x") and int("") all fail here
    except (ValueError, OverflowError):
        for (n, _), row in zip(lines, rows):
            for k, value in enumerate(row):
                try:
                    int(value)
                except ValueError:
                    raise OptdigitsError(f"{source} line {n}, column {k + 1}: {value.strip()!r} is not "
                                         f"an integer") from None
        raise OptdigitsError(f"{source}: a value is too large to be a block count") from None
    counts, labels = table[:, :-1], table[:, -1]
    for values, lo, hi, what in ((counts, 0, FULL_SCALE, "block count"), (labels, 0, 9, "class")):
        bad = np.argwhere((values < lo) | (values > hi))
        if bad.size:
            r = int(bad[0][0])
            col = int(bad[0][1]) + 1 if values.ndim == 2 else COLUMNS
            value = int(values[r, col - 1]) if values.ndim == 2 else int(values[r])
            raise OptdigitsError(f"{source} line {lines[r][0]}, column {col}: {what} {value} is out of "
                                 f"range {lo}..{hi}")
    return counts.astype(np.uint8).reshape(-1, SIDE, SIDE), labels


def read(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """One split file (raw or gzipped) -> (images uint8 [N, 8, 8] 0..16, labels int64 [N])."""
    path = Path(path)
    try:
        text = fileio.read_unpacked(path, fileio.TEXT_DATASET).decode("ascii")
    except fileio.FileReadError as e:
        raise OptdigitsError(str(e)) from None
    except UnicodeDecodeError as e:
        raise OptdigitsError(f"{path}: not a text file (byte {e.start} is not ASCII)") from None
    return parse(text, str(path))


def load(data_dir: str | Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    return read(find_file(data_dir, split))
