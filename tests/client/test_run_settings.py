"""The Train tab's form and command lines, Qt-free: presets from the engine, every field passed."""
from __future__ import annotations

import json
import os

import pytest

from digitpad.client import commands
from digitpad.client.run_settings import KNOWN_ARCHS, ArchInfo, RunSettings, parse_list_archs, preset_names


def test_parse_list_archs():
    text = "digitpad     141,418 params  default: 4 conv\nnoise\nseed001        9,098 params  tiny (seed 001)\n"
    assert parse_list_archs(text) == [ArchInfo("digitpad", 141418, "default: 4 conv"),
                                      ArchInfo("seed001", 9098, "tiny (seed 001)")]
    assert KNOWN_ARCHS


def test_presets_come_from_the_engine():
    from training.config import PRESETS

    assert [n for n, _ in preset_names()] == list(PRESETS)
    s = RunSettings.from_preset("seed001")
    assert (s.arch, s.epochs, s.batch_size, s.schedule, s.augment) == ("seed001", 10, 64, "constant", False)


def test_train_args_pass_every_field_and_leave_a_core(tmp_path):
    s = RunSettings.from_preset("fast")
    s.data_dir, s.download, s.seed, s.limit = str(tmp_path), False, 7, 300
    args = commands.train_args(s, tmp_path / "m.onnx")
    flags = dict(zip(args[::1], args[1::1]))
    assert flags["--arch"] == "digitpad-s" and flags["--seed"] == "7" and flags["--limit"] == "300"
    assert flags["--progress"] == "jsonl" and flags["--out"] == str(tmp_path / "m.onnx")
    assert flags["--data-dir"] == str(tmp_path) and "--no-augment" in args
    assert int(flags["--threads"]) == max(1, (os.cpu_count() or 2) - 1)
    s.download = True
    assert "--data-dir" not in commands.train_args(s, tmp_path / "m.onnx")


def test_a_custom_form_runs_on_the_preset_it_was_edited_from(tmp_path):
    s = RunSettings.from_preset("accurate")
    s.preset, s.epochs = "custom", 12
    args = commands.train_args(s, tmp_path / "m.onnx")
    # --preset brings what the form does not show (EMA, the augmentation tail); the form's fields override it
    assert args[args.index("--preset") + 1] == "accurate" and args[args.index("--epochs") + 1] == "12"
    s.base_preset = "gone"   # remembered from an older version
    assert commands.train_args(s, tmp_path / "m.onnx")[1] == "default"


def test_settings_round_trip_and_survive_garbage():
    s = RunSettings.from_preset("fast")
    s.epochs, s.lr, s.augment, s.device = 3, 0.01, True, "cpu"
    again = RunSettings.from_dict(json.loads(json.dumps(s.to_dict())))
    assert (again.epochs, again.lr, again.augment, again.device) == (3, 0.01, True, "cpu")
    bad = RunSettings.from_dict({"epochs": "many", "lr": True, "augment": 1, "preset": "nope", "extra": 1})
    assert bad.epochs == RunSettings.from_preset("fast").epochs and bad.lr == RunSettings.from_preset("fast").lr
    assert bad.preset == "custom"
    assert RunSettings.from_dict(None) == RunSettings.from_preset("fast")


def test_problems_in_words(tmp_path):
    s = RunSettings.from_preset("fast")
    s.data_dir, s.download = str(tmp_path / "missing"), False
    s.epochs = 0
    problems = " ".join(s.problems(["digitpad"]))
    assert "does not exist" in problems and "--epochs must be >= 1" in problems
    assert "unknown architecture" in problems
    s.name = "../escape"
    assert any("model name" in p for p in s.problems())


def test_remembered_form_keeps_the_shared_data_folder_apart():
    s = RunSettings.remembered({"epochs": 4}, "/data/sets")
    assert (s.epochs, s.data_dir, s.download) == (4, "/data/sets", False)
    assert RunSettings.remembered({}, None).download
    stored = s.to_dict()
    assert "data_dir" not in stored and "download" not in stored and "name" not in stored


