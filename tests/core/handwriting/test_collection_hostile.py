"""Collection files (.npz) made to hurt: wrong dtypes, Python objects, encrypted or oddly
compressed members, headers that claim petabytes, a million samples in a small file, zip
bombs. Each is one CollectionError, refused before its data is read (``npzfile._data`` is never
reached), and a special file in My digits never blocks the start."""
from __future__ import annotations

import io
import struct
import zipfile

import numpy as np
import pytest
from special_files import make_special, no_hang

from digitpad.core import fileio, npzfile
from digitpad.core.handwriting import collection as C


def _npy(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, a, allow_pickle=True)
    return buf.getvalue()


def _zip(path, members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _one(**overrides) -> dict[str, bytes]:
    arrays = {"images": np.zeros((1, 28, 28), np.uint8), "labels": np.zeros(1, np.int64)}
    arrays.update(overrides)
    return {f"{k}.npy": _npy(v) for k, v in arrays.items()}


def _strokes(**overrides) -> dict[str, bytes]:
    arrays = dict(stroke_points=np.zeros((2, 3), np.float32), stroke_counts=np.array([2]),
                  sample_strokes=np.array([1]), stroke_widths=np.array([3.0], np.float32),
                  canvas_sizes=np.array([400.0], np.float32))
    arrays.update(overrides)
    return _one(**arrays)


@pytest.fixture
def never_read(monkeypatch):
    """Fail if any member's data is read: a refusal must come from the headers alone."""
    def refuse(*_a):
        raise AssertionError("data read before the file was refused")
    monkeypatch.setattr(npzfile, "_data", refuse)


@pytest.mark.parametrize("members, words", [
    (_one(labels=np.zeros(1, np.float64)), "'labels' must be int64"),
    (_one(labels=np.array(["7"])), "'labels' must be int64"),
    (_one(labels=np.zeros(1, bool)), "'labels' must be int64"),
    (_one(images=np.zeros((1, 28, 28), np.float32)), "uint8"),
    (_one(images=np.zeros((1, 28, 28), "<U4")), "uint8"),
    (_one(format=np.array("one")), "'format' must be one integer"),
    (_one(format=np.array(np.nan)), "'format' must be one integer"),
    (_one(format=np.zeros(3, np.int64)), "'format' must be one integer"),
    (_one(timestamps=np.array(["yesterday"])), "'timestamps' must be [1] (numbers)"),
    (_one(ids=np.array([7])), "'ids' must be [1] (strings)"),
    (_one(sources=np.zeros(1, np.float32)), "'sources' must be [1] (strings)"),
    (_strokes(stroke_counts=np.array(["2"])), "'stroke_counts'"),
    (_strokes(stroke_counts=np.array([2.0])), "'stroke_counts'"),
    (_strokes(sample_strokes=np.array([1.5])), "'sample_strokes'"),
    (_strokes(stroke_widths=np.array(["wide"])), "'stroke_widths'"),
    (_strokes(canvas_sizes=np.array([b"x"])), "'canvas_sizes'"),
    (_strokes(stroke_points=np.zeros((2, 3), np.int32)), "'stroke_points' must be float32"),
    (_strokes(stroke_erasers=np.array(["no"])), "'stroke_erasers'"),
    (_one(ids=np.array([{"evil": 1}], dtype=object)), "pickle"),
    (_one(labels=np.zeros(1, dtype=[("a", "<i8")])), "plain numbers"),
    (_one(labels=np.zeros(1, np.complex64)), "plain numbers"),
    (_one(images=np.zeros((1, 28, 28), "V1")), "plain numbers"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_wrong_dtypes_are_refused_before_reading(tmp_path, never_read, members, words):
    path = _zip(tmp_path / "x.npz", members)
    with pytest.raises(C.CollectionError) as e:
        C.load(path)
    assert words in str(e.value) and "x.npz" in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("members, words", [
    (_strokes(stroke_points=np.array([[np.nan, 0, 0], [0, 0, 0]], np.float32)), "NaN"),
    (_strokes(stroke_widths=np.array([np.inf], np.float32)), "NaN or infinite"),
    (_one(timestamps=np.array([np.inf])), "NaN or infinite"),
    (_strokes(stroke_counts=np.array([2 ** 62]), stroke_points=np.zeros((2, 3), np.float32)), "positive"),
    (_strokes(sample_strokes=np.array([2 ** 62])), "positive"),
    (_strokes(stroke_counts=np.array([2 ** 63], np.uint64)), "positive"),
])
def test_values_no_reader_can_use(tmp_path, members, words):
    with pytest.raises(C.CollectionError, match=words):
        C.load(_zip(tmp_path / "x.npz", members))


def _set_header_field(data: bytes, local: tuple[int, bytes], central: tuple[int, bytes]) -> bytes:
    """Overwrite bytes at an offset of every local and central zip header."""
    out = bytearray(data)
    for sig, (offset, value) in ((b"PK\x03\x04", local), (b"PK\x01\x02", central)):
        i = out.find(sig)
        while i >= 0:
            out[i + offset:i + offset + len(value)] = value
            i = out.find(sig, i + 4)
    return bytes(out)


@pytest.mark.parametrize("damage, words", [
    ("encrypted", "encrypted"), ("method 99", "compression method 99"), ("bzip2", "compression method 12"),
    ("lzma", "compression method 14"),
])
def test_encrypted_and_unknown_compression_members(tmp_path, never_read, damage, words):
    path = tmp_path / "x.npz"
    if damage in ("bzip2", "lzma"):
        _zip(path, _one(), zipfile.ZIP_BZIP2 if damage == "bzip2" else zipfile.ZIP_LZMA)
    else:
        data = _zip(path, _one()).read_bytes()
        if damage == "encrypted":
            flags = struct.unpack("<H", data[6:8])[0] | 1
            data = _set_header_field(data, (6, struct.pack("<H", flags)), (8, struct.pack("<H", flags)))
        else:
            data = _set_header_field(data, (8, struct.pack("<H", 99)), (10, struct.pack("<H", 99)))
        path.write_bytes(data)
    with pytest.raises(C.CollectionError, match=words):
        C.load(path)


def _claiming(shape, payload: bytes, dtype="|u1") -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buf.getvalue() + payload


@pytest.mark.parametrize("images, labels, words", [
    (_claiming((10 ** 15, 28, 28), b"\0" * 784), None, "claims"),                   # petabytes
    (_claiming((1, 28, 28), b"\0" * 10), None, "claims"),                            # fewer bytes than claimed
    (_claiming((2 ** 62, 2 ** 62, 28), b"\0" * 784), None, "claims"),                 # a product past int64
    (_claiming((1_000_000, 28, 28), b"\0" * 784), _claiming((1_000_000,), b"\0" * 8, "<i8"), "claims"),
])
def test_headers_that_claim_too_much_are_refused_before_reading(tmp_path, never_read, images, labels, words):
    members = _one()
    members["images.npy"] = images
    if labels is not None:
        members["labels.npy"] = labels
    with pytest.raises(C.CollectionError, match=words):
        C.load(_zip(tmp_path / "x.npz", members))


def test_a_million_samples_are_refused_from_the_headers(tmp_path, never_read):
    layout = {"images": ((1_000_000, 28, 28), np.dtype(np.uint8)), "labels": ((1_000_000,), np.dtype(np.int64))}
    with pytest.raises(C.CollectionError, match="1,000,000 samples"):
        C._check_layout(layout)
    members = _one(labels=np.zeros(50, np.int64))
    members["images.npy"] = _npy(np.zeros((50, 28, 28), np.uint8))
    with pytest.raises(C.CollectionError, match="50 samples; digitpad reads at most 10"):
        C.load(_zip(tmp_path / "x.npz", members), max_samples=10)


def test_zip_bombs_are_refused_before_reading(tmp_path, never_read, monkeypatch):
    n = 10_000                                                 # 7.8 MB of blank images in about 8 KB
    members = _one(labels=np.zeros(n, np.int64))
    members["images.npy"] = _npy(np.zeros((n, 28, 28), np.uint8))
    path = _zip(tmp_path / "bomb.npz", members)
    assert path.stat().st_size < 100_000
    with pytest.raises(C.CollectionError, match="zip bomb"):
        C.load(path)
    # past the collection's unpacked cap (2 GB; 1 MB here), whatever the ratio
    monkeypatch.setattr(fileio, "COLLECTION", fileio.Kind("a digit collection", 10 << 20, max_unpacked=1 << 20))
    members = _one(timestamps=np.random.default_rng(0).random(1))
    members["timestamps.npy"] = _npy(np.random.default_rng(0).random(200_000))
    with pytest.raises(C.CollectionError, match="unpacks to more than"):
        C.load(_zip(tmp_path / "big.npz", members))


def test_members_nobody_asked_for_are_never_read(tmp_path):
    members = _one()
    members["junk.npy"] = _npy(np.zeros(5_000_000, np.uint8))      # a bomb under a name no one reads
    members["notes.txt"] = b"hello"
    d = C.load(_zip(tmp_path / "x.npz", members))
    assert len(d) == 1 and d.extra == {}


def test_my_digits_refuses_a_many_sample_file_unread(tmp_path, never_read):
    folder = tmp_path / "my_digits"
    folder.mkdir()
    many = _one(labels=np.zeros(50, np.int64))
    many["images.npy"] = _npy(np.zeros((50, 28, 28), np.uint8))
    _zip(folder / "many.npz", many)
    col = C.Collection(folder)
    assert len(col) == 0 and "50 samples" in col.problems[0][1]


@pytest.mark.parametrize("kind", ["fifo", "dev_zero", "dangling", "loop", "folder"])
def test_special_files_in_my_digits_are_reported_not_read(tmp_path, kind):
    folder = tmp_path / "my_digits"
    col = C.Collection(folder)
    kept = col.add(3, np.zeros((28, 28), np.float32))
    make_special(folder / f"odd-{kind}.npz", kind)
    again = no_hang(lambda: C.Collection(folder))
    assert [s.id for s in again.samples()] == [kept.id]
    assert [p.name for p, _ in again.problems] == [f"odd-{kind}.npz"]
    with pytest.raises(C.CollectionError):
        no_hang(lambda: again.import_file(folder / f"odd-{kind}.npz"))
