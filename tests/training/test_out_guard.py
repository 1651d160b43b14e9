"""An --out is claimed before any work: never another run's files (unless resuming that run),
never while another engine writes it, never a folder; a read-only file system is one line."""
from __future__ import annotations

import errno
import subprocess
import sys
from pathlib import Path

import pytest
from train_helpers import assert_one_line_error, run_cli

from digitpad.core import fileio
from digitpad.core.paths import RunFiles
from training import finish
from training.errors import TrainError

QUICK = ["--preset", "seed004", "--epochs", "1", "--limit", "300"]   # the NumPy engine: no torch, about a second


def _train(capsys, mnist_dir, out: Path, *extra: str):
    return run_cli(capsys, *QUICK, "--data-dir", str(mnist_dir), "--out", str(out), *extra)


@pytest.mark.parametrize("taken", ["model", "checkpoint", "numpy_checkpoint", "run_log", "app_log"])
def test_a_fresh_run_never_replaces_another_runs_files(tmp_path, capsys, mnist_dir, taken):
    out = tmp_path / "m.onnx"
    other = getattr(RunFiles(out), taken)
    other.write_bytes(b"another run's file")
    rc, events, err = _train(capsys, mnist_dir, out)
    assert_one_line_error(rc, events, err, "would replace another run's files")
    assert other.name in err and "--resume" in err
    assert other.read_bytes() == b"another run's file"
    assert not any(e["event"] == "start" for e in events)                      # refused before any work
    assert [p.name for p in tmp_path.iterdir()] == [other.name]               # no lock, probe or temporary left


def test_a_finished_run_is_refused_then_resumed(tmp_path, capsys, mnist_dir):
    out = tmp_path / "m.onnx"
    rc, _events, err = _train(capsys, mnist_dir, out)
    assert rc == 0, err
    before = out.read_bytes()
    rc, events, err = _train(capsys, mnist_dir, out)
    assert_one_line_error(rc, events, err, "would replace another run's files")
    assert out.read_bytes() == before
    rc, events, err = run_cli(capsys, "--resume", "--out", str(out), "--epochs", "2")
    assert rc == 0 and events[-1]["status"] == "completed", err
    # resuming one run into another run's --out is not resuming that run
    other = tmp_path / "other.onnx"
    other.write_bytes(b"x")
    rc, events, err = run_cli(capsys, "--resume", str(RunFiles(out).numpy_checkpoint), "--out", str(other),
                              "--epochs", "3")
    assert_one_line_error(rc, events, err, "would replace another run's files")


def test_a_second_engine_on_the_same_out_fails_at_once(tmp_path, capsys, mnist_dir):
    out = tmp_path / "m.onnx"
    code = ("import sys; from digitpad.core import fileio\n"
            f"with fileio.exclusive_lock({str(RunFiles(out).lock)!r}):\n"
            "    print('held', flush=True); sys.stdin.readline()\n")
    holder = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        rc, events, err = _train(capsys, mnist_dir, out)
        assert_one_line_error(rc, events, err, "another digitpad-train")
        assert f"process {holder.pid}" in err and not out.exists()
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    rc, _events, err = _train(capsys, mnist_dir, out)      # free once the other is done
    assert rc == 0, err
    assert not RunFiles(out).lock.exists()


def test_a_lock_left_by_a_killed_engine_does_not_block(tmp_path, capsys, mnist_dir):
    out = tmp_path / "m.onnx"
    RunFiles(out).lock.write_text("999999")                  # its process is gone: the kernel holds nothing
    rc, _events, err = _train(capsys, mnist_dir, out)
    assert rc == 0, err


def test_out_naming_a_folder_fails_before_training(tmp_path, capsys, mnist_dir):
    folder = tmp_path / "models.onnx"
    folder.mkdir()
    rc, events, err = _train(capsys, mnist_dir, folder)
    assert_one_line_error(rc, events, err, "is a folder")
    assert not any(e["event"] == "start" for e in events) and list(folder.iterdir()) == []


def test_the_writability_probe_survives_a_file_system_turning_read_only(tmp_path, monkeypatch):
    real_unlink = Path.unlink

    def read_only_unlink(self, *a, **k):
        if ".probe" in self.name:
            raise OSError(errno.EROFS, "Read-only file system", str(self))
        return real_unlink(self, *a, **k)

    monkeypatch.setattr(Path, "unlink", read_only_unlink)
    finish.check_writable(tmp_path / "m.onnx")              # the folder was writable: no exception
    monkeypatch.setattr(Path, "write_bytes", lambda self, data: (_ for _ in ()).throw(
        OSError(errno.EROFS, "Read-only file system", str(self))))
    with pytest.raises(TrainError, match=r"cannot write to .*: Read-only file system"):
        finish.check_writable(tmp_path / "m.onnx")


@pytest.fixture
def read_only_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a read-only file system here (needs root)")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_out_on_a_read_only_file_system_is_one_line(read_only_folder, capsys, mnist_dir):
    for out in (read_only_folder / "m.onnx", read_only_folder / "sub" / "m.onnx"):
        rc, events, err = _train(capsys, mnist_dir, out)
        assert_one_line_error(rc, events, err, "Read-only file system")
        assert "Traceback" not in err


def test_a_numpy_export_never_replaces_another_runs_model(tmp_path, capsys, mnist_dir):
    a, b = tmp_path / "a.onnx", tmp_path / "b.onnx"
    assert _train(capsys, mnist_dir, a)[0] == 0
    assert _train(capsys, mnist_dir, b)[0] == 0
    before = b.read_bytes()
    rc, events, err = run_cli(capsys, "export", str(RunFiles(a).numpy_checkpoint), "--out", str(b))
    assert_one_line_error(rc, events, err, "is another run's model")
    assert b.read_bytes() == before
    rc, _events, err = run_cli(capsys, "export", str(RunFiles(a).numpy_checkpoint), "--out", str(a))
    assert rc == 0, err                                       # its own model: replaced


def test_claim_out_unit(tmp_path):
    out = tmp_path / "m.onnx"
    with finish.claim_out(out):
        with pytest.raises(TrainError, match="another digitpad-train"), finish.claim_out(out):
            pass
        assert RunFiles(out).lock.exists()
    assert not RunFiles(out).lock.exists()
    RunFiles(out).checkpoint.write_bytes(b"c")
    with finish.claim_out(out, resuming=RunFiles(out).checkpoint):
        pass
    with pytest.raises(TrainError, match="another run's files"), finish.claim_out(out):
        pass
    with pytest.raises(TrainError), finish.claim_out(out, resuming=tmp_path / "x.ckpt.pt"):
        pass
    assert isinstance(fileio.LockHeld(out, 1), OSError)
