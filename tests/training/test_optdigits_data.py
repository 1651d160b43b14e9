"""The UCI 8x8 digits: the real files in both layouts, and every kind of damage gives one clear error."""
import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest

from digitpad.core import datasets, optdigits
from training import data
from training.errors import TrainError


@pytest.fixture(scope="module")
def optdigits_dir(mnist_dir) -> Path:
    if not (mnist_dir / "optdigits" / "optdigits.tra").is_file():
        pytest.fail(f"optdigits not found in {mnist_dir}/optdigits")
    return mnist_dir


def test_real_files_split_by_writer(optdigits_dir):
    train, test = data.load("optdigits", optdigits_dir)
    assert train.images.shape == (3823, 8, 8) and test.images.shape == (1797, 8, 8)
    assert train.images.dtype == np.uint8 and train.full_scale == test.full_scale == 16
    assert train.images.max() == 16 and train.images.min() == 0
    # optdigits.names: the class counts of both files.
    assert np.bincount(train.labels).tolist() == [376, 389, 380, 389, 387, 376, 377, 387, 380, 382]
    assert np.bincount(test.labels).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    # The first training line of the file, read back in row-major 8x8 order.
    first = ("0,1,6,15,12,1,0,0,0,7,16,6,6,10,0,0,0,8,16,2,0,11,2,0,0,5,16,3,0,5,7,0,"
             "0,7,13,3,0,8,7,0,0,4,12,0,1,13,5,0,0,0,14,9,15,9,0,0,0,0,6,14,7,1,0,0,0")
    values = [int(v) for v in first.split(",")]
    assert train.images[0].ravel().tolist() == values[:64] and train.labels[0] == values[64]


def test_files_directly_in_the_folder_raw_or_gz(tmp_path, optdigits_dir):
    src = optdigits_dir / "optdigits"
    shutil.copy(src / "optdigits.tra", tmp_path / "optdigits.tra")
    with gzip.open(tmp_path / "optdigits.tes.gz", "wb") as f:
        f.write((src / "optdigits.tes").read_bytes())
    assert datasets.has_split(tmp_path, "optdigits", "test")
    train, test = data.load("optdigits", tmp_path)
    assert len(train) == 3823 and len(test) == 1797


def _write(folder: Path, train_text: str, test_text: str = "0," * 64 + "3\n") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "optdigits.tra").write_text(train_text)
    (folder / "optdigits.tes").write_text(test_text)
    return folder


GOOD = ",".join(["1"] * 64) + ",7"


@pytest.mark.parametrize("text, message", [
    ("", "optdigits.tra: no digits in the file"),
    ("\n\n", "no digits in the file"),
    (GOOD + "\n" + ",".join(["1"] * 63) + ",7\n", r"line 2: 64 columns, expected 65"),
    (GOOD + ",0\n", r"line 1: 66 columns"),
    (GOOD + "\n" + GOOD.replace("1,", "2.5,", 1) + "\n", r"line 2, column 1: '2.5' is not an integer"),
    (GOOD.replace("1,1,1,", "1,x,1,", 1) + "\n", r"line 1, column 2: 'x' is not an integer"),
    (GOOD.replace("1,1,1,", "1,1,17,", 1) + "\n", r"line 1, column 3: block count 17 is out of range 0..16"),
    (GOOD.replace("1,1,", "-1,1,", 1) + "\n", r"line 1, column 1: block count -1 is out of range"),
    (GOOD[:-1] + "10\n", r"line 1, column 65: class 10 is out of range 0..9"),
])
def test_damaged_file_gives_one_clear_error(tmp_path, text, message):
    _write(tmp_path / "optdigits", text)
    with pytest.raises(TrainError, match=message):
        data.load("optdigits", tmp_path)


def test_binary_garbage_and_corrupt_gzip(tmp_path):
    folder = tmp_path / "optdigits"
    folder.mkdir()
    (folder / "optdigits.tra").write_bytes(bytes(range(256)) * 4)
    (folder / "optdigits.tes").write_text(GOOD + "\n")
    with pytest.raises(TrainError, match="not a text file"):
        data.load("optdigits", tmp_path)
    (folder / "optdigits.tra").unlink()
    (folder / "optdigits.tra.gz").write_bytes(b"\x1f\x8b\x08\x00 truncated")
    with pytest.raises(TrainError, match="cannot read"):
        data.load("optdigits", tmp_path)


def test_windows_line_endings_and_trailing_blank_lines_are_fine(tmp_path):
    _write(tmp_path, (GOOD + "\r\n") * 3 + "\r\n\r\n")
    train, _ = data.load("optdigits", tmp_path)
    assert len(train) == 3 and train.labels.tolist() == [7, 7, 7] and (train.images == 1).all()


def test_missing_file_names_what_and_where(tmp_path):
    _write(tmp_path / "optdigits", GOOD + "\n")
    (tmp_path / "optdigits" / "optdigits.tes").unlink()
    assert not datasets.has_split(tmp_path, "optdigits", "test")
    with pytest.raises(TrainError, match=r"optdigits.tes\[.gz\] not found in .* \(looked in optdigits/"):
        data.load("optdigits", tmp_path)


def test_not_downloadable_says_what_to_pass(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITPAD_DATA_DIR", str(tmp_path / "empty-user-folder"))
    with pytest.raises(TrainError, match="optdigits is not downloaded by digitpad-train: pass --data-dir"):
        data.load("optdigits", None)


def test_eight_by_eight_digits_do_not_mix_with_mnist(tmp_path):
    a = datasets.Split(np.zeros((2, 8, 8), np.uint8), np.zeros(2, np.int64), 16)
    b = datasets.Split(np.zeros((2, 28, 28), np.uint8), np.zeros(2, np.int64))
    with pytest.raises(datasets.DatasetError, match="cannot mix digits of different kinds"):
        datasets.concat(a, b)
    assert datasets.concat(a, a).full_scale == 16


def test_parse_is_the_reader_the_app_uses():
    images, labels = optdigits.parse(GOOD + "\n", "x")
    assert images.shape == (1, 8, 8) and images.dtype == np.uint8 and labels.tolist() == [7]
