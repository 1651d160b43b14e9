"""digitpad-train --engine numpy: a real subprocess on the real UCI 8x8 digits, as the app runs it."""
from __future__ import annotations

import io
import json
import re
import signal
import subprocess
import sys

import numpy as np
import pytest
from train_helpers import REPO, metadata, read_until, run_train, train_cmd

from digitpad.core import contract
from digitpad.core.inference import Predictor
from training.scratch import checkpoint
from training.scratch.net import build

QUICK = ["--engine", "numpy", "--epochs", "2"]


def test_seed004_preset_learns_exports_and_streams_events(tmp_path, mnist_dir):
    out = tmp_path / "s4.onnx"
    rc, events, stderr = run_train("--preset", "seed004", "--epochs", "3", "--data-dir", str(mnist_dir),
                                   "--out", str(out))
    assert rc == 0, stderr
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[-2:] == ["exported", "done"]
    start = events[0]
    assert start["engine"] == "numpy" and start["n_train"] == 3823 and start["n_test"] == 1797
    assert start["steps_per_epoch"] == 60 and start["total_steps"] == 180 and start["params"] == 2450
    assert [e["epoch"] for e in events if e["event"] == "epoch"] == [1, 2, 3]
    steps = [e["step"] for e in events if e["event"] == "step"]
    assert steps == sorted(steps) and steps[-1] == 180
    final = [e for e in events if e["event"] == "epoch"][-1]
    assert final["test_accuracy"] > 0.85   # 3 epochs of the seed's recipe; 30 reach about 96%
    assert out.is_file() and out.with_suffix(".ckpt.npz").is_file() and out.with_suffix(".run.json").is_file()
    assert not out.with_suffix(".ckpt.pt").exists()

    meta = metadata(out)
    assert meta.input_spec == contract.OPTDIGITS_INPUT and meta.dataset == "optdigits" and meta.arch == "seed004"
    assert meta.metrics["test_accuracy"] == pytest.approx(final["test_accuracy"])
    first = [e for e in events if e["event"] == "epoch"][0]
    assert 0.0 <= first["train_accuracy"] < final["train_accuracy"] <= 1.0   # running, as the PyTorch engine's
    assert meta.metrics["train_accuracy"] == pytest.approx(final["train_accuracy"])
    assert meta.metrics["parity_top1_agreement"] == 1.0 and meta.metrics["parity_max_prob_diff"] < 1e-5
    assert meta.training["engine"] == "numpy" and meta.training["run_id"] == start["run_id"]
    assert "torch" not in meta.training["versions"]
    assert [layer.name for layer in meta.layers] == ["conv1"] and meta.layers[0].kernel == "conv1.weight"

    # The app opens it like any other model.
    p = Predictor(out)
    assert p.input_size == 8 and p.preprocessing == "optdigits"
    r = p.predict(np.zeros((8, 8), np.float32))
    assert r.activations["conv1"].shape == (4, 8, 8) and p.kernels("conv1").shape == (4, 1, 3, 3)
    run_log = json.loads(out.with_suffix(".run.json").read_text())
    assert run_log["engine"] == "numpy" and [h["epoch"] for h in run_log["history"]] == [1, 2, 3]


