"""The PyTorch engine on the UCI 8x8 digits: it follows the input size from data to export."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from train_helpers import metadata, run_train

from digitpad.core import contract
from digitpad.core.datasets import load_split
from digitpad.core.inference import Predictor
from training import models
from training.augment import OPTDIGITS_AUGMENT, augment
from training.scratch.net import build


def test_optdigits_preset_trains_and_exports_an_8x8_model(tmp_path, mnist_dir):
    out = tmp_path / "o.onnx"
    # --dataset optdigits alone picks the optdigits preset (the default one draws 28x28 digits).
    rc, events, stderr = run_train("--dataset", "optdigits", "--epochs", "1", "--threads", "1",
                                   "--data-dir", str(mnist_dir), "--out", str(out))
    assert rc == 0, stderr
    start = events[0]
    assert start["config"]["arch"] == "optdigits" and start["config"]["engine"] == "torch"
    assert start["n_train"] == 3823 and start["n_test"] == 1797
    final = [e for e in events if e["event"] == "epoch"][-1]
    assert final["test_accuracy"] > 0.85
    meta = metadata(out)
    assert meta.input_spec == contract.OPTDIGITS_INPUT and meta.metrics["parity_top1_agreement"] == 1.0
    p = Predictor(out)
    assert p.input_shape == (1, 8, 8) and p.preprocessing == "optdigits"
    assert set(p.predict(np.zeros((8, 8), np.float32)).activations) == {"conv1", "conv2", "conv3"}


def test_an_mnist_arch_on_8x8_digits_is_one_clear_line(tmp_path, mnist_dir):
    rc, events, stderr = run_train("--dataset", "optdigits", "--arch", "digitpad-s", "--data-dir", str(mnist_dir),
                                   "--out", str(tmp_path / "m.onnx"))
    assert rc == 2 and "--arch digitpad-s takes 28x28 input; optdigits digits are 8x8 (archs for them: " \
                       "seed004, optdigits)" in stderr
    assert events[-1]["event"] == "error" and list(tmp_path.iterdir()) == []


def test_augmentation_follows_the_input_size():
    x = torch.zeros(16, 1, 8, 8)
    x[:, :, 1:7, 3:5] = 1.0
    y = augment(x, OPTDIGITS_AUGMENT, torch.Generator().manual_seed(0))
    assert y.shape == x.shape and y.min() >= 0 and y.max() <= 1
    assert (y.sum((1, 2, 3)) > 0.5 * x.sum((1, 2, 3))).all()


def test_both_engines_build_the_same_seed004_function(mnist_dir):
    """The NumPy net's weights in the PyTorch zoo's seed004: the same logits on the real test digits."""
    test = load_split(mnist_dir, "optdigits", "test")
    x = test.images[:200, None].astype(np.float32) / 16
    net = build("seed004", (1, 8, 8), seed=5, mean=models.OPTDIGITS_MEAN, std=models.OPTDIGITS_STD)
    tnet = models.build("seed004").eval()
    names = {"conv1.weight": "blocks.conv1.conv.weight", "conv1.bias": "blocks.conv1.conv.bias",
             "fc1.weight": "head.1.weight", "fc1.bias": "head.1.bias",
             "fc2.weight": "head.3.weight", "fc2.bias": "head.3.bias"}
    tnet.load_state_dict({names[k]: torch.from_numpy(p.value) for k, p in net.parameters().items()})
    with torch.no_grad():
        expected = tnet(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(net.forward(x), expected, rtol=1e-4, atol=1e-5)
    assert models.count_params(tnet) == net.count_params()


@pytest.mark.parametrize("arch", ["seed004", "optdigits"])
def test_8x8_archs_say_so(arch):
    assert models.build(arch).input_size == 8
    with pytest.raises(Exception, match="takes 8x8 input; mnist digits are 28x28"):
        models.check_input(arch, "mnist")
