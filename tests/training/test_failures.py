"""What goes wrong around a run: too little memory, empty data, bad flags, signals at awkward
moments, a full disk, a diverged or NaN model. Each is one line and an ``error`` event, or a
warning where the model itself is fine; nothing half-written is left behind."""
from __future__ import annotations

import json
import math
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from train_helpers import REPO, TINY, assert_one_line_error, metadata, run_cli, run_train, train_cmd, write_mnist

from training import checkpoint, export, finish, memory, models
from training.cli import main


def leftovers(folder: Path) -> list[str]:
    """Temporary files of atomic writes and write probes."""
    return sorted(p.name for p in folder.iterdir() if ".tmp" in p.name or ".probe" in p.name)


# -- memory ----------------------------------------------------------------------------------------
def _peak_rss_of(cmd: list[str], limit_as: int | None = None) -> tuple[subprocess.CompletedProcess, int]:
    """Run ``cmd`` through a fresh Python that reports its children's peak RSS (bytes)."""
    code = ("import resource, subprocess, sys, json\n"
            f"limit = {limit_as!r}\n"
            "pre = (lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit))) if limit else None\n"
            "p = subprocess.run(json.loads(sys.argv[1]), capture_output=True, text=True, preexec_fn=pre)\n"
            "print(json.dumps([p.returncode, p.stdout, p.stderr, "
            "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024]))\n")
    out = subprocess.run([sys.executable, "-c", code, json.dumps(cmd)], cwd=REPO, capture_output=True, text=True,
                         timeout=300)
    rc, stdout, stderr, peak = json.loads(out.stdout)
    return subprocess.CompletedProcess(cmd, rc, stdout, stderr), peak


def test_huge_batch_is_refused_before_it_allocates(tmp_path, mnist_dir):
    # The digitpad arch at the whole training set (60,000) per step needs ~65 GB.
    proc, peak = _peak_rss_of(train_cmd("--arch", "digitpad", "--batch-size", "10000000", "--data-dir", str(mnist_dir),
                                        "--out", str(tmp_path / "m.onnx"), "--progress", "jsonl"))
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert proc.returncode == 2 and events[-1]["event"] == "error"
    assert "--batch-size 10000000 needs about" in proc.stderr and "the batch is capped at the 60,000" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert peak < 2 * 2**30, f"peak RSS {peak / 2**30:.1f} GB"
    assert not (tmp_path / "m.ckpt.pt").exists()


def test_memory_limit_of_the_process_is_honoured(tmp_path, mnist_dir):
    """Under an address-space limit (ulimit -v) the estimate counts what is left of it: ~3.5 GB
    for a step of 20,000 images of seed001 is more than half of what 8 GB leaves after torch."""
    proc, _ = _peak_rss_of(train_cmd("--arch", "seed001", "--batch-size", "20000", "--data-dir", str(mnist_dir),
                                     "--out", str(tmp_path / "m.onnx"), "--progress", "jsonl", "--threads", "1"),
                           limit_as=8 * 2**30)
    if "needs about" not in proc.stderr and "import torch" in proc.stderr:
        pytest.skip(f"this torch cannot even import under an 8 GB address-space limit: {proc.stderr[-200:]}")
    assert proc.returncode == 2, proc.stderr
    assert "--batch-size 20000 needs about 3." in proc.stderr and "GB of free memory; use --batch-size" in proc.stderr


def test_memory_check_suggests_a_batch_that_fits(monkeypatch):
    net = models.build("seed001")
    per_image = memory.bytes_per_image(net)
    assert 50_000 < per_image < 150_000  # seed001's leaf outputs for one image, float32
    monkeypatch.setattr(memory, "available_bytes", lambda device: 1 * 2**30)
    assert memory.check(net, 256, 60_000, 0, torch.device("cpu")) > 0
    with pytest.raises(Exception, match=r"--batch-size 8192 needs about 1\.\d GB .*use --batch-size (\d+) or less"):
        memory.check(net, 8192, 60_000, 0, torch.device("cpu"))


