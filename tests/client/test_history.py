"""The runs history: engine and app logs merged, damaged files skipped and named."""
from __future__ import annotations

import json

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
