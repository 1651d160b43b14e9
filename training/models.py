"""The model zoo. Every net takes the canonical image of its data set (N,1,28,28 white-on-black
0..1; the 8x8 nets N,1,8,8 block counts / 16; the colour nets N,3,32,32 RGB 0..1) and
normalises inside, so the exported graph needs no preprocessing contract beyond that.
``Net.input_size`` and ``Net.in_channels`` say which; what each arch takes, its size and its
description are facts of ``digitpad.core.archs`` (the Train tab reads them there, without
torch), which tests/training/test_models.py checks against the nets built here.

Conv blocks are named modules (`conv1`, `conv2`, ...): their post-activation outputs
become the `act:<name>` graph outputs the app shows as feature maps.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from digitpad.core import archs as facts
from digitpad.core import contract

from .errors import TrainError

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
OPTDIGITS_MEAN, OPTDIGITS_STD = 0.3077, 0.3773   # optdigits.tra, counts / 16
# CIFAR-10's training set, per RGB channel of the 0..1 image (the std of the pixels, not of the
# per-image means). A user's folder of photos is normalised the same way: photos are photos.
CIFAR10_MEAN, CIFAR10_STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)


class ConvBlock(nn.Module):
    """conv (+BN) + ReLU, then optional 2x2 max-pool and dropout. ``forward`` returns (activation, output).

    ``ceil=True`` pools an odd-sized map with ceil_mode (7x7 -> 4x4, the last window 1 wide):
    floor mode (7x7 -> 3x3) drops the last row and column, which then never reach the head
    and are never trained (issue 11, "honest maps"). ``padding``: "same" (k // 2, the default)
    or "valid" (none: Keras's Conv2D default, a 3x3 conv shrinks the map by 2)."""

    def __init__(self, cin: int, cout: int, k: int = 3, bn: bool = True, pool: bool = True, ceil: bool = False,
                 padding: str = "same", dropout: float = 0.0):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, padding=k // 2 if padding == "same" else 0, bias=not bn)
        self.bn = nn.BatchNorm2d(cout) if bn else nn.Identity()
        self.pool = nn.MaxPool2d(2, ceil_mode=ceil) if pool else nn.Identity()
        # After the pool, as Keras's examples place it; no parameters, so older state dicts still fit.
        self.drop = nn.Dropout(dropout) if dropout else nn.Identity()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        act = torch.relu(self.bn(self.conv(x)))
        return act, self.drop(self.pool(act))


class Residual(nn.Module):
    """x + two conv+BN+ReLU blocks of x (ResNet's identity shortcut, as in Page's ResNet-9 for
    CIFAR-10). The activation shown is the sum: what the next block reads."""

    def __init__(self, channels: int):
        super().__init__()
        self.res1 = ConvBlock(channels, channels, pool=False)
        self.res2 = ConvBlock(channels, channels, pool=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = x + self.res2(self.res1(x)[1])[1]
        return out, out


class Net(nn.Module):
    """Named blocks (each returns its activation and its output), then a head. The input is
    normalised inside: a scalar mean and std for the grey nets (as every model exported before
    colour had it), one per channel for colour (shape [1, C, 1, 1]); ``mean=None``: none at all
    (seed003: the Keras example feeds its net x / 255 as it is)."""

    def __init__(self, blocks: dict[str, nn.Module], head: nn.Module, input_size: int = 28,
                 mean: float | tuple[float, ...] | None = MNIST_MEAN,
                 std: float | tuple[float, ...] | None = MNIST_STD, in_channels: int = 1):
        super().__init__()
        self.input_size = input_size     # 28: MNIST-style input; 8: the UCI 8x8 digits; 32: photos
        self.in_channels = in_channels   # 1 grey, 3 RGB
        self.normalise = mean is not None
        if self.normalise:
            shape = (1, len(mean), 1, 1) if isinstance(mean, tuple) else ()
            self.register_buffer("mean", torch.tensor(mean).reshape(shape), persistent=False)
            self.register_buffer("std", torch.tensor(std).reshape(shape), persistent=False)
        self.blocks = nn.ModuleDict(blocks)
        self.head = head

    @property
    def layer_names(self) -> list[str]:
        return list(self.blocks.keys())

    def _input(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std if self.normalise else x

    def forward_with_activations(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        x = self._input(x)
        acts = []
        for block in self.blocks.values():
            act, x = block(x)
            acts.append(act)
        return self.head(x), acts

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self._input(x)
        for block in self.blocks.values():
            x = block(x)[1]
        return self.head(x)


def _seed001(k: int = 10) -> Net:
    # The seed's 98.73% net: tiny, no BN.
    return Net({"conv1": ConvBlock(1, 8, bn=False), "conv2": ConvBlock(8, 16, bn=False)},
               nn.Sequential(nn.Flatten(), nn.Linear(16 * 7 * 7, k)))


def _seed002(k: int = 10) -> Net:
    # Seed 002's Fashion-MNIST net.
    return Net({"conv1": ConvBlock(1, 16, k=5), "conv2": ConvBlock(16, 32, k=5)},
               nn.Sequential(nn.Flatten(), nn.Linear(32 * 7 * 7, k)))


def _seed000(k: int = 10) -> Net:
    widths = [1, 32, 64, 128, 256]
    blocks = {f"conv{i + 1}": ConvBlock(widths[i], widths[i + 1]) for i in range(4)}
    head = nn.Sequential(nn.Flatten(), nn.Linear(256, 256), nn.ReLU(), nn.Dropout(0.5),
                         nn.Linear(256, 64), nn.ReLU(), nn.Linear(64, k))
    return Net(blocks, head)  # 28 -> 14 -> 7 -> 3 -> 1


def _digitpad(k: int = 10, ceil: bool = True) -> Net:
    # Best accuracy per CPU second we found: one cheap wide stage at 28x28 (1 input channel),
    # two stages at 14x14 where most of the compute pays off, one at 7x7; ~15 M multiply-adds.
    # conv4's 7x7 map is pooled with ceil_mode to 4x4, so every row and column reaches the head.
    blocks = {
        "conv1": ConvBlock(1, 32),                  # 28 -> 14
        "conv2": ConvBlock(32, 64, pool=False),
        "conv3": ConvBlock(64, 64),                 # 14 -> 7
        "conv4": ConvBlock(64, 128, ceil=ceil),     # 7 -> 4 (3 in models made before the fix)
    }
    side = 4 if ceil else 3
    head = nn.Sequential(nn.Flatten(), nn.Dropout(0.25), nn.Linear(128 * side * side, k))
    return Net(blocks, head)


def _digitpad_s(k: int = 10, ceil: bool = True) -> Net:
    # The small sibling for quick runs: three 3x3 conv+BN blocks, ~1.9 M multiply-adds;
    # conv3's 7x7 map pooled with ceil_mode to 4x4, as in digitpad.
    blocks = {"conv1": ConvBlock(1, 16), "conv2": ConvBlock(16, 32), "conv3": ConvBlock(32, 64, ceil=ceil)}
    side = 4 if ceil else 3
    return Net(blocks, nn.Sequential(nn.Flatten(), nn.Linear(64 * side * side, k)))


def _seed004(k: int = 10) -> Net:
    # Seed 004's net for the UCI 8x8 digits, as the NumPy engine builds it (training/scratch/net.py),
    # input standardised the same way: the two engines train the same function.
    head = nn.Sequential(nn.Flatten(), nn.Linear(4 * 4 * 4, 32), nn.ReLU(), nn.Linear(32, k))
    return Net({"conv1": ConvBlock(1, 4, bn=False)}, head, input_size=8, mean=OPTDIGITS_MEAN, std=OPTDIGITS_STD)


def _optdigits(k: int = 10) -> Net:
    # For the UCI 8x8 digits: two 3x3 conv+BN stages at 8x8 (an 8x8 image has little to pool
    # before the strokes' layout is gone), one at 4x4, then a dropout-regularised linear head:
    # 3,823 training digits overfit anything bigger.
    blocks = {"conv1": ConvBlock(1, 32, pool=False), "conv2": ConvBlock(32, 64),     # 8 -> 4
              "conv3": ConvBlock(64, 128)}                                          # 4 -> 2
    head = nn.Sequential(nn.Flatten(), nn.Dropout(0.3), nn.Linear(128 * 2 * 2, k))
    return Net(blocks, head, input_size=8, mean=OPTDIGITS_MEAN, std=OPTDIGITS_STD)


def _keras_init(net: nn.Module) -> nn.Module:
    """Keras's defaults for Conv2D and Dense: Glorot-uniform kernels, zero biases (torch's own
    default, Kaiming-uniform with a = sqrt(5), starts RMSprop from another place)."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    return net


def _seed003(k: int = 10) -> Net:
    # keras-team/keras examples/cifar10_cnn.py, layer for layer: 'same' then 'valid' 3x3 convs
    # (32 -> 32 -> 30 -> pool 15 -> 15 -> 13 -> pool 6), dropout 0.25 after each pool, flatten
    # 6x6x64 = 2,304, dense 512, dropout 0.5, dense 10 (the softmax is the export's probs):
    # 1,250,858 parameters. No batch norm and no input normalisation: the example feeds x / 255.
    blocks = {"conv1": ConvBlock(3, 32, bn=False, pool=False),
              "conv2": ConvBlock(32, 32, bn=False, padding="valid", dropout=0.25),
              "conv3": ConvBlock(32, 64, bn=False, pool=False),
              "conv4": ConvBlock(64, 64, bn=False, padding="valid", dropout=0.25)}
    head = nn.Sequential(nn.Flatten(), nn.Linear(64 * 6 * 6, 512), nn.ReLU(), nn.Dropout(0.5), nn.Linear(512, k))
    return _keras_init(Net(blocks, head, input_size=32, mean=None, std=None, in_channels=3))


def _cifar10(k: int = 10, width: int = 32) -> Net:
    # A ResNet-9 in the manner of Page's DAWNBench net, at half its width or less for a CPU:
    # conv, then three stages that each widen and pool (32 -> 16 -> 8 -> 4), the first and the
    # last with a residual pair; a global max-pool and a linear head whose logits are scaled by
    # 1/8 (Page: keeps the softmax from saturating early with BN nets at high learning rates).
    w = (width, 2 * width, 4 * width, 8 * width)
    blocks = {"conv1": ConvBlock(3, w[0], pool=False),
              "conv2": ConvBlock(w[0], w[1]), "res2": Residual(w[1]),          # 32 -> 16
              "conv3": ConvBlock(w[1], w[2]),                                  # 16 -> 8
              "conv4": ConvBlock(w[2], w[3]), "res4": Residual(w[3])}          # 8 -> 4
    head = nn.Sequential(nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(w[3], k), Scale(0.125))
    return Net(blocks, head, input_size=32, mean=CIFAR10_MEAN, std=CIFAR10_STD, in_channels=3)


class Scale(nn.Module):
    def __init__(self, factor: float):
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor


def for_config(cfg, like: dict | None = None) -> Net:
    """The net a run's config trains: its arch, with one output per class of its data."""
    return build(cfg.arch, like=like, classes=len(cfg.classes) if cfg.classes else 10)


# The builders; what each arch takes and its description are digitpad.core.archs' facts.
BUILDERS: dict[str, Callable[..., Net]] = {
    "digitpad": _digitpad, "digitpad-s": _digitpad_s, "seed001": _seed001, "seed002": _seed002,
    "seed000": _seed000, "seed004": _seed004, "optdigits": _optdigits, "seed003": _seed003, "cifar10": _cifar10,
}
ARCHS: dict[str, tuple[Callable[..., Net], str]] = {name: (BUILDERS[name], facts.ARCHS[name].description)
                                                   for name in facts.ARCHS}


# Checkpoints of digitpad and digitpad-s made before the ceil-mode fix (last stage pooled to 3x3)
# still load, as that variant, so older models in a user's library can be fine-tuned and exported.
_BEFORE_CEIL_FIX = {"digitpad": lambda k=10: _digitpad(k, ceil=False),
                    "digitpad-s": lambda k=10: _digitpad_s(k, ceil=False)}


def _fits(net: Net, state: dict) -> bool:
    own = net.state_dict()
    return all(k in own and tuple(own[k].shape) == tuple(v.shape) for k, v in state.items() if hasattr(v, "shape"))


def build(arch: str, like: dict | None = None, classes: int = 10) -> Net:
    """A fresh net of ``arch`` with ``classes`` outputs (a folder of pictures has 2 to 100 classes,
    every built-in data set 10); with ``like`` (a state dict), the variant of ``arch`` it fits."""
    if arch not in ARCHS:
        raise TrainError(f"unknown arch {arch!r}; choose from {', '.join(ARCHS)} (see --list-archs)")
    net = ARCHS[arch][0](classes)
    if like is not None and arch in _BEFORE_CEIL_FIX and not _fits(net, like):
        older = _BEFORE_CEIL_FIX[arch](classes)
        if _fits(older, like):
            return older
    return net


def check_input(arch: str, dataset: str) -> None:
    """An arch trains on a data set whose images it takes: size and channels (28x28 grey nets on
    MNIST, 8x8 on optdigits, 32x32 RGB on CIFAR-10 and image folders)."""
    spec = contract.DATASET_INPUTS.get(dataset)
    if spec is None or arch not in facts.ARCHS:
        return  # data.load names the unknown dataset, build the unknown arch
    info = facts.ARCHS[arch]
    if not info.fits(dataset):
        what = "digits" if spec.drawn else "images"
        raise TrainError(f"--arch {arch} takes {_text(info.size, info.channels)} input; {dataset} {what} are "
                         f"{_text(spec.size, spec.channels)} (archs for them: {', '.join(facts.archs_for(dataset))})")


def _text(size: int, channels: int) -> str:
    return f"{size}x{size}" + (" RGB" if channels == 3 else "")


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def describe_archs() -> list[dict]:
    return [{"arch": name, "params": count_params(factory()), "description": text}
            for name, (factory, text) in ARCHS.items()]
