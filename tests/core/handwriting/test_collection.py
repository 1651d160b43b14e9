"""The collection format and the user's "My digits": round trips, clear errors, nothing lost."""
from __future__ import annotations

import io
import os

import numpy as np
import pytest

from digitpad.core.handwriting import collection as C


class FakeStroke:  # what DrawingCanvas.strokes holds
    def __init__(self, pts, width=30.0, eraser=False):
        self.points, self.width, self.eraser = pts, width, eraser


def _image(k):
    x = np.zeros((1, 1, 28, 28), np.float32)
    x[0, 0, 4 + k:20, 10:14] = 1.0
    return x


def _strokes(k):
    return [FakeStroke([(10.0 + k, 10.0, 1.0), (20.0, 30.0 + k, 0.5)]), FakeStroke([(5.0, 5.0, 1.0)], 12.0, True)]


def test_add_reload_export_import_delete(tmp_path):
    col = C.Collection()
    assert col.folder == tmp_path / "digitpad-data" / "my_digits" and len(col) == 0
    added = [col.add(k % 10, _image(k), _strokes(k), canvas_size=400, source="guided") for k in range(12)]
    col.add(3, np.zeros((28, 28), np.uint8))   # no strokes recorded
    assert col.counts()[0] == 2 and col.counts()[3] == 2 and len(col) == 13

    again = C.Collection()
    assert len(again) == 13 and not again.problems
    s = again.get(added[4].id)
    assert s.label == 4 and np.array_equal(s.image, C.as_uint8_image(_image(4)))
    assert s.canvas_size == 400 and s.source == "guided" and s.timestamp == pytest.approx(added[4].timestamp)
    assert len(s.strokes) == 2 and s.strokes[1].eraser and s.strokes[1].width == 12
    assert np.allclose(s.strokes[0].points, [(14, 10, 1), (20, 34, .5)])
    assert [x.label for x in again.samples(0)] == [0, 0]

    out = tmp_path / "export.npz"
    assert again.export(out) == 13
    d = C.load(out)
    assert d.images.dtype == np.uint8 and d.images.shape == (13, 28, 28) and d.labels.dtype == np.int64
    assert d.strokes is None   # one sample has no strokes, so the file keeps images only ...
    fresh = C.Collection(tmp_path / "other")
    assert fresh.import_file(out) == 13 and fresh.counts() == again.counts()
    assert fresh.import_file(out) == 0   # same ids: nothing twice

    assert again.delete(added[0].id) and not again.delete(added[0].id)
    assert len(C.Collection()) == 12


def test_export_keeps_strokes(tmp_path):
    col = C.Collection()
    for k in range(3):
        col.add(k, _image(k), _strokes(k), canvas_size=400)
    col.export(tmp_path / "e.npz")
    samples = C.unpack(C.load(tmp_path / "e.npz"))
    assert [len(s.strokes) for s in samples] == [2, 2, 2]
    assert np.allclose(samples[2].strokes[0].points[1], (20, 32, .5))


def test_corrupt_sample_file_loses_nothing_else(tmp_path):
    col = C.Collection()
    keep = [col.add(k, _image(k), _strokes(k)) for k in range(3)]
    bad = col.folder / "junk.npz"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    truncated = col.folder / f"{keep[1].id}.npz"
    data = truncated.read_bytes()
    (col.folder / "half.npz").write_bytes(data[: len(data) // 2])
    again = C.Collection()
    assert len(again) == 3
    assert {p.name for p, _ in again.problems} == {"junk.npz", "half.npz"}
    assert all("damaged" in msg or "not a digit collection" in msg for _, msg in again.problems)
    assert bad.read_bytes() == b"PK\x03\x04 not really a zip"   # left for the user, not deleted
    again.add(5, _image(5))
    assert len(C.Collection()) == 4


def test_import_of_a_corrupt_file_changes_nothing(tmp_path):
    col = C.Collection()
    col.add(1, _image(1), _strokes(1))
    before = sorted(os.listdir(col.folder))
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"\x00" * 100)
    with pytest.raises(C.CollectionError, match="bad.npz"):
        col.import_file(bad)
    labels_wrong = tmp_path / "wrong.npz"
    np.savez(labels_wrong, images=np.zeros((2, 28, 28), np.uint8), labels=np.array([1, 12]))
    with pytest.raises(C.CollectionError, match="0..9"):
        col.import_file(labels_wrong)
    assert sorted(os.listdir(col.folder)) == before and len(col) == 1


def _npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


@pytest.mark.parametrize("arrays, message", [
    (dict(images=np.zeros((2, 28, 28), np.uint8)), "no 'labels'"),
    (dict(images=np.zeros((2, 28, 28), np.float32), labels=np.zeros(2, np.int64)), "uint8"),
    (dict(images=np.zeros((2, 28, 27), np.uint8), labels=np.zeros(2, np.int64)), r"\[N, 28, 28\]"),
    (dict(images=np.zeros((2, 28, 28), np.uint8), labels=np.zeros(3, np.int64)), "2 images but 3 labels"),
    (dict(images=np.zeros((1, 28, 28), np.uint8), labels=np.zeros(1), ), "int64"),
    (dict(images=np.zeros((1, 28, 28), np.uint8), labels=np.zeros(1, np.int64), format=np.int64(9)), "newer"),
    (dict(images=np.zeros((1, 28, 28), np.uint8), labels=np.zeros(1, np.int64),
          stroke_points=np.zeros((2, 3), np.float32)), "incomplete"),
    (dict(images=np.zeros((1, 28, 28), np.uint8), labels=np.zeros(1, np.int64),
          stroke_points=np.zeros((2, 3), np.float32), stroke_counts=np.array([3]), sample_strokes=np.array([1]),
          stroke_widths=np.array([3.0], np.float32), canvas_sizes=np.array([400.0], np.float32)), "add up to 3"),
    (dict(images=np.zeros((1, 28, 28), np.uint8), labels=np.zeros(1, np.int64),
          ids=np.array([{"a": 1}], dtype=object)), "pickle"),
])
def test_clear_errors(tmp_path, arrays, message):
    path = tmp_path / "x.npz"
    path.write_bytes(_npz(**arrays))
    with pytest.raises(C.CollectionError, match=message):
        C.load(path)


def test_empty_and_missing_files(tmp_path):
    (tmp_path / "e.npz").write_bytes(b"")
    with pytest.raises(C.CollectionError, match="empty"):
        C.load(tmp_path / "e.npz")
    with pytest.raises(C.CollectionError, match="Cannot read"):
        C.load(tmp_path / "nope.npz")


def test_minimal_file_from_elsewhere_loads(tmp_path):
    path = tmp_path / "m.npz"
    np.savez(path, images=np.zeros((4, 28, 28), np.uint8), labels=np.arange(4))
    d = C.load(path)
    assert len(d) == 4 and d.strokes is None and d.timestamps is None


def test_failed_save_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "c.npz"
    C.save(path, [C.Sample(label=1, image=np.zeros((28, 28), np.uint8))])
    old = path.read_bytes()
    with pytest.raises(C.CollectionError):
        C.save(path, {"images": np.zeros((1, 28, 28), np.uint8), "labels": np.array([10])})
    assert path.read_bytes() == old and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
