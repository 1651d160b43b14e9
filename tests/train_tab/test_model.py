"""The Qt-free half of the Train tab: settings, command lines, run state, history."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from digitpad.client import runs as model
from digitpad.client.runs import RunSettings, RunState, list_runs, parse_list_archs

REPO = Path(__file__).resolve().parents[2]


def test_parse_list_archs():
    text = "digitpad     141,418 params  default: 4 conv\nnoise\nseed001        9,098 params  tiny (seed 001)\n"
    assert parse_list_archs(text) == [model.ArchInfo("digitpad", 141418, "default: 4 conv"),
                                      model.ArchInfo("seed001", 9098, "tiny (seed 001)")]


def test_the_tab_asks_the_engine_for_archs_and_cuda(tab, qtbot):
    """The static table shown before the engine answers must not lie; CUDA is greyed out
    with a reason when absent (found without importing torch here)."""
    with qtbot.waitSignal(tab.arch_lister.ready, timeout=120_000) as archs:
        tab.start_probes()
    assert {(a.name, a.params) for a in archs.args[0]} == {(a.name, a.params) for a in model.KNOWN_ARCHS}
    assert tab.arch.count() == len(archs.args[0]) and "params" in tab.arch.itemText(0)
    qtbot.waitUntil(lambda: tab.device_probe.available is not None, timeout=120_000)
    cuda = tab.device.model().item(model.DEVICES.index("cuda"))
    assert cuda.isEnabled() == tab.device_probe.available
    if not tab.device_probe.available:
        assert "CUDA unavailable:" in tab.device_note.text() and cuda.toolTip()


def test_presets_come_from_the_engine():
    from training.config import PRESETS

    assert [n for n, _ in model.preset_names()] == list(PRESETS)
    s = RunSettings.from_preset("seed001")
    assert (s.arch, s.epochs, s.batch_size, s.schedule, s.augment) == ("seed001", 10, 64, "constant", False)


def test_train_args_pass_every_field_and_leave_a_core(tmp_path):
    s = RunSettings.from_preset("fast")
    s.data_dir, s.download, s.seed, s.limit = str(tmp_path), False, 7, 300
    args = model.train_args(s, tmp_path / "m.onnx")
    flags = dict(zip(args[::1], args[1::1]))
    assert flags["--arch"] == "digitpad-s" and flags["--seed"] == "7" and flags["--limit"] == "300"
    assert flags["--progress"] == "jsonl" and flags["--out"] == str(tmp_path / "m.onnx")
    assert flags["--data-dir"] == str(tmp_path) and "--no-augment" in args
    assert int(flags["--threads"]) == max(1, (os.cpu_count() or 2) - 1)
    s.download = True
    assert "--data-dir" not in model.train_args(s, tmp_path / "m.onnx")


def test_a_custom_form_runs_on_the_preset_it_was_edited_from(tmp_path):
    s = RunSettings.from_preset("accurate")
    s.preset, s.epochs = "custom", 12
    args = model.train_args(s, tmp_path / "m.onnx")
    # --preset brings what the form does not show (EMA, the augmentation tail); the form's fields override it
    assert args[args.index("--preset") + 1] == "accurate" and args[args.index("--epochs") + 1] == "12"
    s.base_preset = "gone"   # remembered from an older version
    assert model.train_args(s, tmp_path / "m.onnx")[1] == "default"


def test_settings_round_trip_and_survive_garbage():
    s = RunSettings.defaults()
    s.epochs, s.lr, s.augment, s.device = 3, 0.01, True, "cpu"
    assert RunSettings.from_dict(json.loads(json.dumps(s.to_dict()))) == s
    bad = RunSettings.from_dict({"epochs": "many", "lr": True, "augment": 1, "preset": "nope", "extra": 1})
    assert bad.epochs == RunSettings.defaults().epochs and bad.lr == RunSettings.defaults().lr
    assert bad.preset == "custom"
    assert RunSettings.from_dict(None) == RunSettings.defaults()


def test_problems_in_words(tmp_path):
    s = RunSettings.defaults()
    s.data_dir, s.download = str(tmp_path / "missing"), False
    s.epochs = 0
    problems = " ".join(s.problems(["digitpad"]))
    assert "does not exist" in problems and "--epochs must be >= 1" in problems
    assert "unknown architecture" in problems
    s.name = "../escape"
    assert any("model name" in p for p in s.problems())


def test_default_data_folder_is_the_shared_datasets():
    shared = REPO.parent / "shared" / "datasets"
    if (shared / "MNIST").is_dir():
        assert Path(RunSettings.defaults().data_dir).resolve() == shared.resolve()


def _events(n_epochs=2, spe=5, stop_at=None):
    yield {"event": "start", "total_steps": n_epochs * spe, "steps_per_epoch": spe, "config": {"epochs": n_epochs},
           "device": "cpu", "params": 10, "n_train": 50, "resumed": False, "checkpoint": "/x/m.ckpt.pt"}
    step = 0
    for e in range(1, n_epochs + 1):
        for _ in range(spe):
            step += 1
            yield {"event": "step", "step": step, "epoch": e, "loss": 1.0 / step, "lr": 0.1, "samples_per_s": 100.0,
                   "eta_s": 3.0, "elapsed_s": step * 0.1}
            if stop_at == step:
                yield {"event": "done", "status": "stopped", "checkpoint": "/x/m.ckpt.pt"}
                return
        yield {"event": "epoch", "epoch": e, "epochs": n_epochs, "train_loss": 0.5, "test_loss": 0.4,
               "test_accuracy": 0.9 + e / 100, "lr": 0.1, "elapsed_s": step * 0.1, "checkpoint": "/x/m.ckpt.pt"}
    yield {"event": "exported", "path": "/x/m.onnx", "metrics": {"test_accuracy": 0.92}}
    yield {"event": "done", "status": "completed", "path": "/x/m.onnx"}


def test_run_state_follows_the_events():
    st = RunState()
    for ev in _events():
        st.feed(ev)
    assert st.status == "completed" and st.progress == 1.0 and len(st.steps) == 10
    assert [h["epoch"] for h in st.history] == [1, 2] and st.exported == Path("/x/m.onnx")
    assert "Epoch 2/2" in st.progress_text() and "step 10/10" in st.progress_text()


def test_run_state_resume_keeps_the_curves():
    st = RunState()
    for ev in _events(stop_at=3):
        st.feed(ev)
    assert st.status == "stopped" and st.steps == [1, 2, 3]
    st.feed({"event": "start", "total_steps": 10, "steps_per_epoch": 5, "config": {"epochs": 2}, "resumed": True})
    st.feed({"event": "step", "step": 4, "epoch": 1, "loss": 0.2, "lr": 0.1, "samples_per_s": 1, "eta_s": 1,
             "elapsed_s": 1})
    st.feed({"event": "step", "step": 4, "epoch": 1, "loss": 0.2, "lr": 0.1})   # duplicate: ignored
    assert st.steps == [1, 2, 3, 4]


def test_smoothing_is_bias_corrected():
    assert model.smooth([2.0, 2.0, 2.0]) == pytest.approx([2.0, 2.0, 2.0])
    assert model.smooth([]) == []


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
    runs = {r.stem: r for r in list_runs(tmp_path)}
    assert set(runs) == {"a", "b"}
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
    model.remove_temporaries(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.onnx"]


def test_gui_side_modules_never_import_torch(tmp_path, pattern_model, known_set):
    folder = known_set[0]
    code = f"""
import sys
from digitpad.client import runs as model
from digitpad.gui.train.tab import TrainingTab
from digitpad.gui.evaluate.view import EvaluationView
from digitpad.core.evaluation import evaluate, load_test_set
from digitpad.core.inference import Predictor
r = evaluate(Predictor({str(pattern_model)!r}), load_test_set({str(folder)!r}))
model.RunSettings.defaults().problems()
print("TORCH" if "torch" in sys.modules else "NO-TORCH", r.accuracy)
"""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", DIGITPAD_DATA_DIR=str(tmp_path), PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "NO-TORCH" in out.stdout
