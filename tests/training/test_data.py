"""IDX reading: real files in both layouts, and every kind of damage gives one clear error."""
import gzip
import shutil

import numpy as np
import pytest

from training import data
from training.errors import TrainError


def write_idx(path, arr: np.ndarray, magic: int, gz: bool = False, cut: int = 0):
    header = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    raw = header + arr.astype(np.uint8).tobytes()
    raw = raw[:len(raw) - cut] if cut else raw
    (gzip.open if gz else open)(path, "wb").write(raw)


def make_flat_mnist(folder, n_train=20, n_test=10, gz=False, **damage):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    ext = ".gz" if gz else ""
    for split, n in (("train", n_train), ("t10k", n_test)):
        write_idx(folder / f"{split}-images-idx3-ubyte{ext}", rng.integers(0, 256, (n, 28, 28)), 2051, gz,
                  cut=damage.get("cut", 0) if split == "train" else 0)
        n_labels = n + damage.get("extra_labels", 0)
        write_idx(folder / f"{split}-labels-idx1-ubyte{ext}", rng.integers(0, 10, n_labels),
                  damage.get("label_magic", 2049), gz)
    return folder


def test_reads_real_mnist_in_torchvision_layout(mnist_dir):
    train, test = data.load("mnist", mnist_dir)
    assert train.images.shape == (60000, 28, 28) and train.images.dtype == np.uint8
    assert test.images.shape == (10000, 28, 28) and len(test.labels) == 10000
    assert set(np.unique(train.labels)) == set(range(10))
    # MNIST is white ink on black: most pixels are background (0).
    assert (train.images[:100] == 0).mean() > 0.7


def test_reads_flat_folder_raw_and_gz(tmp_path):
    for gz in (False, True):
        folder = make_flat_mnist(tmp_path / f"flat{gz}", gz=gz)
        train, test = data.load("mnist", folder)
        assert len(train) == 20 and len(test) == 10


def test_fashion_mnist_is_found(mnist_dir):
    train, _ = data.load("fashion-mnist", mnist_dir)
    assert len(train) == 60000


@pytest.mark.parametrize("damage, message", [
    ({"cut": 100}, "truncated"),
    ({"extra_labels": 3}, "count mismatch"),
    ({"label_magic": 1234}, "wrong magic number 1234"),
])
def test_damaged_files_give_clear_errors(tmp_path, damage, message):
    folder = make_flat_mnist(tmp_path / "bad", **damage)
    with pytest.raises(TrainError, match=message):
        data.load("mnist", folder)


def test_missing_file_names_what_and_where(tmp_path):
    folder = make_flat_mnist(tmp_path / "m")
    (folder / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(TrainError, match="t10k-labels-idx1-ubyte.*not found"):
        data.load("mnist", folder)


def test_corrupt_gzip(tmp_path, mnist_dir):
    folder = tmp_path / "MNIST" / "raw"
    shutil.copytree(mnist_dir / "MNIST" / "raw", folder)
    target = folder / "t10k-labels-idx1-ubyte.gz"
    target.chmod(0o644)
    target.write_bytes(target.read_bytes()[:200])
    with pytest.raises(TrainError, match="cannot read|truncated"):
        data.load("mnist", tmp_path)


def test_unknown_dataset():
    with pytest.raises(TrainError, match="unknown dataset 'cifar'"):
        data.load("cifar", "/nonexistent")


def test_synthetic_digits_are_balanced_reproducible_and_mnist_like():
    a, b = data.synthetic(60, seed=1), data.synthetic(60, seed=1)
    assert a.images.shape == (60, 28, 28) and a.images.dtype == np.uint8
    assert np.array_equal(a.images, b.images) and np.array_equal(a.labels, b.labels)
    assert np.bincount(a.labels, minlength=10).tolist() == [6] * 10
    # Preprocessed like the canvas: the ink sits in the middle (20x20 box, centred by mass).
    ink = a.images.astype(float)
    border = ink.sum() - ink[:, 3:-3, 3:-3].sum()
    assert border < 0.05 * ink.sum()
    assert (a.images.reshape(60, -1).max(1) > 150).all()  # even thin pens leave bright strokes


def test_extra_npz_round_trips(tmp_path):
    path = tmp_path / "extra.npz"
    np.savez(path, images=np.zeros((5, 28, 28), np.uint8), labels=np.arange(5))
    split = data.load_extra(path)
    assert len(split) == 5 and split.labels.dtype == np.int64
