"""Data files made to hurt, for the readers both processes use: IDX (raw and .gz), the UCI 8x8
CSV and UNIPEN JSON lines. Each fault is its reader's own error type, naming the file."""
from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
from known import write_idx
from special_files import make_special, no_hang

from digitpad.core import datasets, optdigits
from digitpad.core.datasets import IMAGES_MAGIC, LABELS_MAGIC, DatasetError
from digitpad.core.handwriting import unipen


def _mnist(folder, n_train=5, n_test=5, gz=False):
    raw = folder / "MNIST" / "raw"
    ext = ".gz" if gz else ""
    for split, n in (("train", n_train), ("t10k", n_test)):
        write_idx(raw / f"{split}-images-idx3-ubyte{ext}", np.zeros((n, 28, 28), np.uint8), IMAGES_MAGIC)
        write_idx(raw / f"{split}-labels-idx1-ubyte{ext}", np.arange(n) % 10, LABELS_MAGIC)
    return raw


def test_a_corrupt_deflate_stream_is_a_dataset_error_naming_the_file(tmp_path):
    raw = _mnist(tmp_path, gz=True)
    path = raw / "t10k-images-idx3-ubyte.gz"
    data = bytearray(path.read_bytes())
    data[20:40] = b"\xff" * 20
    path.write_bytes(bytes(data))
    with pytest.raises(DatasetError) as e:
        datasets.load_split(tmp_path, "mnist", "test")
    assert "t10k-images-idx3-ubyte.gz" in str(e.value) and "damaged" in str(e.value)


def test_a_gzip_that_unpacks_past_the_cap(tmp_path, monkeypatch):
    from digitpad.core import fileio

    raw = _mnist(tmp_path, gz=True)
    monkeypatch.setattr(fileio, "DATASET", fileio.Kind("a data set file", 1 << 20, max_unpacked=2000))
    with pytest.raises(DatasetError, match="unpacks to more than"):
        datasets.load_split(tmp_path, "mnist", "test")
    assert raw.is_dir()


@pytest.mark.parametrize("split", ["train", "test"])
def test_zero_rows_are_refused(tmp_path, split):
    _mnist(tmp_path, **({"n_train": 0} if split == "train" else {"n_test": 0}))
    with pytest.raises(DatasetError, match="has 0 images"):
        datasets.load_split(tmp_path, "mnist", split)


@pytest.mark.parametrize("dims, words", [
    ((2 ** 32 - 1, 2 ** 32 - 1, 2 ** 32 - 1), "header says"),   # the product needs 96 bits
    ((2 ** 31, 2 ** 31, 4), "header says"),                    # wraps an int64 product to 0
    ((1000, 28, 28), "truncated"),
    ((1, 28, 28), "trailing"),
])
def test_dimensions_that_do_not_fit_the_file(tmp_path, dims, words):
    path = tmp_path / "x-idx3-ubyte"
    path.write_bytes(IMAGES_MAGIC.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in dims) + b"\0" * 1568)
    with pytest.raises(DatasetError, match=words) as e:
        datasets.read_idx(path, IMAGES_MAGIC)
    assert str(path) in str(e.value)


def test_a_header_cut_short(tmp_path):
    path = tmp_path / "x-idx3-ubyte"
    path.write_bytes(IMAGES_MAGIC.to_bytes(4, "big") + b"\0\0")
    with pytest.raises(DatasetError, match="truncated|not an IDX"):
        datasets.read_idx(path, IMAGES_MAGIC)


@pytest.mark.parametrize("kind", ["fifo", "dev_zero", "loop", "dangling"])
def test_special_data_files(tmp_path, kind):
    path = make_special(tmp_path / "t10k-images-idx3-ubyte", kind)
    with pytest.raises(DatasetError):
        no_hang(lambda: datasets.read_idx(path, IMAGES_MAGIC))
    csv = make_special(tmp_path / "optdigits.tes", kind)
    with pytest.raises(optdigits.OptdigitsError):
        no_hang(lambda: optdigits.read(csv))
    lines = make_special(tmp_path / "digits.jsonl.gz", kind)
    with pytest.raises(unipen.UnipenError):
        no_hang(lambda: unipen.load(lines))


def test_optdigits_damaged_gzip_and_huge_numbers(tmp_path):
    row = ",".join(["0"] * 64 + ["3"])
    path = tmp_path / "optdigits.tes.gz"
    data = bytearray(gzip.compress((row + "\n").encode() * 50))
    data[15:30] = b"\xee" * 15
    path.write_bytes(bytes(data))
    with pytest.raises(optdigits.OptdigitsError, match="optdigits.tes.gz"):
        optdigits.read(path)
    huge = tmp_path / "optdigits.tra"
    huge.write_text(",".join(["9" * 400] + ["0"] * 63 + ["3"]) + "\n")
    with pytest.raises(optdigits.OptdigitsError):
        optdigits.read(huge)


LINE = {"label": 7, "writer": "syn/x", "contributor": "syn", "strokes": [[[0, 0], [3, 4]]]}


@pytest.mark.parametrize("text", [
    json.dumps(LINE).replace('"label": 7', '"label": ' + "7" * 400),
    json.dumps(LINE).replace("[3, 4]", "[3, 1e400]"),
    json.dumps(LINE).replace("[3, 4]", "[3, -Infinity]"),
    json.dumps(LINE).replace("[3, 4]", "[3, " + "9" * 400 + "]"),
    json.dumps(LINE).replace('"strokes": [[[0, 0], [3, 4]]]', '"strokes": ' + "[" * 100_000 + "]" * 100_000),
    json.dumps(LINE).replace('"syn/x"', '{"a": ' * 2000 + "1" + "}" * 2000),
])
def test_unipen_numbers_and_nesting_are_its_own_error(tmp_path, text):
    path = tmp_path / "digits.jsonl.gz"
    path.write_bytes(gzip.compress((json.dumps(LINE) + "\n" + text + "\n").encode()))
    with pytest.raises(unipen.UnipenError) as e:
        unipen.load(path)
    assert "digits.jsonl.gz:2" in str(e.value) and "\n" not in str(e.value)


def test_unipen_damaged_gzip_is_its_own_error(tmp_path):
    path = tmp_path / "digits.jsonl.gz"
    data = bytearray(gzip.compress((json.dumps(LINE) + "\n").encode() * 200))
    data[30:60] = b"\x00" * 30
    path.write_bytes(bytes(data))
    with pytest.raises(unipen.UnipenError, match="digits.jsonl.gz"):
        unipen.load(path)
