"""The engine on colour pictures, data to exported model: CIFAR-10 from torchvision's batches (and
its download), a folder of the user's labelled pictures, a hostile batch, and the exported
models opened by the app's Predictor (predict, explain, shapes)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from colour_data import write_cifar_batches, write_code_running_batch, write_picture_folder
from train_helpers import assert_one_line_error, metadata, run_cli

from digitpad.core import contract
from digitpad.core.inference import Predictor
from training import data
from training.errors import TrainError


@pytest.fixture(scope="module")
def cifar_dir(tmp_path_factory):
    """100 training and 30 test pictures in torchvision's cifar-10-batches-py."""
    return write_cifar_batches(tmp_path_factory.mktemp("cifar"))


def _inspect(path, classes: int = 10) -> Predictor:
    """The exported model as the app opens it: predictions, every layer's maps, explain's numbers
    equal to the activations, and the shapes table."""
    p = Predictor(path)
    assert p.input_shape == (3, 32, 32)
    rng = np.random.default_rng(0)
    x = rng.random((1, 3, 32, 32), dtype=np.float32)
    pred = p.predict(x)
    assert pred.probs.shape == (classes,) and abs(float(pred.probs.sum()) - 1) < 1e-5
    assert not pred.not_digit
    for layer in p.layers:
        act = pred.activations[layer]
        for _ in range(4):
            c, r, col = (int(rng.integers(n)) for n in act.shape)
            assert abs(p.explain(x, layer, c, r, col).value - act[c, r, col]) <= 1e-4
    for j in range(classes):
        assert abs(p.explain(x, "probs", j).value - pred.probs[j]) <= 1e-4
    stages = p.shapes().stages
    assert stages[0].shape == (3, 32, 32) and stages[-1].shape == (classes,)
    return p


def test_seed003_preset_trains_on_cifar_batches_and_the_app_inspects_it(tmp_path, cifar_dir, capsys):
    out = tmp_path / "seed003.onnx"
    rc, events, err = run_cli(capsys, "--preset", "seed003", "--data-dir", str(cifar_dir), "--limit", "64",
                              "--epochs", "1", "--threads", "1", "--out", str(out))
    assert rc == 0, err
    start = events[0]
    assert start["config"]["optimizer"] == "rmsprop" and start["config"]["schedule"] == "inverse-time"
    assert start["precision"] == "fp32" and start["n_train"] == 64 and start["n_test"] == 30
    assert start["params"] == 1_250_858 and start["steps_per_epoch"] == 2
    meta = metadata(out)
    assert meta.input_spec == contract.CIFAR10_INPUT and meta.classes == contract.CIFAR10_CLASSES
    assert meta.not_digit is None and meta.metrics["parity_top1_agreement"] == 1.0
    assert meta.metrics["parity_images"] == 30
    p = _inspect(out)
    assert p.layers == ["conv1", "conv2", "conv3", "conv4"]
    sizes = {s.stage: s.shape for s in p.shapes().stages}
    assert sizes["act:conv2"] == (32, 30, 30) and sizes["act:conv4"] == (64, 13, 13)   # 'valid' convs
    assert [s.shape for s in p.shapes().stages if s.op == "Flatten"] == [(2304,)]


def test_cifar10_preset_trains_resumes_and_exports(tmp_path, cifar_dir, capsys):
    out = tmp_path / "fast.onnx"
    args = ["--preset", "cifar10", "--data-dir", str(cifar_dir), "--limit", "48", "--batch-size", "16",
            "--threads", "1", "--out", str(out)]
    rc, events, err = run_cli(capsys, *args, "--epochs", "1")
    assert rc == 0, err
    assert events[0]["config"]["arch"] == "cifar10" and events[0]["precision"] in ("bf16", "fp32")
    rc, events, err = run_cli(capsys, "--resume", "--out", str(out), "--epochs", "2", "--threads", "1")
    assert rc == 0, err
    assert events[0]["resumed"] is True and [e["epoch"] for e in events if e["event"] == "epoch"] == [2]
    meta = metadata(out)
    assert meta.training["epochs_run"] == 2 and meta.dataset == "cifar10"
    assert meta.training["precision"] == events[0]["precision"] and meta.training["threads"] == 1
    _inspect(out)


