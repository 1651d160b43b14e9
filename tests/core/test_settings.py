"""The settings store: declared typed fields, damaged files cost only themselves, atomic writes."""
from __future__ import annotations

import json

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
