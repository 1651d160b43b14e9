"""What colour runs are made of, without training: photo augmentation, seed 003's optimiser and
schedule as Keras runs them, --precision, and the checks that keep digit-only options off photos."""
from __future__ import annotations

import pytest
import torch

from training import models, optim, precision
from training.augment import (
    KERAS_AUGMENT,
    PHOTO_AUGMENT,
    AugmentConfig,
    PhotoAugment,
    augment,
    augment_config,
    flip,
    shift_fractions,
    shift_whole_pixels,
)
from training.config import TrainConfig, preset
from training.errors import TrainError


def test_whole_pixel_shifts_are_crops_of_the_padded_image():
    x = torch.rand(16, 3, 32, 32)
    y = shift_whole_pixels(x, 4, "reflect", torch.Generator().manual_seed(0))
    moved = set()
    for a, b in zip(x, y):
        # Somewhere in -4..4 on each axis the centre of the image is the original's, pixel for pixel.
        found = [(dy, dx) for dy in range(-4, 5) for dx in range(-4, 5)
                 if torch.equal(b[:, 4:28, 4:28], a[:, 4 + dy:28 + dy, 4 + dx:28 + dx])]
        assert len(found) == 1
        moved.add(found[0])
    assert len(moved) > 4     # not one shift for the whole batch


def test_keras_shifts_fill_with_the_nearest_edge_pixel():
    """fill_mode='nearest': an image of one colour stays that colour wherever it moves (zeros would
    come in as a black band)."""
    x = torch.full((8, 3, 32, 32), 0.7)
    y = shift_fractions(x, KERAS_AUGMENT.shift_px, "nearest", torch.Generator().manual_seed(1))
    assert torch.allclose(y, x, atol=1e-6)
    ramp = torch.arange(32.0).expand(1, 3, 32, 32) / 31
    shifted = shift_fractions(ramp.repeat(64, 1, 1, 1), 3.2, "nearest", torch.Generator().manual_seed(2))
    offsets = (shifted - ramp).mean((1, 2, 3)) * 31
    assert offsets.abs().max() <= 3.2 and offsets.std() > 1     # fractions of up to 3.2 pixels, both ways


def test_flips_mirror_and_digits_are_never_flipped():
    x = torch.rand(4, 3, 32, 32)
    assert torch.equal(flip(x, 1.0), x.flip(3)) and torch.equal(flip(x, 0.0), x)
    assert augment_config("cifar10") == PHOTO_AUGMENT and PHOTO_AUGMENT.flip_p == 0.5
    assert augment_config("folder") == PHOTO_AUGMENT
    assert augment_config("cifar10", "keras") == KERAS_AUGMENT == PhotoAugment(3.2, True, "nearest", 0.5)
    for digits in ("mnist", "fashion-mnist", "optdigits"):
        assert isinstance(augment_config(digits), AugmentConfig)   # affine and pen width: no flips
    y = augment(torch.rand(8, 3, 32, 32), PHOTO_AUGMENT.scaled(0.5), torch.Generator().manual_seed(3))
    assert y.shape == (8, 3, 32, 32) and y.is_contiguous(memory_format=torch.channels_last)


def test_seed003_trains_with_keras_rmsprop_and_its_inverse_time_decay():
    cfg = preset("seed003")
    assert (cfg.arch, cfg.dataset, cfg.epochs, cfg.batch_size, cfg.augment_style) == ("seed003", "cifar10", 100, 32,
                                                                                      "keras")
    assert (cfg.weight_decay, cfg.label_smoothing, cfg.precision) == (0.0, 0.0, "fp32")
    opt = optim.Optimizer(models.build("seed003"), cfg)
    assert opt.kind == "rmsprop"
    group = opt.param_groups[0]
    assert (group["lr"], group["alpha"], group["eps"], group["weight_decay"], group["momentum"]) == (
        1e-4, 0.9, 1e-7, 0.0, 0)
    sched = optim.Schedule(cfg, total_steps=156_300)
    assert [sched.lr(t) for t in range(3)] == pytest.approx([1e-4 / (1 + 1e-6 * t) for t in range(3)], rel=1e-12)
    assert sched.lr(100_000) == pytest.approx(1e-4 / 1.1, rel=1e-12)   # Keras: 5.0e-5 after 100 epochs


def test_precision_is_bfloat16_only_where_the_cpu_has_it(monkeypatch):
    cpu = torch.device("cpu")
    assert precision.resolve("fp32", cpu).dtype is None
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: True)
    assert precision.resolve("auto", cpu).dtype is torch.bfloat16 and precision.resolve("auto", cpu).note == ""
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: False)
    fallback = precision.resolve("auto", cpu)
    assert fallback.dtype is None and fallback.name == "fp32" and "no native bfloat16" in fallback.note
    assert "\n" not in fallback.note
    assert precision.resolve("bf16", cpu).dtype is torch.bfloat16 and "emulated" in precision.resolve("bf16", cpu).note


def test_bfloat16_autocast_keeps_the_weights_float32():
    net = models.build("cifar10")
    prec = precision.Precision(torch.bfloat16, "cpu")
    with prec.autocast():
        out = net(torch.rand(2, 3, 32, 32))
    assert out.dtype is torch.bfloat16 and all(p.dtype is torch.float32 for p in net.parameters())


def test_presets_for_colour_and_what_photos_refuse():
    fast = preset("cifar10")
    assert (fast.arch, fast.dataset, fast.precision, fast.augment) == ("cifar10", "cifar10", "auto", True)
    for name in ("default", "fast", "accurate", "seed001", "seed002", "seed000", "optdigits"):
        assert preset(name).precision == "fp32"      # earlier recipes keep their results
    with pytest.raises(TrainError, match="add 28x28 images; cifar10 models take 32x32 colour images"):
        TrainConfig(arch="cifar10", dataset="cifar10", synthetic=10).validate()
    with pytest.raises(TrainError, match="--augment-style keras shifts and flips photos"):
        TrainConfig(augment_style="keras").validate()
    with pytest.raises(TrainError, match="--precision must be fp32, bf16 or auto"):
        TrainConfig(precision="fp8").validate()
    with pytest.raises(TrainError, match="--schedule must be onecycle, cosine, constant or inverse-time"):
        TrainConfig(schedule="step").validate()


@pytest.mark.parametrize("cores, load, threads", [(2, 0.1, 2), (2, 0.9, 1), (2, 4.8, 1), (8, 1.4, 7), (8, 30.0, 1)])
def test_threads_0_takes_the_cores_the_machine_leaves_idle(monkeypatch, cores, load, threads):
    from training import train

    monkeypatch.setattr(train, "_cores", lambda: cores)
    monkeypatch.setattr(train.os, "getloadavg", lambda: (load, load, load))
    assert train.idle_cores() == threads
    assert preset("cifar10").threads == 0 and TrainConfig(threads=0).validate().threads == 0
    with pytest.raises(TrainError, match="--threads must be >= 0"):
        TrainConfig(threads=-1).validate()
