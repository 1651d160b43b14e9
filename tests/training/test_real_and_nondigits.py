"""Real writers' digits and outlier exposure in the engine: the loss, the data, the calibrated
threshold in the model file, and a fine-tune that keeps it."""
from __future__ import annotations

import gzip
import json
import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from digitpad.core import not_digit
from digitpad.core.handwriting import unipen
from digitpad.core.inference import Predictor
from training import data, models
from training.train import loss_fn


def test_the_loss_is_cross_entropy_on_digits_and_uniform_on_non_digits():
    torch.manual_seed(0)
    logits = torch.randn(6, 10)
    y = torch.tensor([3, 1, 4, 1, 5, 9])
    assert torch.allclose(loss_fn(logits, y, 0.05, 0.5), F.cross_entropy(logits, y, label_smoothing=0.05))
    # without non-digits in the training set (weight None) it is the same loss, by the short way
    assert torch.allclose(loss_fn(logits, y, 0.05, None), loss_fn(logits, y, 0.05, 0.5))
    y_nd = torch.tensor([3, data.NOT_DIGIT, 4, 1, data.NOT_DIGIT, 9])
    per = F.cross_entropy(logits, y_nd.clamp_min(0), reduction="none")
    uniform = -F.log_softmax(logits, 1).mean(1)
    want = torch.where(y_nd >= 0, per, 0.5 * uniform).mean()
    assert torch.allclose(loss_fn(logits, y_nd, 0.0, 0.5), want)
    # flat logits are the best a non-digit can get: the gradient there is zero
    flat = torch.zeros(1, 10, requires_grad=True)
    loss_fn(flat, torch.tensor([data.NOT_DIGIT]), 0.0, 1.0).backward()
    assert flat.grad.abs().max() < 1e-7


@pytest.mark.parametrize("arch, last", [("digitpad", "conv4"), ("digitpad-s", "conv3")])
def test_the_last_stage_feeds_every_row_and_column_to_the_head(arch, last):
    net = models.build(arch).eval()
    x = torch.rand(2, 1, 28, 28)
    _, acts = net.forward_with_activations(x)
    act = acts[net.layer_names.index(last)]
    assert act.shape[-2:] == (7, 7)
    act.retain_grad()
    logits, acts = net.forward_with_activations(x)
    acts[-1].retain_grad()
    logits.sum().backward()
    g = acts[-1].grad.abs().sum((0, 1))
    assert (g[-1, :] > 0).any() and (g[:, -1] > 0).any()   # the last row and column are used


def test_models_made_before_the_fix_still_load():
    old = models._BEFORE_CEIL_FIX["digitpad"]()
    net = models.build("digitpad", like=old.state_dict())
    net.load_state_dict(old.state_dict())
    assert net.head[-1].in_features == 128 * 3 * 3
    assert models.build("digitpad", like=models.build("digitpad").state_dict()).head[-1].in_features == 128 * 16


def fake_data_dir(tmp_path, mnist_dir, with_unipen=True):
    """A data folder with the real MNIST and a small UNIPEN-format file (training and calibration writers)."""
    d = tmp_path / "data"
    d.mkdir(parents=True)
    os.symlink(mnist_dir / "MNIST", d / "MNIST")
    if with_unipen:
        (d / "unipen-1a-dev").mkdir()
        rng = np.random.default_rng(0)
        lines = []
        for writer in ("ced/trainer1", "ced/trainer2", "syn/cam", "app/DaveMeek", "gmd/monu"):
            for label in range(10):
                pts = np.cumsum(rng.normal(0, 10, (12, 2)), 0) + [0, label * 3]
                lines.append(json.dumps({"label": label, "writer": writer, "contributor": writer[:3],
                                         "strokes": [pts.round(1).tolist()]}))
        with gzip.open(d / unipen.RELATIVE_PATH, "wt") as f:
            f.write("\n".join(lines) + "\n")
    return d


def test_real_writers_render_only_training_writers(tmp_path, mnist_dir):
    d = fake_data_dir(tmp_path, mnist_dir)
    split = data.real_writers(3, 0, d)
    assert split.images.shape == (2 * 10 * 3, 28, 28) and split.images.dtype == np.uint8
    assert sorted(np.bincount(split.labels)) == [6] * 10
    again = data.real_writers(3, 0, d)   # from the cache, identical
    assert np.array_equal(split.images, again.images)
    assert len(data.real_writers(3, 0, fake_data_dir(tmp_path / "none", mnist_dir, with_unipen=False))) == 0


@pytest.mark.slow
def test_a_run_with_non_digits_ships_a_calibrated_threshold_and_a_finetune_keeps_it(tmp_path, mnist_dir):
    from train_helpers import run_train

    d = fake_data_dir(tmp_path, mnist_dir)
    out = tmp_path / "m.onnx"
    args = ["--arch", "digitpad-s", "--limit", "2000", "--epochs", "1", "--no-augment", "--synthetic", "0",
            "--restroke", "0", "--threads", "2", "--ema", "0", "--mild-epochs", "0"]
    rc, events, err = run_train(*args, "--real-writers", "2", "--nondigits", "300", "--data-dir", str(d),
                                "--out", str(out))
    assert rc == 0, err
    assert events[0]["n_train"] == 2000 + 2 * 10 * 2 + 300
    p = Predictor(out)
    rule = p.not_digit_rule
    assert rule is not None and rule.calibration["n"] == 2 * 10 * 3       # calibration writers x 3 pens
    assert rule.calibration["flagged"] <= 0.005 + 1e-9
    assert 0 <= rule.calibration["mnist_test_flagged"] <= 1
    sources = p.metadata.training["data"]
    assert sources["UNIPEN 1a training writers"] == 40 and sources["generated non-digits (uniform target)"] == 300
    assert json.loads(out.with_suffix(".run.json").read_text())["not_digit"]["threshold"] == rule.threshold

    # fine-tuning without calibration writers at hand keeps the starting model's threshold, marked inherited
    tuned = tmp_path / "tuned.onnx"
    rc, _, err = run_train(*args, "--init", str(out), "--real-writers", "0", "--nondigits", "0",
                           "--data-dir", str(fake_data_dir(tmp_path / "b", mnist_dir, with_unipen=False)),
                           "--out", str(tuned))
    assert rc == 0, err
    inherited = Predictor(tuned).not_digit_rule
    assert inherited.threshold == rule.threshold and inherited.calibration["inherited_from"] == "m.onnx"
    # a model trained without non-digits gets none
    plain = tmp_path / "plain.onnx"
    rc, _, err = run_train(*args, "--nondigits", "0", "--real-writers", "0", "--data-dir", str(d), "--out", str(plain))
    assert rc == 0, err
    assert Predictor(plain).not_digit_rule is None
    assert not_digit.from_metadata(Predictor(plain).metadata) is None
