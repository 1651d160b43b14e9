"""The settings store: declared typed fields, damaged files cost only themselves, atomic writes."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest

from digitpad.core.settings import DAMAGED_SUFFIX, Settings, SettingsStore


def test_round_trip_and_defaults(tmp_path):
    path = tmp_path / "settings.json"
    store = SettingsStore(path)
    assert store.values == Settings() and store.problems == []
    assert store.update(last_model="/m.onnx", opened_models=["/a.onnx"], datasets_folder="/data",
                        train_form={"epochs": 3})
    again = SettingsStore(path)
    assert again.values == store.values and again.problems == []
    assert json.loads(path.read_text())["version"] == 2
    with pytest.raises(AttributeError):
        store.update(lats_model="/typo")


@pytest.mark.parametrize("field, value", [
    ("last_model", ["a", "list"]), ("last_model", 3), ("opened_models", "not a list"), ("opened_models", {"a": 1}),
    ("datasets_folder", True), ("datasets_folder", 1.5), ("train_form", [1, 2]), ("train_form", "x"),
])
def test_a_wrong_typed_field_falls_back_and_is_named(tmp_path, field, value):
    path = tmp_path / "settings.json"
    good = {"version": 2, "last_model": "/m.onnx", "datasets_folder": "/data", "train_form": {"epochs": 2},
            "opened_models": ["/a.onnx"]}
    path.write_text(json.dumps({**good, field: value}))
    store = SettingsStore(path)
    assert getattr(store.values, field) == getattr(Settings(), field)
    assert len(store.problems) == 1 and field in store.problems[0]
    for other in set(good) - {field, "version"}:          # the other fields survive
        assert getattr(store.values, other) == good[other]


def test_wrong_entries_of_a_list_are_dropped(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"version": 2, "opened_models": ["/a.onnx", 3, None, "/b.onnx"]}))
    store = SettingsStore(path)
    assert store.values.opened_models == ["/a.onnx", "/b.onnx"] and len(store.problems) == 1


@pytest.mark.parametrize("content", [b"{oops", b"\xff\xfe garbage", b"", b"[1, 2, 3]", b"null", b"42"])
def test_a_damaged_file_is_kept_aside_not_lost(tmp_path, content):
    path = tmp_path / "settings.json"
    path.write_bytes(content)
    store = SettingsStore(path)
    assert store.values == Settings() and store.problems
    store.update(last_model="/new.onnx")
    if content in (b"[1, 2, 3]", b"null", b"42"):   # valid JSON of the wrong kind: reported, then replaced
        assert not (tmp_path / f"settings{DAMAGED_SUFFIX}").exists()
    else:
        assert (tmp_path / f"settings{DAMAGED_SUFFIX}").read_bytes() == content
    assert SettingsStore(path).values.last_model == "/new.onnx"


def test_version_1_files_migrate(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"last_model": "/m.onnx", "opened": ["/a.onnx"], "evaluation_data_dir": "/eval",
                                "training_form": {"epochs": 4, "data_dir": "/train", "download": False}}))
    v = SettingsStore(path).values
    assert (v.last_model, v.opened_models, v.datasets_folder) == ("/m.onnx", ["/a.onnx"], "/train")
    assert v.train_form == {"epochs": 4}


def test_an_unreadable_settings_path_is_never_overwritten(tmp_path):
    path = tmp_path / "settings.json"
    path.mkdir()                      # readable by nobody as a file, even root
    (path / "keep").write_text("x")
    store = SettingsStore(path)
    assert store.problems and "cannot read" in store.problems[0]
    assert not store.update(last_model="/other.onnx")
    assert (path / "keep").read_text() == "x"


# -- hostile files and two windows ---------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["fifo", "dev_zero", "dangling", "loop"])
def test_a_special_settings_file_is_reported_and_left_alone(tmp_path, kind):
    from special_files import make_special, no_hang

    path = make_special(tmp_path / "settings.json", kind)
    store = no_hang(lambda: SettingsStore(path))
    assert store.values == Settings() and len(store.problems) == 1 and "settings.json" in store.problems[0]
    assert not no_hang(lambda: store.update(last_model="/m.onnx"))    # nothing written over it
    assert os.path.islink(path) or (kind == "fifo" and stat.S_ISFIFO(os.lstat(path).st_mode))


@pytest.mark.parametrize("content", [
    '{"version": 2, "train_form": {"epochs": 1' + "0" * 400 + "}}",
    '{"version": 2, "opened_models": ["/a.onnx"], "train_form": {"lr": 1e400}}',
    '{"version": 2, "last_model": NaN}',
    '{"version": 2, "train_form": ' + "[" * 100_000 + "]" * 100_000 + "}",
    '{"version": 2, "train_form": ' + '{"a": ' * 40 + "1" + "}" * 40 + "}",
    '{"version": -Infinity}',
])
def test_numbers_and_nesting_no_reader_can_use_keep_the_file_aside(tmp_path, content):
    path = tmp_path / "settings.json"
    path.write_text(content)
    store = SettingsStore(path)
    assert store.values == Settings() and len(store.problems) == 1 and "damaged" in store.problems[0]
    assert (tmp_path / f"settings{DAMAGED_SUFFIX}").read_text() == content
    assert store.update(last_model="/new.onnx") and SettingsStore(path).values.last_model == "/new.onnx"


def test_two_windows_saving_keep_each_others_changes(tmp_path):
    path = tmp_path / "settings.json"
    SettingsStore(path).update(opened_models=["/old.onnx"], train_form={"epochs": 2, "seed": 1})
    a, b = SettingsStore(path), SettingsStore(path)          # two windows, opened at the same time
    a.values.opened_models = ["/a.onnx", *a.values.opened_models]
    a.values.last_model = "/a.onnx"
    assert a.save()
    b.values.opened_models = ["/b.onnx", *b.values.opened_models]
    b.values.train_form = {**b.values.train_form, "seed": 7}
    assert b.save()
    on_disk = SettingsStore(path).values
    assert on_disk.opened_models == ["/b.onnx", "/a.onnx", "/old.onnx"]
    assert on_disk.last_model == "/a.onnx"                   # b did not change it: a's stays
    assert on_disk.train_form == {"epochs": 2, "seed": 7}
    assert b.values == on_disk                               # b now sees a's models too
    a.values.opened_models = [p for p in a.values.opened_models if p != "/old.onnx"]   # a removes one
    a.values.train_form = {"epochs": 3, "seed": 1}
    assert a.save()
    on_disk = SettingsStore(path).values
    assert on_disk.opened_models == ["/b.onnx", "/a.onnx"] and on_disk.train_form == {"epochs": 3, "seed": 7}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]   # no lock or temporary left


def test_bringing_an_opened_model_forward_merges_as_a_change(tmp_path):
    path = tmp_path / "settings.json"
    SettingsStore(path).update(opened_models=["/x.onnx", "/y.onnx", "/z.onnx"])
    a, b = SettingsStore(path), SettingsStore(path)
    b.update(opened_models=["/new.onnx", "/x.onnx", "/y.onnx", "/z.onnx"])
    a.update(opened_models=["/z.onnx", "/x.onnx", "/y.onnx"])             # a opened z again
    assert SettingsStore(path).values.opened_models == ["/z.onnx", "/new.onnx", "/x.onnx", "/y.onnx"]


def test_two_processes_saving_at_once_lose_nothing(tmp_path):
    path = tmp_path / "settings.json"
    SettingsStore(path).save()
    code = ("import sys; from digitpad.core.settings import SettingsStore\n"
            "for i in range(15):\n"
            "    s = SettingsStore(sys.argv[1])\n"
            "    s.values.opened_models = [f'/{sys.argv[2]}{i}.onnx', *s.values.opened_models]\n"
            "    s.values.train_form = {**s.values.train_form, sys.argv[2] + str(i): i}\n"
            "    assert s.save()\n")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(path), name]) for name in ("a", "b")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    form = SettingsStore(path).values.train_form
    assert len(form) == 30                                   # every key of both survived
