"""--resume: the same run goes on (identically after a stop), more epochs rebuild the schedule,
and every other change is refused in one line before any work."""
from __future__ import annotations

import json
import signal
import subprocess

import pytest
from train_helpers import REPO, TINY, assert_one_line_error, metadata, run_cli, run_train, train_cmd

from training import checkpoint
from training.cli import main

# With augmentation, a weight EMA and a mild last epoch, so all their state must survive a stop.
RECIPE = [*TINY, "--augment", "--mild-epochs", "1", "--seed", "3"]


def test_stopped_run_resumes_to_the_identical_model(tmp_path, small_mnist):
    straight = tmp_path / "straight.onnx"
    rc, events, err = run_train(*RECIPE, "--data-dir", str(small_mnist), "--out", str(straight))
    assert rc == 0, err

    out = tmp_path / "m.onnx"
    proc = subprocess.Popen(train_cmd(*RECIPE, "--data-dir", str(small_mnist), "--out", str(out), "--progress",
                                      "jsonl"), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = []
    for line in proc.stdout:   # stop as the loop starts: the run stops after its current step, mid-epoch
        first.append(json.loads(line))   # (step events are throttled, so one at a set step may never come)
        if first[-1]["event"] == "start":
            proc.send_signal(signal.SIGTERM)
            break
    first += [json.loads(line) for line in proc.stdout]
    assert proc.wait(timeout=60) == 0 and first[-1] == {**first[-1], "event": "done", "status": "stopped"}
    stopped = checkpoint.load(checkpoint.checkpoint_path(out))
    start = next(e for e in first if e["event"] == "start")
    assert stopped["epoch"] == 0 and stopped["step_in_epoch"] > 0 and stopped["run_id"] == start["run_id"]

    rc, events, err = run_train("--resume", "--out", str(out), "--data-dir", str(small_mnist))
    assert rc == 0, err
    assert events[0]["resumed"] is True and events[0]["run_id"] == start["run_id"]
    a, b = metadata(straight).training, metadata(out).training
    assert b["run_id"] == start["run_id"] != a["run_id"]
    assert b["weights_sha256"] == a["weights_sha256"], "a stop and --resume must not change the result"
    assert [h["test_accuracy"] for h in b["history"]] == [h["test_accuracy"] for h in a["history"]]
    # The stopped epoch's train loss and accuracy cover all of it, not only the part after the resume.
    assert stopped["epoch_sums"]["loss_n"] == stopped["step_in_epoch"]
    for key in ("train_accuracy", "train_loss"):
        assert [h[key] for h in b["history"]] == pytest.approx([h[key] for h in a["history"]], rel=1e-5), key


def test_more_epochs_rebuild_the_schedule(tiny_run, small_mnist, capsys):
    rc, events, err = run_cli(capsys, "--resume", "--out", str(tiny_run), "--epochs", "4", "--data-dir",
                              str(small_mnist))
    assert rc == 0, err
    assert ("--epochs 4 (the run had 2): the learning-rate schedule is rebuilt for 76 steps; "
            "continuing at step 38") in err
    start = events[0]
    assert start["total_steps"] == 76 and start["config"]["epochs"] == 4
    steps = [e for e in events if e["event"] == "step"]
    assert steps[0]["step"] == 39
    # onecycle over 76 steps: at step 39 of 76 the rate is past its peak (19) and still well above the floor.
    assert 1e-4 < steps[0]["lr"] < 3e-3
    assert [h["epoch"] for h in metadata(tiny_run).training["history"]] == [1, 2, 3, 4]


@pytest.mark.parametrize("flags, message", [
    (["--batch-size", "64"], "--batch-size 64 (the run has 32) cannot change"),
    (["--arch", "digitpad-s"], "--arch digitpad-s (the run has seed001) cannot change"),
    (["--dataset", "fashion-mnist"], "--dataset fashion-mnist (the run has mnist) cannot change"),
    (["--lr", "0.1", "--ema", "0"], "--lr 0.1 (the run has 0.003), --ema 0.0 (the run has 0.9) cannot change"),
    (["--limit", "100"], "--limit 100 (the run has 600) cannot change"),
    (["--no-augment"], None),  # the run's own value: not a change
    (["--augment"], "--augment (the run has --no-augment) cannot change"),
    (["--preset", "fast"], "--preset does not go with --resume"),
    (["--epochs", "1"], "--epochs 1: the run has already finished 2 epochs"),
])
def test_other_changes_are_refused_before_any_work(tiny_run, small_mnist, capsys, flags, message):
    ckpt = checkpoint.checkpoint_path(tiny_run)
    before = ckpt.read_bytes(), tiny_run.read_bytes()
    rc, events, err = run_cli(capsys, "--resume", "--out", str(tiny_run), "--data-dir", str(small_mnist), *flags)
    if message is None:
        assert rc == 0, err
        return
    assert_one_line_error(rc, events, err, message)
    assert [e["event"] for e in events] == ["error"]
    assert (ckpt.read_bytes(), tiny_run.read_bytes()) == before


def test_resume_with_other_data_is_refused(tiny_run, tmp_path, capsys):
    import numpy as np
    from train_helpers import write_mnist

    other = write_mnist(tmp_path / "other", (np.zeros((300, 28, 28)), np.zeros(300)),
                        (np.zeros((50, 28, 28)), np.zeros(50)))
    rc, events, err = run_cli(capsys, "--resume", "--out", str(tiny_run), "--data-dir", str(other), "--epochs", "3")
    assert_one_line_error(rc, events, err, "the training data now has 300 images, the run's had 600")


def test_resume_of_a_finished_run_re_exports_it(tiny_run, small_mnist):
    tiny_run.unlink()
    assert main(["--resume", "--out", str(tiny_run), "--data-dir", str(small_mnist), "--progress", "none"]) == 0
    assert metadata(tiny_run).training["weights_sha256"] == checkpoint.load(
        checkpoint.checkpoint_path(tiny_run))["weights_sha256"]


def test_resume_on_another_device_type_is_refused(tiny_run, small_mnist, capsys):
    import torch

    path = checkpoint.checkpoint_path(tiny_run)
    ckpt = torch.load(path, weights_only=True)
    ckpt["device"], ckpt["aug_rng"] = "cuda", torch.zeros(16, dtype=torch.uint8)
    ckpt["sha256"] = checkpoint.file_digest(ckpt)
    torch.save(ckpt, path)
    rc, events, err = run_cli(capsys, "--resume", "--out", str(tiny_run), "--data-dir", str(small_mnist),
                              "--device", "cpu", "--epochs", "3")
    assert_one_line_error(rc, events, err, "this run trained on cuda; resume it with --device cuda")
