"""A run's files renamed, deleted and exported together; the time a run will take, from past runs."""
from __future__ import annotations

import csv
import io
import json
import os

import pytest

from digitpad.client import estimate as estimate_module
from digitpad.client.history import add_to_log, list_runs
from digitpad.client.run_files import RunFileError, delete_run, name_problem, rename_run, run_csv, write_csv
from digitpad.client.run_settings import RunSettings
from digitpad.client.state import RunState, plural
from digitpad.core.paths import RunFiles

CFG = {"arch": "digitpad-s", "dataset": "mnist", "epochs": 2, "batch_size": 100, "limit": 1000, "augment": False}


def _run(folder, stem="run", steps=True):
    files = RunFiles(folder / f"{stem}.onnx")
    files.model.write_bytes(b"model")
    files.checkpoint.write_bytes(b"ckpt")
    hist = [{"epoch": 1, "test_accuracy": 0.9, "test_loss": 0.3, "train_loss": 0.5, "lr": 0.01, "elapsed_s": 4.0},
            {"epoch": 2, "test_accuracy": 0.95, "test_loss": 0.2, "train_loss": 0.3, "lr": 0.001, "elapsed_s": 7.0,
             "train_accuracy": 0.96}]
    files.run_log.write_text(json.dumps({"config": CFG, "history": hist, "status": "completed", "seconds": 7.5,
                                         "model": files.model.name, "checkpoint": files.checkpoint.name}))
    if steps:   # 10 steps an epoch; 0.25 s a step; the test takes 0.5 s after each epoch's last step
        rows = [[s, 1.0 / s, 0.01, 1.0 + 0.25 * s + (0.5 if s > 10 else 0)] for s in range(1, 21)]
        files.app_log.write_text(json.dumps({"status": "completed", "steps": rows, "n_train": 1000,
                                             "model": files.model.name}))
    return files


def _written(files: RunFiles) -> list:
    """The files ``_run`` writes (a PyTorch run: no NumPy checkpoint)."""
    return [files.model, files.checkpoint, files.run_log, files.app_log]


def test_rename_moves_every_file_and_keeps_the_logs_true(tmp_path):
    old = _run(tmp_path)
    new = rename_run(old.model, "better name")
    assert not any(p.exists() for p in old.all()) and all(p.exists() for p in _written(new))
    assert json.loads(new.run_log.read_text())["model"] == "better name.onnx"
    assert json.loads(new.run_log.read_text())["checkpoint"] == "better name.ckpt.pt"
    run = list_runs(tmp_path)[0]
    assert run.stem == "better name" and len(run.steps) == 20 and run.accuracy == 0.95


@pytest.mark.parametrize("name, words", [("", "empty"), ("a/b", "letters"), (".hidden", "hidden"),
                                         ("x.onnx", "without"), (" pad", "space")])
def test_bad_names_are_refused_with_a_reason(tmp_path, name, words):
    old = _run(tmp_path)
    assert words in name_problem(name)
    with pytest.raises(RunFileError):
        rename_run(old.model, name)
    assert all(p.exists() for p in _written(old))


def test_rename_never_overwrites_and_undoes_a_half_done_rename(tmp_path, monkeypatch):
    old = _run(tmp_path)
    other = _run(tmp_path, "taken", steps=False)
    with pytest.raises(RunFileError, match="a model named taken already exists"):
        rename_run(old.model, "taken")
    assert all(p.exists() for p in _written(old)) and other.model.read_bytes() == b"model"
    real_rename, calls = os.rename, []

    def failing(src, dst):
        calls.append(src)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", failing)
    with pytest.raises(RunFileError, match="No space left"):
        rename_run(old.model, "fresh")
    monkeypatch.setattr(os, "rename", real_rename)
    assert all(p.exists() for p in _written(old)) and not list(tmp_path.glob("fresh*"))


def test_delete_removes_the_whole_run_and_its_leftovers(tmp_path):
    files = _run(tmp_path)
    (tmp_path / ".run.onnx.tmp123").write_bytes(b"half")
    keep = _run(tmp_path, "keep")
    removed = delete_run(files.model)
    assert len(removed) == 5 and sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in _written(keep))


