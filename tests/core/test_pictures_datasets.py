"""CIFAR-10 from torchvision's batches (never running what a pickle names) and image folders."""
from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
from PIL import Image

from digitpad.core import cifar, imagefolder
from digitpad.core.contract import CIFAR10_CLASSES
from digitpad.core.datasets import DatasetError, has_split, load_split


def write_batches(folder, n_train=6, n_test=4, seed=0):
    """A small cifar-10-batches-py as the original was written: protocol 2 pickles of dicts."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    written = {}
    for name in cifar.TRAIN_FILES + cifar.TEST_FILES:
        n = n_test if name in cifar.TEST_FILES else n_train
        data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, n)]
        with open(folder / name, "wb") as f:
            batch = {"batch_label": name, "labels": labels, "data": data, "filenames": [f"{i}.png" for i in range(n)]}
            pickle.dump(batch, f, protocol=2)
        written[name] = (data, labels)
    return written


def test_batches_read_as_channels_first_rgb(tmp_path):
    written = write_batches(tmp_path / cifar.FOLDER)
    train = load_split(tmp_path, "cifar10", "train")
    test = load_split(tmp_path, "cifar10", "test")
    assert train.images.shape == (30, 3, 32, 32) and test.images.shape == (4, 3, 32, 32)
    data, labels = written["test_batch"]
    assert np.array_equal(test.images[1, 0].ravel(), data[1, :1024])        # the red plane first
    assert test.labels.tolist() == labels and test.classes == CIFAR10_CLASSES
    assert has_split(tmp_path, "cifar10", "test")


class _RunsCode:
    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("payload", ["system", "object-array", "subclass"])
def test_a_pickle_that_would_run_code_is_refused(tmp_path, payload):
    folder = tmp_path / cifar.FOLDER
    write_batches(folder)
    marker = tmp_path / "ran"
    if payload == "system":
        evil = _RunsCode()
        evil.marker = marker
        content = {"data": evil, "labels": [0]}
    elif payload == "object-array":
        content = {"data": np.array([print, 1], dtype=object), "labels": [0, 1]}
    else:
        content = {"data": np.ma.masked_array(np.zeros((1, 3072), np.uint8)), "labels": [0]}
    with open(folder / "test_batch", "wb") as f:
        pickle.dump(content, f, protocol=2)
    with pytest.raises(DatasetError, match="test_batch was refused"):
        load_split(tmp_path, "cifar10", "test")
    assert not marker.exists()


@pytest.mark.parametrize("content, reason", [
    ({"data": np.zeros((2, 100), np.uint8), "labels": [0, 1]}, r"uint8 \[N, 3072\]"),
    ({"data": np.zeros((2, 3072), np.float32), "labels": [0, 1]}, r"uint8 \[N, 3072\]"),
    ({"data": np.zeros((2, 3072), np.uint8), "labels": [0, 10]}, "2 integers 0..9"),
    ({"data": np.zeros((2, 3072), np.uint8), "labels": [0]}, "2 integers 0..9"),
    ([1, 2, 3], "holds list"),
])
def test_damaged_batches_say_what_is_wrong(tmp_path, content, reason):
    folder = tmp_path / cifar.FOLDER
    write_batches(folder)
    with open(folder / "test_batch", "wb") as f:
        pickle.dump(content, f, protocol=2)
    with pytest.raises(DatasetError, match=reason):
        load_split(tmp_path, "cifar10", "test")


def test_a_truncated_batch_is_a_clear_error(tmp_path):
    folder = tmp_path / cifar.FOLDER
    write_batches(folder)
    data = (folder / "test_batch").read_bytes()
    (folder / "test_batch").write_bytes(data[: len(data) // 3])
    with pytest.raises(DatasetError, match="not a readable CIFAR-10 batch"):
        load_split(tmp_path, "cifar10", "test")


# -- image folders ------------------------------------------------------------------------------------
COLOURS = {"red": (220, 20, 20), "green": (20, 200, 40), "blue": (30, 30, 210)}


def write_folder(root, per_class=4, split_dirs=True, size=(40, 30)):
    for split in (("train", "test") if split_dirs else ("",)):
        for name, colour in COLOURS.items():
            folder = root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(per_class):
                img = Image.new("RGB", size, colour)
                suffix = (".png", ".jpg", ".bmp", ".webp")[i % 4]
                img.save(folder / f"{name}{i}{suffix}")
    return root


def test_a_folder_of_pictures_is_a_data_set(tmp_path):
    root = write_folder(tmp_path / "mine")
    (root / "train" / "red" / "broken.png").write_bytes(b"\x89PNG not really")
    (root / "train" / "red" / "notes.txt").write_text("not a picture, not even looked at")
    calls = []
    train = load_split(root, "folder", "train", progress=lambda done, total: calls.append((done, total)))
    assert train.classes == ["blue", "green", "red"] and train.images.shape == (12, 3, 32, 32)
    assert len(train.skipped) == 1 and "broken.png" in train.skipped[0]
    assert calls and calls[-1] == (13, 13)
    red = train.images[train.labels == 2]
    assert red[:, 0].mean() > 200 and red[:, 2].mean() < 40          # RGB order kept
    test = load_split(root, "folder", "test")
    assert test.classes == train.classes and len(test) == 12


def test_the_decoded_pictures_are_cached_by_content(tmp_path):
    root = write_folder(tmp_path / "mine")
    first = imagefolder.load(root, "train")
    calls = []
    again = imagefolder.load(root, "train", progress=lambda *a: calls.append(a))
    assert not calls and np.array_equal(first.images, again.images)   # read from the cache: nothing decoded
    Image.new("RGB", (8, 8), (0, 0, 0)).save(root / "train" / "red" / "extra.png")
    changed = imagefolder.load(root, "train", progress=lambda *a: calls.append(a))
    assert calls and len(changed.labels) == len(first.labels) + 1


def test_every_class_of_a_small_folder_is_tested(tmp_path):
    root = write_folder(tmp_path / "small", per_class=3, split_dirs=False)
    test = load_split(root, "folder", "test")
    assert sorted(set(test.labels.tolist())) == [0, 1, 2]
    assert len(load_split(root, "folder", "train")) + len(test) == 9


def test_class_folders_without_splits_are_split_by_name(tmp_path):
    root = write_folder(tmp_path / "flat", per_class=40, split_dirs=False)
    train, test = load_split(root, "folder", "train"), load_split(root, "folder", "test")
    assert len(train) + len(test) == 120 and 0 < len(test) < 30
    names_train = {p.name for p, _ in imagefolder.listing(root, "train")[0]}
    names_test = {p.name for p, _ in imagefolder.listing(root, "test")[0]}
    assert not names_train & names_test


@pytest.mark.parametrize("make, reason", [
    (lambda root: (root / "train" / "only").mkdir(parents=True), "1 class folders"),
    (lambda root: [(root / "train" / c).mkdir(parents=True) for c in "ab"], "holds no pictures"),
])
def test_unusable_folders_say_why(tmp_path, make, reason):
    root = tmp_path / "bad"
    make(root)
    with pytest.raises(DatasetError, match=reason):
        load_split(root, "folder", "train")


def test_cifar10_as_an_image_folder_must_have_its_classes(tmp_path):
    root = tmp_path / "data" / "cifar10"
    for split in ("train", "test"):
        for c in CIFAR10_CLASSES:
            (root / split / c).mkdir(parents=True)
            Image.new("RGB", (32, 32), (10, 20, 30)).save(root / split / c / "0000.jpg")
    test = load_split(tmp_path / "data", "cifar10", "test")
    assert len(test) == 10 and test.labels.tolist() == list(range(10)) and test.classes == CIFAR10_CLASSES
    (root / "train" / "unicorn").mkdir()
    with pytest.raises(DatasetError, match="must hold the folders airplane"):
        load_split(tmp_path / "data", "cifar10", "train")
