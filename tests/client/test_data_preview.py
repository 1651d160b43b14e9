"""What the Train tab says about a data set before a run, Qt-free: classes, counts per split, colour
samples, or one line why it cannot be used; and the run settings and command line of CIFAR-10 and of
a folder of the user's pictures."""
from __future__ import annotations

import zlib

import numpy as np
import pytest
from picture_sets import colour, pattern_picture, save_png, square, write_cifar_folder, write_user_folder

from digitpad.client import commands
from digitpad.client.data_preview import PER_CLASS, image_folder_problem, load_preview
from digitpad.client.run_settings import (
    KNOWN_ARCHS,
    RunSettings,
    arch_fits,
    offered_archs,
    preset_for,
)
from digitpad.core import archs as core_archs
from digitpad.core import imagefolder
from digitpad.core.contract import CIFAR10_CLASSES

PETS = ["cat", "dog", "fox"]


@pytest.fixture
def cifar_dir(tmp_path):
    return write_cifar_folder(tmp_path / "data")


@pytest.fixture
def pets(tmp_path):
    return write_user_folder(tmp_path / "pets", PETS, per_class=12, damaged="fox")


def test_a_cifar10_image_folder_shows_its_classes_counts_and_colour_samples(cifar_dir):
    steps = []
    p = load_preview("cifar10", cifar_dir, progress=lambda d, n: steps.append((d, n)))
    assert p.problem is None and p.classes == CIFAR10_CLASSES
    assert p.counts["train"].tolist() == [3] * 10 and p.counts["test"].sum() == 23   # 2 per class and 3 mistakes
    assert p.summary() == "10 classes · 30 training and 23 test images."
    assert len(p.samples) == 10 and all(len(s) == 3 for s in p.samples)
    x = p.samples[4][0]
    assert x.shape == (3, 32, 32) and x.dtype == np.float32
    rows, cols = square(4)
    np.testing.assert_allclose(x[:, rows, cols].mean(axis=(1, 2)) * 255, colour(4), atol=1)   # in colour, in RGB
    assert steps and steps[-1] == (30, 30)          # decoding a few pictures per class reports progress


def test_a_users_folder_is_split_by_name_and_a_damaged_file_is_named(pets):
    p = load_preview("folder", pets)
    assert p.problem is None and p.classes == PETS and p.held_out
    for split in ("train", "test"):
        files, _names = imagefolder.listing(pets, split)
        assert p.counts[split].tolist() == np.bincount([label for _f, label in files], minlength=3).tolist()
    assert p.counts["train"].sum() + p.counts["test"].sum() == 12 + 12 + 3   # the damaged file counts as listed
    assert p.skipped == ["broken.jpg"] and "broken.jpg" in p.summary()
    assert len(p.samples[0]) == PER_CLASS and len(p.samples[2]) == 1          # fox: one good picture trains
    assert p.title == "Image folder: pets" and any("every tenth picture" in r for r in p.remarks())


def _empty_class_folders(root):
    for name in ("cat", "dog"):
        (root / name).mkdir(parents=True)
    return root


@pytest.mark.parametrize("make, words", [
    (lambda root: root / "nowhere", "does not exist"),
    (lambda root: write_user_folder(root / "pets", PETS) / "cat", "holds pictures but no class folders"),
    (lambda root: write_user_folder(root / "one", ["cat"], damaged=None), "holds 1 class folders"),
    (lambda root: _empty_class_folders(root / "empty"), "holds no pictures"),
])
def test_a_folder_that_cannot_be_used_says_why_in_one_line(tmp_path, make, words):
    folder = make(tmp_path)
    reason = image_folder_problem(folder)
    assert reason and words in reason and "\n" not in reason
    p = load_preview("folder", folder)
    assert p.problem == reason and p.summary().startswith("Cannot be used: ")


