"""The zoo against the core's facts (digitpad.core.archs), and seed 003's network layer by layer."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from digitpad.core import archs as facts
from training import memory, models
from training.errors import TrainError


@pytest.mark.parametrize("name", list(facts.ARCHS))
def test_every_arch_is_what_the_core_says(name):
    """Parameters, input size and channels, description: the Train tab shows the core's facts."""
    info, net = facts.ARCHS[name], models.build(name).eval()
    assert models.count_params(net) == info.params
    assert (net.input_size, net.in_channels) == (info.size, info.channels)
    with torch.no_grad():
        assert net(torch.zeros(2, info.channels, info.size, info.size)).shape == (2, 10)
    assert models.ARCHS[name][1] == info.description
    assert memory.bytes_per_image(net) > 0    # the memory check feeds it images of its own shape


def test_the_zoo_and_the_facts_list_the_same_archs():
    assert list(models.ARCHS) == list(facts.ARCHS)
    assert [a["params"] for a in models.describe_archs()] == [a.params for a in facts.ARCHS.values()]


def test_seed003_is_the_keras_example_layer_by_layer():
    net = models.build("seed003").eval()
    assert models.count_params(net) == 1_250_858 and not net.normalise   # Keras feeds x / 255 as it is
    with torch.no_grad():
        _, acts = net.forward_with_activations(torch.rand(1, 3, 32, 32))
    # 'same', 'valid', pool, 'same', 'valid': 32 -> 32 -> 30 -> 15 -> 15 -> 13 (-> pool 6, flatten 2,304)
    assert [tuple(a.shape[1:]) for a in acts] == [(32, 32, 32), (32, 30, 30), (64, 15, 15), (64, 13, 13)]
    dense = [m for m in net.head if isinstance(m, nn.Linear)]
    assert [(d.in_features, d.out_features) for d in dense] == [(2304, 512), (512, 10)]
    drops = [m.p for m in net.modules() if isinstance(m, nn.Dropout)]
    assert drops == [0.25, 0.25, 0.5]
    assert not any(isinstance(m, nn.BatchNorm2d) for m in net.modules())
    # Keras's initialisation: zero biases, Glorot-uniform kernels (bound sqrt(6 / (fan_in + fan_out))).
    conv1 = net.blocks["conv1"].conv
    assert conv1.bias.abs().max() == 0
    assert conv1.weight.abs().max() <= (6 / (3 * 9 + 32 * 9)) ** 0.5


def test_a_folder_net_has_one_output_per_class():
    net = models.build("cifar10", classes=3).eval()
    with torch.no_grad():
        assert net(torch.zeros(1, 3, 32, 32)).shape == (1, 3)


def test_check_input_reads_size_and_channels():
    models.check_input("seed003", "cifar10")
    models.check_input("cifar10", "folder")
    with pytest.raises(TrainError, match=r"--arch seed003 takes 32x32 RGB input; mnist digits are 28x28 "
                                         r"\(archs for them: digitpad, digitpad-s, seed001, seed002, seed000\)"):
        models.check_input("seed003", "mnist")
    with pytest.raises(TrainError, match=r"--arch digitpad takes 28x28 input; cifar10 images are 32x32 RGB "
                                         r"\(archs for them: seed003, cifar10\)"):
        models.check_input("digitpad", "cifar10")
