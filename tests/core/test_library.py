"""The model library: listing, the metadata scanner, remembering the last model."""
from __future__ import annotations

import json
import os
import shutil

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


# -- special files, thousands of models -----------------------------------------------------------------
def test_special_files_in_the_models_folder_are_left_out(private_data_dir, monkeypatch, tmp_path):
    from special_files import make_special, no_hang

    models = private_data_dir / "models"
    models.mkdir(parents=True)
    mine = make_model(models / "mine.onnx", arch="mine")
    for kind in ("fifo", "dev_zero", "dangling", "loop", "folder"):
        make_special(models / f"{kind}.onnx", kind)
    lib = ModelLibrary()
    lib.remember(mine)
    lib.settings.update(last_model=str(models / "fifo.onnx"), opened_models=[str(models / "loop.onnx")])
    entries = no_hang(lib.entries)
    assert [e.path.name for e in entries if e.source == "user"] == ["mine.onnx"]
    assert no_hang(lib.startup_candidates)[-1:] == [mine] and models / "fifo.onnx" not in lib.startup_candidates()


def test_descriptions_are_cached_until_the_file_changes(private_data_dir, monkeypatch):
    models = private_data_dir / "models"
    models.mkdir(parents=True)
    path = make_model(models / "a.onnx", arch="first")
    reads = []
    real = library.read_metadata_props
    monkeypatch.setattr(library, "read_metadata_props", lambda p: reads.append(p) or real(p))
    lib = ModelLibrary()
    for _ in range(3):
        assert [e.metadata.arch for e in lib.entries() if e.source == "user"] == ["first"]
    assert reads == [path]
    make_model(path, arch="second")
    os.utime(path, ns=(1, 1_000_000_000))   # another mtime, whatever the clock's resolution
    assert [e.metadata.arch for e in lib.entries() if e.source == "user"] == ["second"] and len(reads) == 2


def test_a_time_budget_leaves_the_rest_pending(private_data_dir):
    models = private_data_dir / "models"
    models.mkdir(parents=True)
    for i in range(5):
        make_model(models / f"m{i}.onnx", seed=i)
    lib = ModelLibrary()
    listed = lib.entries(budget_s=0)
    assert len([e for e in listed if e.source == "user"]) == 5 and all(e.pending and e.metadata is None
                                                                        for e in listed if e.source == "user")
    assert not any(e.pending for e in lib.entries())
    assert not any(e.pending for e in lib.entries(budget_s=0))   # described once: cached


def test_startup_reads_the_folder_only_when_the_first_choices_fail(private_data_dir, monkeypatch, tmp_path):
    shipped = make_model(tmp_path / "default.onnx")
    monkeypatch.setattr(library, "shipped_model_path", lambda: shipped)
    lib = ModelLibrary()
    listed = []
    monkeypatch.setattr(lib, "_user_files", lambda: listed.append(1) or [])
    assert next(iter(lib.iter_startup_candidates())) == shipped and not listed


def test_listing_thousands_reads_no_file(private_data_dir, monkeypatch):
    models = private_data_dir / "models"
    models.mkdir(parents=True)
    src = make_model(models.parent / "src.onnx")
    for i in range(300):
        shutil.copyfile(src, models / f"m{i:03d}.onnx")
    opened = []
    monkeypatch.setattr(library, "read_metadata_props", lambda p: opened.append(p) or {})
    lib = ModelLibrary()
    assert len(lib.user_models()) == len(lib.startup_candidates()) - 1 == 300   # and the shipped model
    assert len([e for e in lib.entries(budget_s=0) if e.source == "user"]) == 300 and not opened