def test_the_engine_is_a_preset_field_and_the_base_follows_engine_and_input_size(tmp_path):
    s = RunSettings.from_preset("seed004")
    assert (s.engine, s.arch, s.dataset) == ("numpy", "seed004", "optdigits") and s.base() == "seed004"
    args = commands.train_args(s, tmp_path / "m.onnx")
    assert args[args.index("--engine") + 1] == "numpy" and args[args.index("--preset") + 1] == "seed004"
    assert RunSettings.from_dict(json.loads(json.dumps(s.to_dict()))).engine == "numpy"
    # a form edited from a preset of another engine or input size starts from the engine's own preset
    s.preset, s.engine = "custom", "torch"
    assert s.base() == "optdigits"
    s.dataset = "mnist"
    assert s.base() == "fast"
    s = RunSettings.from_preset("default")
    s.preset, s.engine, s.arch, s.dataset = "custom", "numpy", "seed004", "optdigits"
    assert s.base() == "seed004"
    assert KNOWN_ARCHS[0].input_size == 28 and next(a for a in KNOWN_ARCHS if a.name == "seed004").input_size == 8


def test_preset_extras_say_what_the_form_does_not_show():
    from digitpad.client.run_settings import preset_extras

    default = preset_extras("default")
    assert "20,000 template-drawn digits" in default and "20,000 generated non-digits" in default
    assert any("EMA 0.999" in e for e in default) and any("last 3 epochs" in e for e in default)
    assert preset_extras("seed001") == [] and preset_extras("fast") == []


def test_the_archs_offered_are_the_cores_facts():
    from digitpad.core import archs

    assert [(a.name, a.params, a.description, a.size, a.channels) for a in KNOWN_ARCHS] == [
        (a.name, a.params, a.description, a.size, a.channels) for a in archs.ARCHS.values()]
    # The engine's --list-archs lines say no input size: it comes from the core, not from the prose.
    (seed003,) = parse_list_archs("seed003    1,250,858 params  32x32 RGB: conv 32 same, ...")
    assert (seed003.input_size, seed003.channels, seed003.input_text) == (32, 3, "32×32 RGB")
    assert ArchInfo("someone-elses", 10, "8x8 input, says the prose").input_size == 28


def test_colour_datasets_take_colour_archs(tmp_path):
    s = RunSettings.from_preset("fast")
    s.dataset = "cifar10"
    assert s.engine_problems() == ["digitpad-s takes 28×28 images; cifar10 images are 32×32 RGB (archs for them: "
                                   "seed003, cifar10)"]
    assert s.base() == "cifar10"       # the form edited onto CIFAR-10 starts from its own preset
    s = RunSettings.from_preset("seed003")
    assert (s.arch, s.dataset, s.engine_problems()) == ("seed003", "cifar10", [])
    s.dataset = "mnist"
    assert s.engine_problems() == ["seed003 takes 32×32 RGB images; mnist digits are 28×28 (archs for them: "
                                   "digitpad, digitpad-s, seed001, seed002, seed000)"]


def test_the_app_keeps_a_core_when_the_preset_would_take_the_idle_ones(tmp_path):
    s = RunSettings.from_preset("cifar10")
    s.data_dir, s.download = str(tmp_path), False
    args = commands.train_args(s, tmp_path / "m.onnx")
    assert args[args.index("--threads") + 1] == str(commands.default_threads())
    assert "--threads" not in commands.train_args(RunSettings.from_preset("optdigits"), tmp_path / "o.onnx")


@pytest.mark.parametrize("field, value", [
    ("epochs", 10 ** 30), ("epochs", 0), ("epochs", -1), ("batch_size", 2 ** 40), ("batch_size", 0),
    ("lr", 1e300), ("lr", 0.0), ("lr", -1.0), ("seed", 2 ** 31), ("seed", -5), ("seed", 10 ** 18),
    ("limit", 0), ("limit", 10 ** 15),
])
def test_remembered_numbers_outside_the_forms_ranges_fall_back(field, value):
    from digitpad.client.run_settings import RANGES

    s = RunSettings.from_dict({field: value, "augment": True})
    assert getattr(s, field) == getattr(RunSettings.from_preset("fast"), field) and s.augment
    lo, hi = RANGES[field]
    assert getattr(s, field) is None or lo <= getattr(s, field) <= hi