def test_csv_holds_the_step_curve_and_the_epoch_records(tmp_path):
    _run(tmp_path)
    run = list_runs(tmp_path)[0]
    rows = list(csv.DictReader(io.StringIO(run_csv(run))))
    steps = [r for r in rows if r["kind"] == "step"]
    epochs = [r for r in rows if r["kind"] == "epoch"]
    assert len(steps) == 20 and len(epochs) == 2
    assert steps[0]["step"] == "1" and float(steps[0]["loss"]) == 1.0 and steps[10]["epoch"] == "2"
    assert float(steps[-1]["elapsed_s"]) == pytest.approx(1.0 + 5.0 + 0.5)
    assert epochs[1]["step"] == "20" and float(epochs[1]["test_accuracy"]) == 0.95
    assert float(epochs[1]["train_accuracy"]) == 0.96 and epochs[0]["train_accuracy"] == ""
    out = tmp_path / "x.csv"
    assert write_csv(run, out) == 22 and out.read_text().startswith("kind,epoch,step")


def test_time_axis_uses_each_steps_time_or_the_epochs(tmp_path):
    _run(tmp_path)
    run = list_runs(tmp_path)[0]
    xs, _ = run.curves("time")["train_loss"]
    assert xs[0] == pytest.approx(1.25) and xs[-1] == pytest.approx(6.5)
    assert run.curves("time")["test_accuracy"][0] == [4.0, 7.0]
    assert run.curves()["train_accuracy"] == ([2.0], [0.96])
    RunFiles(tmp_path / "run.onnx").app_log.unlink()   # a run from a shell: interpolated between epoch ends
    run = list_runs(tmp_path)[0]
    xs, _ = run.curves("time")["train_loss"]
    assert xs == [pytest.approx(4.0), pytest.approx(7.0)]   # its per-epoch points, at the epochs' times


def test_a_finetune_is_told_apart_with_the_time_the_user_waited(tmp_path):
    files = _run(tmp_path, "default-mine-1")
    log = json.loads(files.run_log.read_text())
    log["config"] = {**CFG, "init": "/somewhere/default.onnx", "extra": ["/tmp/.finetune-x.npz"], "extra_repeat": 10}
    files.run_log.write_text(json.dumps(log))
    run = list_runs(tmp_path)[0]
    assert run.base_model == "default" and run.own_digits == 0 and run.duration == 7.5   # n_train 1000 = limit
    assert add_to_log(files.model, "finetune", {"base": "default.onnx", "digits": 30, "seconds": 41.0,
                                                "before": 0.5, "after": float("nan")})
    run = list_runs(tmp_path)[0]
    assert run.own_digits == 30 and run.duration == 41.0 and "after" not in run.finetune


def test_step_times_survive_the_app_log(tmp_path):
    st = RunState(out=tmp_path / "m.onnx")
    st.feed({"event": "start", "total_steps": 2, "config": {"epochs": 1}})
    for s in (1, 2):
        st.feed({"event": "step", "step": s, "loss": 1.0, "lr": 0.1, "elapsed_s": 2.0 * s})
    st.feed({"event": "epoch", "epoch": 1, "test_accuracy": 0.5, "train_accuracy": 0.6, "elapsed_s": 5.0})
    rec = st.log_record()
    assert rec["steps"] == [[1, 1.0, 0.1, 2.0], [2, 1.0, 0.1, 4.0]] and rec["history"][0]["train_accuracy"] == 0.6


def test_plural():
    assert plural(1, "epoch") == "1 epoch" and plural(2, "epoch") == "2 epochs" and plural(0, "run") == "0 runs"
    assert plural(1000, "image") == "1,000 images" and plural(1, "of your digits", "of your digits") == \
        "1 of your digits"


def test_estimate_comes_from_this_machines_runs(tmp_path):
    _run(tmp_path)
    runs = list_runs(tmp_path)
    s = RunSettings.from_preset("fast")          # digitpad-s, 1 epoch of 60,000, no augmentation
    found = estimate_module.estimate(s, runs)
    # 100 images per 0.25 s = 400 images/s while training; 1.0 s to start; 0.5 s testing an epoch
    assert found.rate == pytest.approx(400) and found.runs == 1 and found.same_augment
    assert found.seconds == pytest.approx(1.0 + 60_000 / 400 + 0.5, rel=0.01)
    s.epochs = 3
    assert estimate_module.estimate(s, runs).seconds == pytest.approx(1.0 + 3 * (150 + 0.5), rel=0.01)
    s.arch = "seed000"
    assert estimate_module.estimate(s, runs) is None       # never ran here: no number is made up
    s = RunSettings.from_preset("default")
    drawn, real_writers, non_digits = 20_000 + 10_000, 4 * 4_898, 20_000
    per_epoch = estimate_module.samples_per_epoch(estimate_module.run_config(s))
    assert per_epoch == 60_000 + drawn + real_writers + non_digits
