"""The model library: listing, the metadata scanner, remembering the last model."""
from __future__ import annotations

import json

import onnx
import pytest
from model_factory import make_foreign_model, make_model

from digitpad.core import library, paths
from digitpad.core.library import ModelLibrary, read_metadata_props, summary_lines


def test_metadata_scanner_agrees_with_onnx(random_model, tmp_path):
    ref = {p.key: p.value for p in onnx.load(str(random_model)).metadata_props}
    assert read_metadata_props(random_model) == ref
    assert read_metadata_props(make_foreign_model(tmp_path / "f.onnx")) == {}


def test_scanner_rejects_garbage(tmp_path):
    (tmp_path / "g.onnx").write_bytes(b"\xff" * 64)
    with pytest.raises(ValueError):
        read_metadata_props(tmp_path / "g.onnx")


def test_data_dir_from_environment(private_data_dir):
    assert paths.data_dir() == private_data_dir
    assert paths.models_dir() == private_data_dir / "models"


def test_entries_list_shipped_user_and_opened(private_data_dir, tmp_path, monkeypatch):
    shipped = make_model(tmp_path / "default.onnx", arch="shipped-net")
    monkeypatch.setattr(library, "shipped_model_path", lambda: shipped)
    (private_data_dir / "models").mkdir(parents=True)
    make_model(private_data_dir / "models" / "mine.onnx", arch="mine")
    (private_data_dir / "models" / "broken.onnx").write_bytes(b"\x00\x01garbage")
    elsewhere = make_foreign_model(tmp_path / "elsewhere.onnx")
    lib = ModelLibrary()
    lib.remember(elsewhere)
    entries = lib.entries()
    assert [e.source for e in entries] == ["shipped", "user", "user", "opened"]
    assert entries[0].name.startswith("Shipped") and entries[0].metadata.arch == "shipped-net"
    by_name = {e.path.name: e for e in entries}
    assert by_name["mine.onnx"].metadata.arch == "mine"
    assert by_name["broken.onnx"].problem and by_name["elsewhere.onnx"].metadata is None
    # remembered across library instances, in the private folder only
    assert ModelLibrary().last_used == elsewhere.resolve()
    assert json.loads((private_data_dir / "settings.json").read_text())["last_model"] == str(elsewhere.resolve())


def test_startup_candidates_prefer_last_used(private_data_dir, tmp_path, monkeypatch):
    shipped = make_model(tmp_path / "default.onnx")
    monkeypatch.setattr(library, "shipped_model_path", lambda: shipped)
    other = make_model(tmp_path / "other.onnx")
    lib = ModelLibrary()
    assert lib.startup_candidates()[0] == shipped
    lib.remember(other)
    assert ModelLibrary().startup_candidates()[:2] == [other.resolve(), shipped]


def test_corrupt_settings_are_ignored(private_data_dir):
    private_data_dir.mkdir(parents=True)
    (private_data_dir / "settings.json").write_text("{oops")
    assert ModelLibrary().last_used is None


def test_summary_lines(random_model):
    from digitpad.core.inference import Predictor

    rows = dict(summary_lines(Predictor(random_model).metadata))
    assert rows["Architecture"] == "testnet" and rows["Dataset"] == "mnist"
    assert rows["Test accuracy"] == "50.00 %" and rows["Device"] == "cpu" and rows["Training time"] == "12 s"
    assert "none" in dict(summary_lines(None))["Metadata"]
