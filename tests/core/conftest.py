"""Model files for the core tests: every architecture of the zoo exported by the real engine."""
from __future__ import annotations

from pathlib import Path
from unittest import mock

import pytest

from digitpad.core.paths import shipped_model_path


def _randomise_batch_norm(net, seed: int) -> None:
    """Fresh BN layers are the identity (mean 0, var 1, gamma 1, beta 0), which an exporter
    drops altogether; give them statistics like a trained net's so folding has work to do."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.rand(n, generator=gen) - 0.5)
            m.running_var.copy_(torch.rand(n, generator=gen) * 1.5 + 0.25)
            m.weight.data.copy_(torch.rand(n, generator=gen) + 0.5)
            m.bias.data.copy_(torch.rand(n, generator=gen) * 0.6 - 0.3)


def _export(net, out: Path, arch: str, *, fold_bn: bool = True) -> Path:
    """The engine's own export. ``fold_bn``: the dynamo exporter with onnxscript's optimizer, which
    folds batch norm into the convolutions (as the shipped model was exported before the engine
    kept batch norm as nodes); else the engine's TorchScript exporter, which keeps it."""
    import torch

    from digitpad.core import archs
    from digitpad.core.contract import DATASET_INPUTS
    from training import export

    dataset = next(d for d in DATASET_INPUTS if archs.ARCHS[arch].fits(d))   # mnist, optdigits or cifar10
    if not fold_bn:
        export.export(net, out, arch=arch, dataset=dataset, metrics={}, training={})
        return out
    original = torch.onnx.export

    def optimised(*args, **kwargs):
        return original(*args, **{**kwargs, "optimize": True})

    with mock.patch.object(torch.onnx, "export", optimised):
        export.export(net, out, arch=arch, dataset=dataset, metrics={}, training={}, exporter="dynamo")
    return out


@pytest.fixture(scope="session")
def zoo(tmp_path_factory) -> dict[str, Path]:
    """Every arch of training.models.ARCHS (random weights, BN folded by the exporter as shipped),
    plus 'digitpad-s+bn' (BatchNormalization nodes kept), 'digitpad-s+ceil' (ceil-mode pooling,
    28 -> 14 -> 7 -> 4) and 'shipped' (the trained default model, arch digitpad)."""
    import torch
    from torch import nn

    from training import models

    folder = tmp_path_factory.mktemp("zoo")
    found = {}
    for i, arch in enumerate(models.ARCHS):
        torch.manual_seed(i)
        net = models.build(arch).eval()
        _randomise_batch_norm(net, i)
        found[arch] = _export(net, folder / f"{arch}.onnx", arch)
    torch.manual_seed(10)
    net = models.build("digitpad-s").eval()
    _randomise_batch_norm(net, 10)
    found["digitpad-s+bn"] = _export(net, folder / "digitpad-s-bn.onnx", "digitpad-s", fold_bn=False)
    torch.manual_seed(11)
    net = models.build("digitpad-s").eval()
    for block in net.blocks.values():
        block.pool = nn.MaxPool2d(2, ceil_mode=True)
    net.head[1] = nn.Linear(64 * 4 * 4, 10)
    _randomise_batch_norm(net, 11)
    found["digitpad-s+ceil"] = _export(net.eval(), folder / "digitpad-s-ceil.onnx", "digitpad-s")
    torch.manual_seed(12)
    net = models._BEFORE_CEIL_FIX["digitpad"]().eval()   # floor pooling: conv4's last row and column unread
    _randomise_batch_norm(net, 12)
    found["digitpad+floor"] = _export(net, folder / "digitpad-floor.onnx", "digitpad")
    if shipped_model_path().is_file():
        found["shipped"] = shipped_model_path()
    return found


@pytest.fixture(scope="session")
def mnist_test(mnist_dir):
    """The MNIST test set as the app feeds it: float32 [10000, 1, 28, 28] in 0..1, and labels."""
    from digitpad.core.datasets import load_split

    split = load_split(mnist_dir, "mnist", "test")
    return (split.images.astype("float32") / 255)[:, None], split.labels
