"""The runs history: engine and app logs merged, damaged files skipped and named."""
from __future__ import annotations

import json

import pytest

from digitpad.client.history import list_runs, remove_temporaries


def test_history_merges_engine_and_app_records_and_skips_temporaries(tmp_path):
    cfg = {"arch": "seed001", "dataset": "mnist", "epochs": 2, "batch_size": 32, "limit": 300}
    hist = [{"epoch": 1, "test_accuracy": 0.5, "test_loss": 1.0, "train_loss": 1.2},
            {"epoch": 2, "test_accuracy": 0.6, "test_loss": 0.9, "train_loss": 1.0}]
    (tmp_path / "a.run.json").write_text(json.dumps({"config": cfg, "history": hist, "status": "completed",
                                                     "seconds": 12.0, "metrics": {"test_accuracy": 0.61}}))
    (tmp_path / "a.log.json").write_text(json.dumps({"status": "completed", "steps": [[1, 2.3, 0.1], [2, 2.0, 0.1]]}))
    (tmp_path / "b.log.json").write_text(json.dumps({"status": "stopped", "config": cfg, "history": hist[:1],
                                                     "steps": [[1, 2.3, 0.1]]}))
    (tmp_path / ".c.run.json.tmp123").write_text("{")
    (tmp_path / "broken.run.json").write_text("{not json")
    problems = []
    runs = {r.stem: r for r in list_runs(tmp_path, problems)}
    assert set(runs) == {"a", "b"} and problems == ["broken.run.json: Expecting property name enclosed in double "
                                                   "quotes: line 1 column 2 (char 1)"]
    a, b = runs["a"], runs["b"]
    assert a.status == "completed" and a.accuracy == 0.61 and a.seconds == 12.0
    curves = a.curves()
    assert curves["train_loss"] == ([1.0, 2.0], [2.3, 2.0]) and curves["test_accuracy"][1] == [0.5, 0.6]
    assert b.status == "stopped" and b.accuracy == 0.5
    # a run from a shell: no step log, so the training loss comes per epoch
    (tmp_path / "a.log.json").unlink()
    a = {r.stem: r for r in list_runs(tmp_path)}["a"]
    assert a.curves()["train_loss"] == ([10.0, 20.0], [1.2, 1.0])


def test_remove_temporaries(tmp_path):
    out = tmp_path / "m.onnx"
    for name in (".m.onnx.tmp42", ".m.ckpt.pt.tmp42", "keep.onnx"):
        (tmp_path / name).write_bytes(b"x")
    remove_temporaries(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.onnx"]


def test_wrong_typed_logs_cost_only_themselves(tmp_path):
    good = {"config": {"epochs": 1, "batch_size": 8}, "history": [{"epoch": 1, "test_accuracy": 0.7}]}
    (tmp_path / "good.run.json").write_text(json.dumps(good))
    for name, bad in {"list": [1, 2], "cfg": {"config": [1]}, "hist": {"history": {"epoch": 1}},
                      "epoch": {"history": [{"test_accuracy": 0.5}]}}.items():
        (tmp_path / f"{name}.run.json").write_text(json.dumps(bad))
    (tmp_path / "steps.log.json").write_text(json.dumps({"status": "stopped", "steps": [[1, "x", 0.1], [2, 1.0, 0.1]],
                                                        "seconds": "long"}))
    problems = []
    runs = {r.stem: r for r in list_runs(tmp_path, problems)}
    assert set(runs) == {"good", "steps"} and len(problems) == 4
    assert runs["steps"].steps == [(2.0, 1.0, 0.1)] and runs["steps"].seconds is None
    assert runs["good"].accuracy == 0.7


# -- hostile run logs ------------------------------------------------------------------------------
def _good(tmp_path, stem="good"):
    (tmp_path / f"{stem}.run.json").write_text(json.dumps({
        "config": {"arch": "seed001", "epochs": 1, "batch_size": 32}, "status": "completed",
        "history": [{"epoch": 1, "test_accuracy": 0.9}]}))


@pytest.mark.parametrize("content", [
    '{"config": {"epochs": ' + "9" * 400 + '}, "history": []}',
    '{"history": [{"epoch": 1, "test_accuracy": 1' + "0" * 400 + "}]}",
    '{"seconds": ' + "[" * 100_000 + "]" * 100_000 + "}",
    "[" * 100_000,
    '{"history": [{"epoch": 1e300, "test_accuracy": 0.5}]}',
    '{"history": [{"epoch": -Infinity}]}',
])
def test_numbers_and_nesting_in_a_run_log_skip_that_log_and_name_it(tmp_path, content):
    _good(tmp_path)
    (tmp_path / "bad.run.json").write_text(content)
    problems = []
    runs = list_runs(tmp_path, problems)
    assert [r.stem for r in runs] == ["good"]
    assert len(problems) == 1 and problems[0].startswith("bad.run.json: ") and "\n" not in problems[0]


def test_values_that_overflow_arithmetic_are_dropped_not_fatal(tmp_path):
    from digitpad.client.estimate import speed
    from digitpad.client.run_files import run_csv

    (tmp_path / "odd.run.json").write_text(json.dumps({
        "config": {"batch_size": 1e-300, "limit": 1e300, "synthetic": "lots", "extra_repeat": [1], "lr": 1e308,
                   "arch": "seed001"},
        "history": [{"epoch": 3, "test_accuracy": 0.5, "elapsed_s": 1e308}, {"epoch": 4, "elapsed_s": 2e308}],
        "seconds": 1e308, "n_train": 1e300}).replace("2e+308", "Infinity"))
    (tmp_path / "odd.log.json").write_text(json.dumps({"steps": [[1e300, 1.0, 0.1, 1e300], [1, float("nan"), 1]],
                                                       "finetune": {"digits": 1e300, "base": 7}}))
    run = list_runs(tmp_path)[0]
    assert "synthetic" not in run.config and "batch_size" not in run.config and run.steps_per_epoch == 0
    run_csv(run)
    speed(run)
    run.curves()
    run.curves("time")
    assert run.own_digits is not None and run.base_model is None


def test_nan_written_by_the_engine_for_a_diverged_run_keeps_the_run(tmp_path):
    (tmp_path / "div.run.json").write_text(json.dumps({"status": "completed", "history": [
        {"epoch": 1, "train_loss": float("nan"), "test_accuracy": 0.1}]}))
    run = list_runs(tmp_path)[0]
    assert run.history == [{"epoch": 1.0, "test_accuracy": 0.1}]


@pytest.mark.parametrize("kind", ["fifo", "dev_zero", "dangling", "loop", "folder"])
def test_special_files_named_like_run_logs(tmp_path, kind):
    from special_files import make_special, no_hang

    from digitpad.client.history import add_to_log

    _good(tmp_path)
    make_special(tmp_path / "odd.run.json", kind)
    make_special(tmp_path / "odd2.log.json", kind)
    problems = []
    runs = no_hang(lambda: list_runs(tmp_path, problems))
    assert [r.stem for r in runs] == ["good"] and len(problems) == 2
    assert not no_hang(lambda: add_to_log(tmp_path / "odd2.onnx", "finetune", {}))