def test_the_numpy_path_never_imports_torch(tmp_path, mnist_dir):
    code = (
        "import sys\n"
        "from training.cli import main\n"
        f"rc = main(['--engine', 'numpy', '--dataset', 'optdigits', '--epochs', '1', '--limit', '500',"
        f" '--data-dir', {str(mnist_dir)!r}, '--out', {str(tmp_path / 'n.onnx')!r}, '--progress', 'none'])\n"
        f"rc = rc or main(['export', {str(tmp_path / 'n.ckpt.npz')!r}, '--out', {str(tmp_path / 'again.onnx')!r},"
        f" '--data-dir', {str(mnist_dir)!r}, '--progress', 'none'])\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'torchvision'))\n"
        "print('TORCH', loaded)\n"
        "sys.exit(rc)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "TORCH []" in proc.stdout
    assert (tmp_path / "n.onnx").is_file() and (tmp_path / "again.onnx").is_file()


def _start(args):
    return subprocess.Popen(train_cmd(*args, "--progress", "jsonl"), cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_killed_run_resumes_with_its_run_id(tmp_path, mnist_dir):
    out = tmp_path / "m.onnx"
    proc = _start([*QUICK, "--epochs", "100", "--data-dir", str(mnist_dir), "--out", str(out)])
    first = read_until(proc, lambda e: e["event"] == "epoch" and e["epoch"] == 1)
    proc.kill()   # no chance to clean up: like a crash
    proc.wait()
    assert not out.exists() and checkpoint.checkpoint_path(out).is_file()
    done = checkpoint.load(checkpoint.checkpoint_path(out))["meta"]["epoch"]   # epochs finished before the kill
    rc, events, stderr = run_train("--resume", "--out", str(out), "--epochs", str(done + 1))
    assert rc == 0, stderr
    assert events[0]["resumed"] is True and events[0]["run_id"] == first[0]["run_id"]
    assert next(e["step"] for e in events if e["event"] == "step") > 60 * done, "resume must not start over"
    history = json.loads(out.with_suffix(".run.json").read_text())["history"]
    assert [h["epoch"] for h in history] == list(range(1, done + 2))
    assert metadata(out).training["run_id"] == first[0]["run_id"]


def test_sigterm_stops_after_the_step_then_export_and_resume(tmp_path, mnist_dir):
    out = tmp_path / "m.onnx"
    proc = _start([*QUICK, "--epochs", "200", "--batch-size", "8", "--data-dir", str(mnist_dir), "--out", str(out)])
    read_until(proc, lambda e: e["event"] == "step" and e["step"] >= 20)
    proc.send_signal(signal.SIGTERM)
    rest = [json.loads(line) for line in proc.stdout]
    stderr = proc.stderr.read()
    assert proc.wait(timeout=60) == 0
    assert rest[-1]["event"] == "done" and rest[-1]["status"] == "stopped"
    assert "continue with --resume" in stderr and not out.exists()
    ckpt = checkpoint.load(checkpoint.checkpoint_path(out))
    epoch, stopped_at = ckpt["meta"]["epoch"], ckpt["meta"]["step_in_epoch"]
    assert stopped_at > 0 and ckpt["perm"] is not None   # mid-epoch: the epoch's order is kept
    assert ckpt["ema"] is not None and ckpt["meta"]["ema_n"] == epoch * 478 + stopped_at   # the EMA goes on
    sums = ckpt["meta"]["epoch_sums"]   # the epoch's running figures so far: the resumed epoch reports all of it
    assert sums["loss_n"] == stopped_at and sums["seen"] == stopped_at * 8 and 0 <= sums["correct"] <= sums["seen"]

    partial = tmp_path / "partial.onnx"
    rc, events, stderr = run_train("export", str(checkpoint.checkpoint_path(out)), "--out", str(partial))
    assert rc == 0, stderr
    assert [e["event"] for e in events] == ["exported", "done"] and metadata(partial).training["partial"] is True

    rc, events, stderr = run_train("--resume", str(checkpoint.checkpoint_path(out)), "--out", str(out),
                                   "--epochs", str(epoch + 1))   # finish the interrupted epoch only
    assert rc == 0, stderr
    assert next(e["step"] for e in events if e["event"] == "step") == epoch * 478 + stopped_at + 1
    assert events[-1]["status"] == "completed" and out.is_file()


def test_checkpoint_round_trip_and_weights_hash():
    net = build("seed004", (1, 8, 8), seed=1)
    state = net.state()
    h = checkpoint.weights_sha256(state)
    assert h == checkpoint.weights_sha256(dict(reversed(list(state.items()))))   # order of the dict: no matter
    renamed = {("x" + k if k == "fc2.bias" else k): v for k, v in state.items()}
    reshaped = {**state, "fc2.bias": state["fc2.bias"].reshape(2, 5)}
    widened = {**state, "fc2.bias": state["fc2.bias"].astype(np.float64)}
    assert len({h, *(checkpoint.weights_sha256(s) for s in (renamed, reshaped, widened))}) == 4


def _write_npz(path, **arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    path.write_bytes(buf.getvalue())


@pytest.mark.parametrize("damage, message", [
    ("garbage", "not a NumPy-engine checkpoint, or it is damaged"),
    ("pickle", "unreadable"),
    ("no_meta", "no meta record"),
    ("flipped_weight", "the weights do not match their sha256"),
    ("bad_epoch", "bad epoch"),
])
def test_damaged_checkpoint_is_one_clear_line(tmp_path, mnist_dir, damage, message):
    good = tmp_path / "good.onnx"
    rc, _, stderr = run_train(*QUICK, "--epochs", "1", "--limit", "300", "--data-dir", str(mnist_dir),
                              "--out", str(good))
    assert rc == 0, stderr
    with np.load(checkpoint.checkpoint_path(good), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    bad = tmp_path / "bad.ckpt.npz"
    if damage == "garbage":
        bad.write_bytes(b"PK\x03\x04 not really a zip")
    elif damage == "pickle":
        _write_npz(bad, meta=np.array([{"evil": 1}], dtype=object))
    elif damage == "no_meta":
        _write_npz(bad, **{k: v for k, v in arrays.items() if k != "meta"})
    elif damage == "flipped_weight":
        arrays["weights/fc1.weight"] = arrays["weights/fc1.weight"].copy()
        arrays["weights/fc1.weight"][0, 0] += 1.0
        _write_npz(bad, **arrays)
    elif damage == "bad_epoch":
        meta = json.loads(str(arrays["meta"]))
        meta["epoch"] = -3
        _write_npz(bad, **{**arrays, "meta": np.array(json.dumps(meta))})
    rc, events, stderr = run_train("--resume", str(bad), "--out", str(tmp_path / "r.onnx"))
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert rc == 2 and len(lines) == 1 and message in lines[0], stderr
    assert events[-1]["event"] == "error"


@pytest.mark.parametrize("args, message", [
    (["--optimizer", "adamw"], "plain SGD: --optimizer sgd"),
    (["--augment"], "the NumPy engine has no --augment"),
    (["--label-smoothing", "0.1", "--schedule", "onecycle"], "--schedule is constant or cosine.*no --label-smoo"),
    (["--momentum", "0.9"], "plain SGD: --optimizer sgd --momentum 0 \\(not sgd with momentum 0.9\\)"),
    (["--arch", "digitpad"], "builds seed004"),
    (["--dataset", "optdigits", "--synthetic", "10"],
     "--synthetic, --restroke, --real-writers, --nondigits and --extra add 28x28 images"),
])
def test_what_the_numpy_engine_does_not_do_is_said_before_training(tmp_path, mnist_dir, args, message):
    rc, events, stderr = run_train(*QUICK, "--data-dir", str(mnist_dir), *args, "--out", str(tmp_path / "m.onnx"))
    assert rc == 2 and events == [{"event": "error", "message": events[0]["message"]}]
    assert re.search(message, events[0]["message"]), events[0]["message"]
    assert list(tmp_path.iterdir()) == []


def test_run_files_know_the_numpy_checkpoint(tmp_path):
    from digitpad.core.paths import RunFiles

    files = RunFiles.of(checkpoint.checkpoint_path(tmp_path / "net.onnx"))
    assert files.model == tmp_path / "net.onnx" and files.numpy_checkpoint == tmp_path / "net.ckpt.npz"
    assert files.numpy_checkpoint in files.all()
    (tmp_path / ".net.ckpt.npz.tmp123").write_bytes(b"")
    assert files.temporaries() == [tmp_path / ".net.ckpt.npz.tmp123"]