def test_available_memory_is_read():
    free = memory.available_bytes(torch.device("cpu"))
    assert free is None or 0 < free < 2**50


@pytest.mark.parametrize("failure", ["cpu", "cuda"])
def test_allocation_failure_is_one_line(tiny_run, small_mnist, capsys, monkeypatch, failure):
    def forward(self, x):
        if failure == "cpu":
            torch.empty(2**62, dtype=torch.uint8)  # a real failing allocation of torch's CPU allocator
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB. GPU 0 has a total "
                                     "capacity of 79.10 GiB of which 1.2 GiB is free.\nIf reserved ...")

    monkeypatch.setattr(models.Net, "forward", forward)
    rc = main([*TINY, "--data-dir", str(small_mnist), "--out", str(tiny_run.parent / "n.onnx"), "--progress", "jsonl"])
    out = capsys.readouterr()
    lines = out.err.strip().splitlines()
    assert rc == 1 and len(lines) == 1 and lines[0].startswith("digitpad-train: error: out of memory ("), out.err
    assert ("CUDA out of memory" in lines[0] and "--device cpu" in lines[0]) if failure == "cuda" else \
        "can't allocate memory" in lines[0]
    assert json.loads(out.out.splitlines()[-1])["event"] == "error"


# -- data and flags -------------------------------------------------------------------------------------
def test_empty_training_set_is_one_line(tmp_path, capsys):
    empty = write_mnist(tmp_path / "empty", (np.zeros((0, 28, 28)), np.zeros(0)), (np.zeros((5, 28, 28)), np.zeros(5)))
    rc, events, err = run_cli(capsys, "--arch", "seed001", "--data-dir", str(empty), "--out", str(tmp_path / "m.onnx"))
    assert_one_line_error(rc, events, err, "the training set has 0 images")
    assert not (tmp_path / "m.ckpt.pt").exists()


@pytest.mark.parametrize("argv, message", [
    (["--epochs", "many", "--progress", "jsonl"], "argument --epochs: invalid int value: 'many'"),
    (["--progress=jsonl", "--no-such-flag"], "unrecognized arguments: --no-such-flag"),
    (["export", "--progress", "jsonl"], "the following arguments are required: checkpoint"),
])
def test_argparse_errors_reach_jsonl_as_an_error_event(argv, message):
    proc = subprocess.run(train_cmd(*argv), cwd=REPO, capture_output=True, text=True, timeout=60)
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert proc.returncode == 2
    assert [e["event"] for e in events] == ["error"] and message in events[0]["message"]
    assert proc.stderr.strip().splitlines() == [f"digitpad-train: error: {events[0]['message']}"]


