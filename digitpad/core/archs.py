"""The model zoo's architectures as facts both processes share: the images each takes, its size
and what it is for. ``training.models`` builds them (torch) and checks these facts against what
it builds (tests/training); the Train tab offers them from here, without asking the engine.
"""
from __future__ import annotations

from dataclasses import dataclass

from .contract import DATASET_INPUTS


@dataclass(frozen=True)
class Arch:
    name: str
    size: int          # side of the images it takes
    channels: int      # 1 grey, 3 RGB
    params: int        # trainable parameters (for 10 classes)
    description: str

    def fits(self, dataset: str) -> bool:
        """Whether it takes this data set's images (28x28 grey, 8x8 counts, 32x32 RGB)."""
        spec = DATASET_INPUTS.get(dataset)
        return spec is not None and (spec.size, spec.channels) == (self.size, self.channels)

    @property
    def input_text(self) -> str:
        return f"{self.size}×{self.size}" + (" RGB" if self.channels == 3 else "")


ARCHS: dict[str, Arch] = {a.name: a for a in (
    Arch("digitpad", 28, 1, 150_378, "default: 4 conv+BN blocks 32/64/64/128, best accuracy per CPU second"),
    Arch("digitpad-s", 28, 1, 33_658, "small: 3 conv+BN blocks 16/32/64, for quick runs"),
    Arch("seed001", 28, 1, 9_098, "conv 1->8, pool, conv 8->16, pool, linear (seed 001)"),
    Arch("seed002", 28, 1, 28_986, "conv5x5 16+BN, conv5x5 32+BN, linear (seed 002, Fashion-MNIST)"),
    Arch("seed000", 28, 1, 471_210, "4 conv+BN blocks 32/64/128/256, MLP head with dropout (seed 000)"),
    Arch("seed004", 8, 1, 2_450, "8x8 input: conv 1->4, pool, dense 64->32->10 (seed 004; also --engine numpy)"),
    Arch("optdigits", 8, 1, 98_026, "8x8 input: conv+BN 32/64/128 blocks and a dropout head, for the UCI digits"),
    Arch("seed003", 32, 3, 1_250_858, "32x32 RGB: conv 32 same, conv 32, pool, conv 64 same, conv 64, pool, "
                                      "dense 512, dense 10, with dropout (seed 003, the Keras CIFAR-10 example)"),
    Arch("cifar10", 32, 3, 1_646_122, "32x32 RGB: a ResNet-9 at half width, conv+BN 32/64/128/256 with two residual "
                              "pairs, best accuracy per CPU second (--preset cifar10)"),
)}


def archs_for(dataset: str) -> list[str]:
    """The architectures that take a data set's images, in the zoo's order."""
    return [name for name, arch in ARCHS.items() if arch.fits(dataset)]
