"""One source of folders and run-file names."""
from __future__ import annotations

from pathlib import Path

from digitpad.core import paths
from digitpad.core.paths import RunFiles


def test_user_folders_follow_the_environment(private_data_dir):
    assert paths.data_dir() == private_data_dir
    assert paths.models_dir() == private_data_dir / "models"
    assert paths.datasets_dir() == private_data_dir / "datasets"
    assert paths.settings_path() == private_data_dir / "settings.json"


def test_the_shipped_model_is_package_data():
    import digitpad

    assert paths.shipped_model_path().is_relative_to(Path(digitpad.__file__).parent)
    assert paths.shipped_model_path().is_file()


def test_run_files_from_any_of_them(tmp_path):
    for name in ("net.v2.onnx", "net.v2.ckpt.pt", "net.v2.run.json", "net.v2.log.json"):
        f = RunFiles.of(tmp_path / name)
        assert f.stem == "net.v2" and f.model == tmp_path / "net.v2.onnx"
        assert f.checkpoint == tmp_path / "net.v2.ckpt.pt" and f.run_log == tmp_path / "net.v2.run.json"
    for name in (".net.v2.onnx.tmp42", ".net.v2.ckpt.pt.tmp42", ".net.v2.onnx.probe7", "other.onnx"):
        (tmp_path / name).write_bytes(b"x")
    assert sorted(p.name for p in RunFiles(tmp_path / "net.v2.onnx").temporaries()) == [
        ".net.v2.ckpt.pt.tmp42", ".net.v2.onnx.probe7", ".net.v2.onnx.tmp42"]