def test_a_small_folder_whose_names_hash_to_no_test_picture_still_tests_every_class(tmp_path):
    # the held-out tenth is every name whose CRC-32 is 0 modulo 10: these names have none of it,
    # so each class gives up the one whose hash is smallest
    names = [n for n in (f"p{j:04d}.png" for j in range(100)) if zlib.crc32(n.encode()) % 10][:30]
    root = tmp_path / "small"
    for name in ("cat", "dog"):
        for file in names:
            save_png(root / name / file, pattern_picture(0))
    assert image_folder_problem(root) is None
    assert load_preview("folder", root).counts["test"].tolist() == [1, 1]


def test_cifar10_not_downloaded_yet_is_a_note_not_a_problem(tmp_path):
    p = load_preview("cifar10", None, download=True)
    assert p.problem is None and "downloads it" in p.summary() and p.classes == CIFAR10_CLASSES
    assert "no CIFAR-10 in" in load_preview("cifar10", tmp_path).problem


def test_the_command_line_is_the_engines(tmp_path, cifar_dir, pets):
    s = RunSettings.from_preset("fast")
    s.dataset, s.arch, s.data_dir, s.download = "cifar10", "seed003", str(cifar_dir), False
    args = commands.train_args(s, tmp_path / "m.onnx")
    flags = dict(zip(args, args[1:]))
    assert (flags["--dataset"], flags["--data-dir"], flags["--arch"]) == ("cifar10", str(cifar_dir), "seed003")
    assert not s.problems(["seed003"])
    s.download = True
    assert "--data-dir" not in commands.train_args(s, tmp_path / "m.onnx") and not s.problems(["seed003"])
    # a folder of pictures is its own --data-dir, whatever the shared folder or the download choice
    s.dataset, s.image_folder = "folder", str(pets)
    args = commands.train_args(s, tmp_path / "m.onnx")
    assert args[args.index("--dataset") + 1] == "folder" and args[args.index("--data-dir") + 1] == str(pets)
    assert not s.problems(["seed003"])
    again = RunSettings.remembered(s.to_dict(), None)             # remembered, apart from the shared folder
    assert (again.dataset, again.image_folder) == ("folder", str(pets))
    s.image_folder = str(pets / "cat")
    assert any("no class folders" in p for p in s.problems(["seed003"]))
    s.dataset, s.download, s.data_dir = "cifar10", False, str(tmp_path)
    assert any(f"no CIFAR-10 in {tmp_path}" in p for p in s.problems(["seed003"]))


def test_archs_follow_the_images_size_and_channels():
    colour_archs = [a.name for a in offered_archs("cifar10", KNOWN_ARCHS)]
    assert colour_archs == [n for n, a in core_archs.ARCHS.items() if (a.size, a.channels) == (32, 3)]
    assert "seed003" in colour_archs and offered_archs("folder", KNOWN_ARCHS) == offered_archs("cifar10", KNOWN_ARCHS)
    grey = [a.name for a in offered_archs("mnist", KNOWN_ARCHS)]
    assert "digitpad" in grey and "seed003" not in grey and "seed004" not in grey
    s = RunSettings.from_preset("fast")
    s.dataset = "cifar10"
    assert not arch_fits(core_archs.ARCHS["digitpad-s"], "cifar10")
    words = " ".join(s.engine_problems())
    assert "digitpad-s takes 28×28 images; cifar10 images are 32×32 RGB (archs for them: seed003" in words


def test_presets_follow_the_data_set_from_the_engines_list(monkeypatch):
    from training import config

    assert preset_for("optdigits") == "optdigits" and preset_for("mnist") is None
    monkeypatch.setitem(config.PRESETS, "cifar10", ("photos", dict(arch="seed003", dataset="cifar10", epochs=3)))
    assert preset_for("cifar10") == "cifar10" and preset_for("folder") == "cifar10"   # a folder of photos too
    s = RunSettings.from_preset("fast")
    s.preset, s.dataset, s.arch, s.image_folder = "custom", "folder", "seed003", "/x"
    assert s.base() == "cifar10"
