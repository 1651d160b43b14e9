"""digitpad-train as a user and the app run it: a real subprocess on real MNIST."""
import json
import re
import signal
import subprocess

import pytest
from train_helpers import REPO, metadata, read_until, run_train, train_cmd

from training.cli import main

SMALL = ["--arch", "seed001", "--batch-size", "32", "--threads", "1", "--synthetic", "0", "--restroke", "0",
         "--real-writers", "0", "--nondigits", "0"]


def test_tiny_run_learns_and_streams_events_in_order(tmp_path, mnist_dir):
    out = tmp_path / "m.onnx"
    rc, events, stderr = run_train(*SMALL, "--limit", "600", "--epochs", "2", "--lr", "3e-3",
                                   "--no-augment", "--data-dir", str(mnist_dir), "--out", str(out))
    assert rc == 0, stderr
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[-2:] == ["exported", "done"]
    assert [e["epoch"] for e in events if e["event"] == "epoch"] == [1, 2]
    assert kinds.index("epoch") > kinds.index("step")
    steps = [e["step"] for e in events if e["event"] == "step"]
    assert steps == sorted(steps) and steps[-1] == events[0]["total_steps"]
    final = [e for e in events if e["event"] == "epoch"][-1]
    # 600 real digits, 2 epochs: far above the 10% of chance on the 10,000 test images.
    assert final["test_accuracy"] > 0.6
    # Train accuracy beside test: the running share of the epoch's batches it got right, so the
    # second epoch (trained all through) is above the first (which began from random weights).
    first = [e for e in events if e["event"] == "epoch"][0]
    assert 0.0 <= first["train_accuracy"] < final["train_accuracy"] <= 1.0
    assert out.is_file() and out.with_suffix(".ckpt.pt").is_file() and out.with_suffix(".run.json").is_file()
    meta = metadata(out)
    assert meta.metrics["test_accuracy"] == pytest.approx(final["test_accuracy"])
    assert meta.metrics["train_accuracy"] == pytest.approx(final["train_accuracy"])
    assert meta.metrics["parity_top1_agreement"] == 1.0
    assert meta.training["config"]["limit"] == 600 and meta.training["device"] == "cpu"
    run_log = json.loads(out.with_suffix(".run.json").read_text())
    assert [h["epoch"] for h in run_log["history"]] == [1, 2]


@pytest.mark.parametrize("args, message", [
    (["--arch", "resnet9000"], "unknown arch 'resnet9000'"),
    (["--dataset", "svhn"], "unknown dataset 'svhn'"),
    (["--lr", "-1"], "--lr must be in"),
    (["--epochs", "0", "--batch-size", "0"], "--epochs must be >= 1 .*--batch-size must be >= 1"),
    (["--device", "cuda"], "no CUDA GPU is available"),
    (["--preset", "nope"], "unknown preset 'nope'"),
    (["--data-dir", "/nonexistent/data"], "data folder /nonexistent/data does not exist"),
    (["--resume", "/nonexistent/x.ckpt.pt"], "checkpoint /nonexistent/x.ckpt.pt not found"),
    (["--ema", "1"], "--ema must be in"),
    (["--mild-epochs", "-1", "--mild-strength", "2"], "--mild-epochs must be >= 0.*--mild-strength must be in"),
])
def test_bad_input_one_clear_line_and_nothing_written(tmp_path, mnist_dir, capsys, args, message):
    if "--device" in args:
        import torch

        if torch.cuda.is_available():
            pytest.skip("this machine has CUDA")
    out = tmp_path / "m.onnx"
    base = ["--data-dir", str(mnist_dir)] if "--data-dir" not in args else []
    # In-process (the same main() the console script calls): saves a torch import per case.
    rc = main([*SMALL, "--limit", "64", "--epochs", "1", *base, *args, "--out", str(out), "--progress", "jsonl"])
    captured = capsys.readouterr()
    stderr, events = captured.err, [json.loads(line) for line in captured.out.splitlines()]
    assert rc != 0
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("digitpad-train: error:"), stderr
    assert re.search(message, lines[0]), lines[0]
    assert events[-1]["event"] == "error" and re.search(message, events[-1]["message"])
    assert list(tmp_path.iterdir()) == []