# -- signals -------------------------------------------------------------------------------------------
def _popen(*args: str) -> subprocess.Popen:
    return subprocess.Popen(train_cmd(*args, "--progress", "jsonl"), cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_sigterm_at_the_end_of_training_still_exports(tmp_path, small_mnist):
    """The signal lands in the evaluation or the export of the last epoch: the finished run's model
    is written, then ``done``; no temporary file."""
    out = tmp_path / "m.onnx"
    proc = _popen(*TINY, "--epochs", "1", "--data-dir", str(small_mnist), "--out", str(out))
    events = []
    for line in proc.stdout:
        events.append(json.loads(line))
        if events[-1]["event"] == "step" and events[-1]["step"] == events[0]["total_steps"]:
            proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0, proc.stderr.read()
    assert [e["event"] for e in events][-2:] == ["exported", "done"] and events[-1]["status"] == "completed"
    assert out.is_file() and leftovers(tmp_path) == []


def test_sigterm_during_the_evaluation_stops_with_the_resume_line(tmp_path, small_mnist):
    out = tmp_path / "m.onnx"
    proc = _popen(*TINY, "--epochs", "3", "--data-dir", str(small_mnist), "--out", str(out))
    events = []
    for line in proc.stdout:
        events.append(json.loads(line))
        if events[-1]["event"] == "step" and events[-1]["step"] == events[0]["steps_per_epoch"]:
            proc.send_signal(signal.SIGTERM)  # the last step's event comes right before the evaluation
    stderr = proc.stderr.read()
    assert proc.wait(timeout=60) == 0, stderr
    assert events[-1]["event"] == "done" and events[-1]["status"] == "stopped"
    assert f"stopped after epoch 1/3; checkpoint {checkpoint.checkpoint_path(out)} (continue with --resume)" in stderr
    assert checkpoint.load(checkpoint.checkpoint_path(out))["epoch"] == 1 and not out.exists()


def test_second_signal_during_the_export_leaves_no_temporary_file(tmp_path, small_mnist, capsys, monkeypatch):
    """A first stop request lets the export finish; a second one interrupts it while the model
    is being written, and the temporary file goes with it."""
    import os

    from digitpad.core import fileio

    real_fsync = os.fsync

    def fsync_interrupted(fd):
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGTERM)
        real_fsync(fd)

    def write_model(path, data):
        monkeypatch.setattr(fileio.os, "fsync", fsync_interrupted)
        fileio.atomic_write_bytes(path, data)

    monkeypatch.setattr(finish, "atomic_write_bytes", write_model)
    out = tmp_path / "m.onnx"
    rc = main([*TINY, "--epochs", "1", "--data-dir", str(small_mnist), "--out", str(out), "--progress", "jsonl"])
    captured = capsys.readouterr()
    assert rc == 130 and json.loads(captured.out.splitlines()[-1]) == {"event": "error", "message": "interrupted"}
    assert not out.exists() and leftovers(tmp_path) == []
    assert checkpoint.load(checkpoint.checkpoint_path(out))["epoch"] == 1  # the run can still be exported


# -- a full disk after the model -------------------------------------------------------------------------
def test_run_log_failure_after_the_model_is_a_warning(tmp_path, small_mnist, capsys, monkeypatch):
    def disk_full(path, text):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(finish, "atomic_write_text", disk_full)
    out = tmp_path / "m.onnx"
    rc, events, err = run_cli(capsys, *TINY, "--epochs", "1", "--data-dir", str(small_mnist), "--out", str(out))
    assert rc == 0, err
    exported, done = events[-2], events[-1]
    assert exported["event"] == "exported" and "m.run.json could not be written (No space left on device)" in \
        exported["warnings"][0]
    assert done["status"] == "completed" and out.is_file()
    assert "warning: the run log m.run.json could not be written" in err


