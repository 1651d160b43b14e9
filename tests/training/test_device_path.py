"""The CUDA path of the loop, run on this CPU through the same functions: mixed precision (bfloat16
autocast, float16 with a gradient scaler over training/optim.py's optimiser), channels-last weights
and batches, the data on the training device, a GPU per process under torchrun. No test needs a GPU;
scripts/gpu_check.sh runs the real thing where one is lent."""
from __future__ import annotations

import pytest
import torch

from training import data, distributed, optim, precision, train
from training.config import TrainConfig
from training.errors import TrainError
from training.progress import Reporter


@pytest.fixture
def fake_gpus(monkeypatch):
    """A machine that says it has ``n`` CUDA GPUs (only what resolve_device and precision ask)."""
    def have(n: int, bf16: bool = True) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: n > 0)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: n)
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16)
    return have


def test_each_process_takes_its_own_gpu(fake_gpus):
    fake_gpus(2)
    assert train.resolve_device("cuda") == torch.device("cuda")
    assert train.resolve_device("auto", distributed.World(1, 4, 1, 2)) == torch.device("cuda", 1)
    assert train.resolve_device("cpu", distributed.World(1, 4, 1, 2)) == torch.device("cpu")
    with pytest.raises(TrainError, match="2 GPU\\(s\\) for 3 processes"):
        train.resolve_device("cuda", distributed.World(2, 3, 2, 3))
    fake_gpus(0)
    assert train.resolve_device("auto") == torch.device("cpu")
    with pytest.raises(TrainError, match="no CUDA GPU is available"):
        train.resolve_device("cuda")


def test_a_gpu_computes_in_bfloat16_or_else_float16_with_a_scaler(fake_gpus):
    cuda = torch.device("cuda")
    fake_gpus(1, bf16=True)
    for asked in ("auto", "bf16"):
        p = precision.resolve(asked, cuda)
        assert (p.dtype, p.device_type, p.name, p.note) == (torch.bfloat16, "cuda", "bf16", "")
        assert p.scaler() is None
    assert precision.resolve("fp32", cuda).dtype is None
    fake_gpus(1, bf16=False)
    p = precision.resolve("auto", cuda)
    assert p.dtype is torch.float16 and "float16 with loss scaling" in p.note
    assert p.scaler() is not None


# float16 convolutions are emulated on this CPU (~50x slower than float32): a tiny net and a few steps.
@pytest.mark.parametrize("dtype, arch, limit, accuracy", [(torch.bfloat16, "digitpad-s", 1024, 0.5),
                                                          (torch.float16, "seed001", 256, 0.0)])
def test_the_loop_trains_in_mixed_precision_as_on_a_gpu(dtype, arch, limit, accuracy, monkeypatch, tmp_path,
                                                        small_mnist):
    """The loop as it runs with --device cuda --precision bf16 (or float16 on an older GPU), on the CPU:
    autocast around forward and loss, the scaler around backward and optim.Optimizer's step, the model and
    every batch channels-last, the data where the model is; the weights stay float32."""
    prec = precision.Precision(dtype, "cpu")
    monkeypatch.setattr(precision, "resolve", lambda asked, device: prec)
    scalers = []
    monkeypatch.setattr(precision.Precision, "scaler", lambda self: scalers.append(torch.amp.GradScaler("cpu")) or
                        scalers[-1] if self.dtype is torch.float16 else None)
    seen = []
    real_step = optim.Optimizer.step
    monkeypatch.setattr(optim.Optimizer, "step", lambda self: (seen.append(
        [p.grad.dtype for g in self.param_groups for p in g["params"] if p.grad is not None]), real_step(self))[1])
    cfg = TrainConfig(arch=arch, epochs=1, batch_size=64, lr=5e-3, augment=False, ema=0.0, device="cpu",
                      precision="bf16", threads=1, seed=0, data_dir=str(small_mnist), limit=limit)
    train_split, test_split, _ = data.load_training(cfg)
    result = train.train(cfg, (train_split, test_split), Reporter("none"), tmp_path / "m.ckpt.pt")
    assert result.status == "completed" and result.precision == prec.name
    assert seen and all(t == torch.float32 for step in seen for t in step)   # unscaled float32 gradients
    params = dict(result.model.named_parameters())
    assert all(p.dtype is torch.float32 for p in params.values())
    convs = [p for p in params.values() if p.ndim == 4]
    assert convs and all(p.is_contiguous(memory_format=torch.channels_last) for p in convs)
    assert all(torch.isfinite(p).all() for p in params.values())
    assert result.history[0]["test_accuracy"] > accuracy
    if dtype is torch.float16:   # the scaler took the steps: each one without inf/NaN grows its tracker
        assert len(scalers) == 1 and scalers[0].state_dict()["_growth_tracker"] > 0


def test_batches_are_channels_last_on_the_datas_device():
    images = torch.randint(0, 256, (4, 28, 28), dtype=torch.uint8)
    x = train.to_batch(images)
    assert x.shape == (4, 1, 28, 28) and x.dtype is torch.float32 and x.device == images.device
    assert x.is_contiguous(memory_format=torch.channels_last) and float(x.max()) <= 1.0