def test_unwritable_output_fails_before_training(tmp_path, mnist_dir):
    blocker = tmp_path / "file"
    blocker.write_text("")
    rc, events, stderr = run_train(*SMALL, "--limit", "64", "--epochs", "1", "--data-dir", str(mnist_dir),
                                   "--out", str(blocker / "m.onnx"))
    assert rc != 0 and "cannot write to" in stderr
    assert [e["event"] for e in events] == ["error"]


def test_corrupt_data_is_an_error_event(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte"):
        (raw / name).write_bytes(b"\x00\x00\x08\x03garbage")
    rc, events, stderr = run_train(*SMALL, "--data-dir", str(tmp_path), "--out", str(tmp_path / "m.onnx"))
    assert rc != 0 and "truncated" in stderr
    assert events[-1]["event"] == "error"
    assert not (tmp_path / "m.onnx").exists()


def test_lists():
    archs = subprocess.run(train_cmd("--list-archs"), cwd=REPO, capture_output=True, text=True, check=True)
    for name in ("digitpad", "seed001", "seed002", "seed000"):
        assert name in archs.stdout
    assert "9,098 params" in archs.stdout  # seed001
    presets = subprocess.run(train_cmd("--list-presets"), cwd=REPO, capture_output=True, text=True, check=True)
    assert "fast" in presets.stdout and "default" in presets.stdout


def _start(args, mnist_dir):
    return subprocess.Popen(train_cmd(*SMALL, "--data-dir", str(mnist_dir), *args, "--progress", "jsonl"),
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_killed_run_resumes_from_its_last_checkpoint(tmp_path, mnist_dir):
    out = tmp_path / "m.onnx"
    # With a weight EMA and a mild last epoch, so their state must survive the kill too.
    args = ["--limit", "2000", "--epochs", "3", "--lr", "3e-3", "--ema", "0.9", "--mild-epochs", "1",
            "--out", str(out)]
    proc = _start(args, mnist_dir)
    read_until(proc, lambda e: e["event"] == "epoch" and e["epoch"] == 1)
    proc.kill()  # no chance to clean up: like a crash or an OOM kill
    proc.wait()
    assert not out.exists() and out.with_suffix(".ckpt.pt").is_file()

    rc, events, stderr = run_train(*SMALL, "--data-dir", str(mnist_dir), "--resume", "--out", str(out))
    assert rc == 0, stderr
    start = events[0]
    assert start["resumed"] is True and start["total_steps"] == 3 * 63
    assert [e["epoch"] for e in events if e["event"] == "epoch"][0] >= 2
    first_step = next(e["step"] for e in events if e["event"] == "step")
    assert first_step > 63, "resume must not start again from step 1"
    assert out.is_file()
    history = json.loads(out.with_suffix(".run.json").read_text())["history"]
    assert [h["epoch"] for h in history] == [1, 2, 3]
    assert history[-1]["test_accuracy"] > 0.8

    # The EMA weights are the model: exporting the checkpoint again gives the run's own figure.
    again = tmp_path / "again.onnx"
    rc, events, stderr = run_train("export", str(out.with_suffix(".ckpt.pt")), "--out", str(again),
                                   "--data-dir", str(mnist_dir), "--progress", "jsonl")
    assert rc == 0, stderr
    assert events[0]["metrics"]["test_accuracy"] == pytest.approx(history[-1]["test_accuracy"])


def test_sigterm_stops_after_the_step_and_resume_finishes(tmp_path, mnist_dir):
    out = tmp_path / "m.onnx"
    proc = _start(["--limit", "4000", "--epochs", "2", "--out", str(out)], mnist_dir)
    read_until(proc, lambda e: e["event"] == "step" and e["step"] >= 20)
    proc.send_signal(signal.SIGTERM)
    rest = [json.loads(line) for line in proc.stdout]
    assert proc.wait(timeout=60) == 0
    done = rest[-1]
    assert done["event"] == "done" and done["status"] == "stopped"
    assert not out.exists(), "a stopped run is not exported by itself"

    # The app offers to export the stopped run's checkpoint as it is.
    partial = tmp_path / "partial.onnx"
    rc, events, stderr = run_train("export", str(out.with_suffix(".ckpt.pt")), "--out", str(partial),
                                   "--data-dir", str(mnist_dir), "--progress", "jsonl")
    assert rc == 0, stderr
    assert [e["event"] for e in events] == ["exported", "done"]
    meta = metadata(partial)
    assert meta.training["partial"] is True

    rc, events, stderr = run_train(*SMALL, "--data-dir", str(mnist_dir), "--resume", "--out", str(out))
    assert rc == 0, stderr
    assert next(e["step"] for e in events if e["event"] == "step") > 20
    assert events[-1]["status"] == "completed" and out.is_file()


# -- what a run without --preset means (issue 14) ------------------------------------------------------
def _events(capsys, *argv):
    rc = main([*argv, "--progress", "jsonl"])
    captured = capsys.readouterr()
    return rc, [json.loads(line) for line in captured.out.splitlines()], captured.err


def test_flags_without_a_preset_are_the_plain_defaults_plus_the_flags(tmp_path, small_mnist, capsys):
    rc, events, err = _events(capsys, "--arch", "seed001", "--epochs", "1", "--limit", "600", "--threads", "1",
                              "--data-dir", str(small_mnist), "--out", str(tmp_path / "m.onnx"))
    assert rc == 0, err
    start = events[0]
    assert start["preset"] is None and re.fullmatch(r"[0-9a-f]{32}", start["run_id"])
    cfg = start["config"]
    assert (cfg["arch"], cfg["epochs"], cfg["synthetic"], cfg["restroke"], cfg["augment"], cfg["ema"],
            cfg["label_smoothing"], cfg["mild_epochs"]) == ("seed001", 1, 0, 0, False, 0.0, 0.0, 0)
    assert start["n_train"] == 600 and start["total_samples"] == 600
    assert all(e["samples_per_s"] > 0 for e in events if e["event"] == "step")
    assert "drawing" not in err


def test_a_named_preset_applies_and_flags_override_it(tmp_path, small_mnist, capsys):
    rc, events, err = _events(capsys, "--preset", "default", "--arch", "seed001", "--epochs", "1", "--limit", "200",
                              "--synthetic", "30", "--restroke", "0", "--nondigits", "0", "--real-writers", "0",
                              "--threads", "1", "--data-dir", str(small_mnist), "--out", str(tmp_path / "m.onnx"))
    assert rc == 0, err
    start = next(e for e in events if e["event"] == "start")
    cfg = start["config"]
    assert start["preset"] == "default"
    assert (cfg["augment"], cfg["ema"], cfg["label_smoothing"], cfg["mild_epochs"]) == (True, 0.999, 0.05, 3)
    assert (cfg["synthetic"], cfg["restroke"], cfg["nondigits"], start["n_train"]) == (30, 0, 0, 230)
    # Drawing the synthetic digits says what it does, with progress events before the run starts.
    drawing = [e for e in events if e["event"] == "progress"]
    assert drawing and drawing[0]["task"] == "drawing digits" and drawing[0]["done"] == 0
    assert drawing[-1]["done"] == drawing[-1]["total"] == 30 and drawing[-1]["eta_s"] == 0
    assert events.index(drawing[-1]) < events.index(start)
    assert "drawing 30 digits from the stroke templates" in err


def test_drawing_progress_is_a_bar_for_people(tmp_path, small_mnist):
    proc = subprocess.run(train_cmd("--arch", "seed001", "--epochs", "1", "--limit", "100", "--synthetic", "20",
                                    "--data-dir", str(small_mnist), "--out", str(tmp_path / "m.onnx"),
                                    "--progress", "bar"), cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "drawing digits" in proc.stderr and "20/20" in proc.stderr and proc.stdout == ""


def test_help_names_the_default_and_presets_promise_no_times():
    proc = subprocess.run(train_cmd("--help"), cwd=REPO, capture_output=True, text=True, check=True)
    text = " ".join(proc.stdout.split())
    assert "Without --preset a run is the plain defaults below plus your flags" in text
    assert "--preset default is the shipped model's recipe" in text and "default: none" in text
    listing = subprocess.run(train_cmd("--list-presets"), cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert "1 x 60,000 = 60,000 samples" in listing  # fast
    assert not re.search(r"about \d+ ?s|minute", listing)