def _run_in_tmpfs(folder: Path, size_kb: int, args: list[str]) -> subprocess.CompletedProcess:
    """The engine with ``folder`` on a fresh tmpfs of ``size_kb`` (a private mount namespace)."""
    script = (f'mount -t tmpfs -o size={size_kb}k tmpfs "{folder}" || exit 99\n'
              f'exec "$@"')
    return subprocess.run(["unshare", "-m", "sh", "-c", script, "sh", *train_cmd(*args)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(not shutil.which("unshare"), reason="needs unshare(1) for a private tmpfs")
def test_full_disk_after_the_model_on_a_real_tmpfs(tmp_path, small_mnist):
    """A tmpfs sized for the checkpoint and the model and nothing more: the run log does not fit."""
    args = [*TINY, "--epochs", "1", "--data-dir", str(small_mnist), "--progress", "jsonl"]
    dry = tmp_path / "disk"
    dry.mkdir()
    rc, _, err = run_train(*args, "--out", str(dry / "m.onnx"))
    assert rc == 0, err
    pages = sum(math.ceil((dry / n).stat().st_size / 4096) for n in ("m.ckpt.pt", "m.onnx"))
    shutil.rmtree(dry)
    dry.mkdir()
    for extra in (0, 1):  # the model's metadata (timings) may cross a page boundary once
        proc = _run_in_tmpfs(dry, (pages + extra) * 4, [*args, "--out", str(dry / "m.onnx")])
        if proc.returncode == 99:
            pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
        events = [json.loads(line) for line in proc.stdout.splitlines()]
        if events and events[-1]["event"] == "done":
            break
    assert proc.returncode == 0, proc.stderr
    assert events[-1]["status"] == "completed" and "could not be written" in events[-2]["warnings"][0]
    assert "No space left on device" in proc.stderr or "File too large" in proc.stderr


# -- diverged and broken models -----------------------------------------------------------------------------
def test_diverged_run_exports_with_a_warning(tmp_path, small_mnist, capsys):
    out = tmp_path / "m.onnx"
    rc, events, err = run_cli(capsys, "--arch", "seed001", "--limit", "1000", "--batch-size", "50", "--lr", "5",
                              "--epochs", "1", "--threads", "1", "--data-dir", str(small_mnist), "--out", str(out))
    assert rc == 0, err
    exported = next(e for e in events if e["event"] == "exported")
    assert exported["warnings"] and exported["warnings"][0].startswith("training diverged: final train loss")
    assert "warning: training diverged" in err
    assert metadata(out).training["warnings"] == exported["warnings"]
    assert events[-1]["warnings"] == exported["warnings"]


def test_nan_weights_are_never_exported(tiny_run, tmp_path, small_mnist, capsys):
    """A diverged checkpoint with NaN weights (a valid file): export refuses, nothing is written."""
    path = checkpoint.checkpoint_path(tiny_run)
    ckpt = torch.load(path, weights_only=True)
    ckpt["ema_model"]["head.1.weight"][0, 0] = math.nan
    checkpoint.save({k: v for k, v in ckpt.items() if k not in ("format", "sha256", "weights_sha256")}, path)
    out = tmp_path / "nan.onnx"
    rc, events, err = run_cli(capsys, "export", str(path), "--out", str(out), "--data-dir", str(small_mnist))
    assert_one_line_error(rc, events, err, "the model gives NaN or inf outputs on 500 of 500 test images")
    assert "its weights hold NaN or inf" in err and not out.exists() and leftovers(tmp_path) == []


def test_parity_counts_non_finite_outputs():
    net = models.build("seed001").eval()
    images = np.random.default_rng(0).integers(0, 256, (20, 28, 28), dtype=np.uint8)
    proto, _ = export.to_proto(net)
    assert export.parity(proto.SerializeToString(), net, images)["parity_nonfinite_images"] == 0
    with torch.no_grad():
        net.head[1].bias[3] = math.inf
    proto, _ = export.to_proto(net)
    result = export.parity(proto.SerializeToString(), net, images)
    assert result["parity_nonfinite_images"] == 20 and result["parity_max_prob_diff"] == 0.0


def test_peak_rss_helper_measures_children():
    _, peak = _peak_rss_of([sys.executable, "-c", "b = bytearray(300 * 2**20)"])
    assert 300 * 2**20 < peak < 2 * 2**30
    assert resource.RUSAGE_CHILDREN  # (the helper relies on it)


def test_a_failed_download_is_named_as_one(capsys, monkeypatch, tmp_path):
    """The error event says it was the download and why, apart from the shell's advice ("pass --data-dir"):
    the app says what to do in its own form's terms ("choose Local folder")."""
    import torchvision

    class Offline:
        def __init__(self, *_a, **_k):
            raise OSError("<urlopen error [Errno -3] Temporary failure in name resolution>")

    monkeypatch.setattr(torchvision.datasets, "MNIST", Offline)
    rc, events, err = run_cli(capsys, *TINY, "--out", str(tmp_path / "m.onnx"))
    assert_one_line_error(rc, events, err, "could not download mnist")
    error = next(e for e in events if e["event"] == "error")
    assert error["kind"] == "download" and "Temporary failure in name resolution" in error["reason"]
    assert "--data-dir" not in error["reason"]
