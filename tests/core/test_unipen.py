"""UNIPEN 1a real-writer digits: reading (damaged lines named), the writer split, canvas placement."""
from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import numpy as np
import pytest

from digitpad.core.handwriting import unipen
from digitpad.core.handwriting.strokes import CANVAS_SIZE

REAL = Path(os.environ.get("DIGITPAD_TEST_DATA", Path(__file__).resolve().parents[3] / "shared" / "datasets"))
REAL_FILE = unipen.default_path(REAL)


def line(**over) -> str:
    d = {"label": 7, "writer": "syn/x", "contributor": "syn", "strokes": [[[0, 0], [10, 0], [4, 20]]]}
    d.update(over)
    return json.dumps(d)


def write(tmp_path: Path, lines: list[str], name: str = "digits.jsonl.gz") -> Path:
    p = tmp_path / name
    with gzip.open(p, "wt") as f:
        f.write("\n".join(lines) + "\n")
    return p


def test_reads_digits_and_drops_repeated_samples(tmp_path):
    p = write(tmp_path, [line(), line(label=1, writer="aga/jhnshrly", strokes=[[[5, 0], [5, 0], [5, 30]]])])
    ds = unipen.load(p)
    assert [d.label for d in ds] == [7, 1]
    assert ds[1].split == "dev" and ds[0].split == "train"
    assert ds[1].strokes[0].tolist() == [[5, 0], [5, 30]]   # the resting pen's repeat is gone
    assert [d.line for d in ds] == [1, 2]
    assert [d.label for d in unipen.load(p, splits=("dev",))] == [1]


@pytest.mark.parametrize("bad, reason", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "JSON object"),
    (line(label=10), "label"),
    (line(label=True), "label"),
    (line(writer=""), "writer"),
    (line(contributor=None), "contributor"),
    (line(strokes=[]), "strokes"),
    (line(strokes=[[]]), "stroke"),
    (line(strokes=[[[0, 0], [1]]]), "[x, y]"),
    (line(strokes=[[[0, 0], ["a", 1]]]), "[x, y]"),
    (line(strokes=[[[0, 0], [1e400, 1]]]), "finite"),
    (line(strokes=[[[3, 3], [3, 3]]]), "single point"),
])
def test_a_damaged_line_is_named(tmp_path, bad, reason):
    p = write(tmp_path, [line(), bad])
    with pytest.raises(unipen.UnipenError, match=reason) as e:
        unipen.load(p)
    assert "digits.jsonl.gz:2" in str(e.value)


def test_a_damaged_or_missing_file_is_one_clear_error(tmp_path):
    with pytest.raises(unipen.UnipenError, match="not found"):
        unipen.load(tmp_path / "nope.jsonl.gz")
    p = tmp_path / "digits.jsonl.gz"
    whole = gzip.compress("\n".join(line(label=i % 10, writer=f"syn/w{i}") for i in range(200)).encode())
    p.write_bytes(whole[:len(whole) // 2])  # truncated
    with pytest.raises(unipen.UnipenError, match="damaged"):
        unipen.load(p)
    p.write_bytes(b"\x00\x01 not gzip")
    with pytest.raises(unipen.UnipenError, match="damaged"):
        unipen.load(p)


def test_the_split_is_by_writer_and_stratified_by_contributor():
    assert not unipen.DEV_WRITERS & unipen.CALIB_WRITERS
    for c in unipen.CONTRIBUTORS:
        assert any(w.startswith(c + "/") for w in unipen.DEV_WRITERS), c
    assert unipen.split_of("syn/jel-dig14") == "dev" and unipen.split_of("syn/cam") == "calib"
    assert unipen.split_of("someone/new") == "train"


@pytest.mark.skipif(not REAL_FILE.is_file(), reason="no unipen-1a-dev copy")
def test_the_real_file_and_its_fixed_split():
    ds = unipen.load(REAL_FILE)
    assert len(ds) == 8303 and len({d.writer for d in ds}) == 90
    counts = {s: sum(d.split == s for d in ds) for s in unipen.SPLITS}
    assert counts == {"dev": 2411, "calib": 994, "train": 4898}
    writers = {d.writer for d in ds}
    assert writers >= unipen.DEV_WRITERS and writers >= unipen.CALIB_WRITERS
    # no writer's digits on two sides of the split
    by_writer = {}
    for d in ds:
        by_writer.setdefault(d.writer, set()).add(d.split)
    assert all(len(s) == 1 for s in by_writer.values())


def digit(strokes, label=4, writer="ced/someone") -> unipen.RealDigit:
    return unipen.RealDigit(label, writer, writer.split("/")[0], tuple(np.asarray(s, float) for s in strokes), 1)


@pytest.mark.parametrize("units", [1.0, 20.0, 400.0])
def test_drawing_scales_any_units_to_a_person_sized_digit(units):
    d = digit([[[0, 0], [0.3 * units, 0.5 * units], [0.1 * units, units]],
               [[0.25 * units, 0], [0.3 * units, 0.1 * units]]])
    out = unipen.drawing(d, np.random.default_rng(0))
    x0, y0, x1, y1 = out.bbox()
    assert unipen.BENCH_HEIGHT[0] * CANVAS_SIZE - 1e-6 <= y1 - y0 <= unipen.BENCH_HEIGHT[1] * CANVAS_SIZE + 1e-6
    assert (x1 - x0) / (y1 - y0) == pytest.approx(0.3, rel=1e-6)      # the shape is the writer's
    assert x0 - out.width / 2 >= 0 and x1 + out.width / 2 <= CANVAS_SIZE
    assert out.width == unipen.APP_PEN and len(out.strokes) == 2 and out.label == 4


def test_training_renderings_vary_and_refuse_held_out_writers():
    d = digit([[[0, 0], [30, 50], [10, 100]]], writer="ced/trainer")
    a = unipen.training_drawing(d, np.random.default_rng(1))
    b = unipen.training_drawing(d, np.random.default_rng(2))
    assert a.bbox() != b.bbox()
    with pytest.raises(ValueError, match="dev writer"):
        unipen.training_drawing(digit([[[0, 0], [0, 9]]], writer="gmd/monu"), np.random.default_rng(0))
    with pytest.raises(ValueError, match="calib writer"):
        unipen.training_drawing(digit([[[0, 0], [0, 9]]], writer="syn/cam"), np.random.default_rng(0))
