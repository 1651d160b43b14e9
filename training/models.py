"""The model zoo. Every net takes the app's input (N,1,28,28, white-on-black, 0..1; the 8x8
nets N,1,8,8 block counts / 16) and normalises inside, so the exported graph needs no
preprocessing contract beyond that. ``Net.input_size`` says which.

Conv blocks are named modules (`conv1`, `conv2`, ...): their post-activation outputs
become the `act:<name>` graph outputs the app shows as feature maps.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from digitpad.core import contract

from .errors import TrainError

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
OPTDIGITS_MEAN, OPTDIGITS_STD = 0.3077, 0.3773   # optdigits.tra, counts / 16


class ConvBlock(nn.Module):
    """conv (+BN) + ReLU, then optional 2x2 max-pool. ``forward`` returns (activation, output).

    ``ceil=True`` pools an odd-sized map with ceil_mode (7x7 -> 4x4, the last window 1 wide):
    floor mode (7x7 -> 3x3) drops the last row and column, which then never reach the head
    and are never trained (issue 11, "honest maps")."""

    def __init__(self, cin: int, cout: int, k: int = 3, bn: bool = True, pool: bool = True, ceil: bool = False):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, padding=k // 2, bias=not bn)
        self.bn = nn.BatchNorm2d(cout) if bn else nn.Identity()
        self.pool = nn.MaxPool2d(2, ceil_mode=ceil) if pool else nn.Identity()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        act = torch.relu(self.bn(self.conv(x)))
        return act, self.pool(act)


class Net(nn.Module):
    def __init__(self, blocks: dict[str, ConvBlock], head: nn.Module, input_size: int = 28,
                 mean: float = MNIST_MEAN, std: float = MNIST_STD):
        super().__init__()
        self.input_size = input_size     # 28: MNIST-style input; 8: the UCI 8x8 digits
        self.register_buffer("mean", torch.tensor(mean), persistent=False)
        self.register_buffer("std", torch.tensor(std), persistent=False)
        self.blocks = nn.ModuleDict(blocks)
        self.head = head

    @property
    def layer_names(self) -> list[str]:
        return list(self.blocks.keys())

    def forward_with_activations(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        x = (x - self.mean) / self.std
        acts = []
        for block in self.blocks.values():
            act, x = block(x)
            acts.append(act)
        return self.head(x), acts

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = (x - self.mean) / self.std
        for block in self.blocks.values():
            x = block(x)[1]
        return self.head(x)


def _seed001() -> Net:
    # The seed's 98.73% net: tiny, no BN.
    return Net({"conv1": ConvBlock(1, 8, bn=False), "conv2": ConvBlock(8, 16, bn=False)},
               nn.Sequential(nn.Flatten(), nn.Linear(16 * 7 * 7, 10)))


def _seed002() -> Net:
    # Seed 002's Fashion-MNIST net.
    return Net({"conv1": ConvBlock(1, 16, k=5), "conv2": ConvBlock(16, 32, k=5)},
               nn.Sequential(nn.Flatten(), nn.Linear(32 * 7 * 7, 10)))


def _seed000() -> Net:
    widths = [1, 32, 64, 128, 256]
    blocks = {f"conv{i + 1}": ConvBlock(widths[i], widths[i + 1]) for i in range(4)}
    head = nn.Sequential(nn.Flatten(), nn.Linear(256, 256), nn.ReLU(), nn.Dropout(0.5),
                         nn.Linear(256, 64), nn.ReLU(), nn.Linear(64, 10))
    return Net(blocks, head)  # 28 -> 14 -> 7 -> 3 -> 1


def _digitpad(ceil: bool = True) -> Net:
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
    head = nn.Sequential(nn.Flatten(), nn.Dropout(0.25), nn.Linear(128 * side * side, 10))
    return Net(blocks, head)


def _digitpad_s(ceil: bool = True) -> Net:
    # The small sibling for quick runs: three 3x3 conv+BN blocks, ~1.9 M multiply-adds;
    # conv3's 7x7 map pooled with ceil_mode to 4x4, as in digitpad.
    blocks = {"conv1": ConvBlock(1, 16), "conv2": ConvBlock(16, 32), "conv3": ConvBlock(32, 64, ceil=ceil)}
    side = 4 if ceil else 3
    return Net(blocks, nn.Sequential(nn.Flatten(), nn.Linear(64 * side * side, 10)))


def _seed004() -> Net:
    # Seed 004's net for the UCI 8x8 digits, as the NumPy engine builds it (training/scratch/net.py),
    # input standardised the same way: the two engines train the same function.
    head = nn.Sequential(nn.Flatten(), nn.Linear(4 * 4 * 4, 32), nn.ReLU(), nn.Linear(32, 10))
    return Net({"conv1": ConvBlock(1, 4, bn=False)}, head, input_size=8, mean=OPTDIGITS_MEAN, std=OPTDIGITS_STD)


def _optdigits() -> Net:
    # For the UCI 8x8 digits: two 3x3 conv+BN stages at 8x8 (an 8x8 image has little to pool
    # before the strokes' layout is gone), one at 4x4, then a dropout-regularised linear head:
    # 3,823 training digits overfit anything bigger.
    blocks = {"conv1": ConvBlock(1, 32, pool=False), "conv2": ConvBlock(32, 64),     # 8 -> 4
              "conv3": ConvBlock(64, 128)}                                          # 4 -> 2
    head = nn.Sequential(nn.Flatten(), nn.Dropout(0.3), nn.Linear(128 * 2 * 2, 10))
    return Net(blocks, head, input_size=8, mean=OPTDIGITS_MEAN, std=OPTDIGITS_STD)


ARCHS: dict[str, tuple[Callable[[], Net], str]] = {
    "digitpad": (_digitpad, "default: 4 conv+BN blocks 32/64/64/128, best accuracy per CPU second"),
    "digitpad-s": (_digitpad_s, "small: 3 conv+BN blocks 16/32/64, for quick runs"),
    "seed001": (_seed001, "conv 1->8, pool, conv 8->16, pool, linear (seed 001)"),
    "seed002": (_seed002, "conv5x5 16+BN, conv5x5 32+BN, linear (seed 002, Fashion-MNIST)"),
    "seed000": (_seed000, "4 conv+BN blocks 32/64/128/256, MLP head with dropout (seed 000)"),
    "seed004": (_seed004, "8x8 input: conv 1->4, pool, dense 64->32->10 (seed 004; also --engine numpy)"),
    "optdigits": (_optdigits, "8x8 input: conv+BN 32/64/128 blocks and a dropout head, for the UCI digits"),
}


# Checkpoints of digitpad and digitpad-s made before the ceil-mode fix (last stage pooled to 3x3)
# still load, as that variant, so older models in a user's library can be fine-tuned and exported.
_BEFORE_CEIL_FIX = {"digitpad": lambda: _digitpad(ceil=False), "digitpad-s": lambda: _digitpad_s(ceil=False)}


def _fits(net: Net, state: dict) -> bool:
    own = net.state_dict()
    return all(k in own and tuple(own[k].shape) == tuple(v.shape) for k, v in state.items() if hasattr(v, "shape"))


def build(arch: str, like: dict | None = None) -> Net:
    """A fresh net of ``arch``; with ``like`` (a state dict), the variant of ``arch`` it fits."""
    if arch not in ARCHS:
        raise TrainError(f"unknown arch {arch!r}; choose from {', '.join(ARCHS)} (see --list-archs)")
    net = ARCHS[arch][0]()
    if like is not None and arch in _BEFORE_CEIL_FIX and not _fits(net, like):
        older = _BEFORE_CEIL_FIX[arch]()
        if _fits(older, like):
            return older
    return net


def check_input(arch: str, dataset: str) -> None:
    """An arch trains on a dataset whose images are its input size (28x28 nets on MNIST, 8x8 on optdigits)."""
    if dataset not in contract.DATASET_INPUTS:
        return  # data.load names the unknown dataset
    side, size = contract.DATASET_INPUTS[dataset].size, build(arch).input_size
    if side != size:
        fitting = [a for a in ARCHS if build(a).input_size == side]
        raise TrainError(f"--arch {arch} takes {size}x{size} input; {dataset} digits are {side}x{side} "
                         f"(archs for them: {', '.join(fitting)})")


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def describe_archs() -> list[dict]:
    return [{"arch": name, "params": count_params(factory()), "description": text}
            for name, (factory, text) in ARCHS.items()]