def test_a_folder_of_pictures_trains_with_its_own_class_names(tmp_path, capsys):
    pictures = write_picture_folder(tmp_path / "pets", classes=("cat", "dog", "fox"))
    out = tmp_path / "pets.onnx"
    rc, events, err = run_cli(capsys, "--dataset", "folder", "--data-dir", str(pictures), "--epochs", "1",
                              "--batch-size", "8", "--threads", "1", "--out", str(out))
    assert rc == 0, err
    decoding = [e for e in events if e["event"] == "progress"]
    assert {e["task"] for e in decoding} == {"decoding train pictures", "decoding test pictures"}
    assert decoding[-1]["done"] == decoding[-1]["total"] == 12
    skipped = [line for line in err.splitlines() if line.startswith("skipped")]
    assert len(skipped) == 1 and "skipped 1 files" in skipped[0] and "broken.jpg" in skipped[0]
    start = next(e for e in events if e["event"] == "start")
    assert start["config"]["arch"] == "cifar10" and start["config"]["classes"] == ["cat", "dog", "fox"]
    assert start["n_train"] == 30 and start["n_test"] == 12
    meta = metadata(out)
    assert meta.classes == ["cat", "dog", "fox"] and meta.dataset == "folder"
    assert meta.input_spec == contract.DATASET_INPUTS["folder"]
    _inspect(out, classes=3)
    # The pictures are decoded once: a second run reads the cache and starts at once.
    rc, events, err = run_cli(capsys, "--resume", "--out", str(out), "--epochs", "2", "--threads", "1")
    assert rc == 0, err
    assert not [e for e in events if e["event"] == "progress"] and events[0]["resumed"] is True


def test_a_code_running_batch_is_refused_in_one_line_and_never_runs(tmp_path, capsys):
    marker = tmp_path / "ran"
    hostile = write_code_running_batch(tmp_path / "data", marker)
    rc, events, err = run_cli(capsys, "--dataset", "cifar10", "--data-dir", str(hostile), "--out",
                              str(tmp_path / "m.onnx"))
    assert_one_line_error(rc, events, err, "test_batch was refused: it names posix.system, which a CIFAR-10 "
                                           "batch never does")
    assert not marker.exists() and not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize("dataset", ["cifar10", "folder"])
def test_the_numpy_engine_refuses_colour_in_one_line(tmp_path, cifar_dir, capsys, dataset):
    rc, events, err = run_cli(capsys, "--engine", "numpy", "--dataset", dataset, "--data-dir", str(cifar_dir),
                              "--out", str(tmp_path / "m.onnx"))
    assert_one_line_error(rc, events, err, f"the NumPy engine trains on grey digits only, not {dataset} colour")


def test_a_digit_arch_on_photos_is_one_line(tmp_path, cifar_dir, capsys):
    rc, events, err = run_cli(capsys, "--dataset", "cifar10", "--arch", "digitpad-s", "--data-dir", str(cifar_dir),
                              "--out", str(tmp_path / "m.onnx"))
    assert_one_line_error(rc, events, err, "--arch digitpad-s takes 28x28 input; cifar10 images are 32x32 RGB")


def test_cifar10_is_downloaded_as_an_archive_and_read_by_the_core(tmp_path, monkeypatch):
    """Without --data-dir: torchvision only downloads and unpacks the original archive into the user's
    data folder; its CIFAR10 class (which would pickle.load the batches) is never used."""
    import torchvision.datasets
    import torchvision.datasets.utils

    fetched = []

    def fake_download(url, download_root, filename=None, md5=None, **kwargs):
        fetched.append((url, filename, md5))
        write_cifar_batches(download_root, per_batch=6, n_test=8)

    def never(*args, **kwargs):
        raise AssertionError("torchvision's CIFAR10 class unpickles with pickle.load")

    monkeypatch.setattr(torchvision.datasets.utils, "download_and_extract_archive", fake_download)
    monkeypatch.setattr(torchvision.datasets.CIFAR10, "__init__", never)
    train, test = data.load("cifar10", None)
    assert len(train) == 30 and len(test) == 8 and train.images.shape[1:] == (3, 32, 32)
    assert fetched == [(torchvision.datasets.CIFAR10.url, "cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a")]
    data.load("cifar10", None)
    assert len(fetched) == 1      # there now: read, not fetched again
    with pytest.raises(TrainError, match="--dataset folder needs --data-dir"):
        data.load("folder", None)


def test_limit_spreads_over_a_folder_listed_class_by_class(tmp_path):
    from training.config import TrainConfig

    pictures = write_picture_folder(tmp_path / "p", classes=("a", "b", "c"), damaged=False)
    train, _test, _sources = data.load_training(TrainConfig(dataset="folder", data_dir=str(pictures), limit=6))
    assert sorted(train.labels.tolist()) == [0, 0, 1, 1, 2, 2] and train.classes == ["a", "b", "c"]


def test_run_log_of_a_folder_run_is_json(tmp_path, capsys):
    pictures = write_picture_folder(tmp_path / "p", classes=("left", "right"), n_train=4, n_test=2, damaged=False)
    out = tmp_path / "lr.onnx"
    rc, _events, err = run_cli(capsys, "--dataset", "folder", "--arch", "seed003", "--data-dir", str(pictures),
                               "--epochs", "1", "--threads", "1", "--out", str(out))
    assert rc == 0, err
    log = json.loads(out.with_suffix(".run.json").read_text())
    assert log["config"]["classes"] == ["left", "right"] and log["config"]["arch"] == "seed003"
