"""The runs history as a user reads it: names that differ where they differ, fine-tunes told
apart, a legend and a time axis on the overlay, CSV, rename and delete (never the active model);
the presets named for what they are, with the time this machine takes."""
from __future__ import annotations

import csv
import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHeaderView, QTableWidgetSelectionRange

from digitpad.client.run_settings import preset_names
from digitpad.core.paths import RunFiles
from digitpad.gui import run_actions

LONG = "digitpad-s-mnist-20261123-151004-and-a-long-tail-that-differs-A"
CFG = {"arch": "digitpad-s", "dataset": "mnist", "epochs": 2, "batch_size": 100, "augment": False}
HIST = [{"epoch": 1, "test_accuracy": 0.9, "test_loss": 0.3, "elapsed_s": 12.0},
        {"epoch": 2, "test_accuracy": 0.95, "test_loss": 0.2, "elapsed_s": 20.0}]


def _write(models, stem, model_bytes, config=None, app_log=None, seconds=20.0):
    files = RunFiles(models / f"{stem}.onnx")
    files.model.write_bytes(model_bytes)
    files.checkpoint.write_bytes(b"ckpt")
    files.run_log.write_text(json.dumps({"config": config or CFG, "history": HIST, "status": "completed",
                                         "seconds": seconds, "created": "2026-11-23T15:10:04"}))
    if app_log:
        files.app_log.write_text(json.dumps(app_log))
    return files


@pytest.fixture
def history(tab, private_data_dir, random_model):
    models = private_data_dir / "models"
    models.mkdir(parents=True, exist_ok=True)
    data = random_model.read_bytes()
    _write(models, LONG, data)
    _write(models, LONG[:-1] + "B", data, app_log={"steps": [[s, 1 / s, 0.01, 0.1 * s] for s in range(1, 21)]})
    _write(models, "default-mine-20261123-160000", data,
           config={**CFG, "init": "/elsewhere/default.onnx", "extra": ["/tmp/.finetune-1.npz"], "extra_repeat": 20,
                   "limit": 8000},
           app_log={"finetune": {"base": "default.onnx", "digits": 30, "held_out": 20, "before": 0.55,
                                 "after": 0.85, "seconds": 41.0}}, seconds=25.0)
    tab.refresh_history()
    tab.views.setCurrentIndex(1)
    tab.show()
    return tab.history


def _row(view, stem):
    return next(i for i, r in enumerate(view.runs) if r.stem == stem)


def test_long_names_stay_readable(history):
    t = history.table
    assert t.textElideMode() == Qt.ElideMiddle          # "digitpad-s-…-A" and "…-B", not "digitpad-s-..." twice
    assert t.horizontalHeader().sectionResizeMode(0) == QHeaderView.Interactive
    i = _row(history, LONG)
    assert t.item(i, 0).text() == LONG and LONG in t.item(i, 0).toolTip()


def test_a_finetune_says_what_it_is_and_how_long_it_took(history):
    t = history.table
    i = _row(history, "default-mine-20261123-160000")
    assert t.item(i, 2).text() == "digitpad-s"
    assert t.item(i, 3).text() == "mnist + 30 of yours" and "30 of your digits" in t.item(i, 3).toolTip()
    assert t.item(i, 6).text() == "41 s" and "training alone took 25 s" in t.item(i, 6).toolTip()
    t.selectRow(i)
    assert "Fine-tune of default on 30 of your digits" in history.details.text()
    assert "55 % → 85 %" in history.details.text() and "2 epochs" in history.details.text()


def test_overlay_has_a_legend_and_a_time_axis(history, qtbot):
    t = history.table
    t.selectRow(_row(history, LONG))
    t.setRangeSelected(QTableWidgetSelectionRange(
        _row(history, LONG[:-1] + "B"), 0, _row(history, LONG[:-1] + "B"), 0), True)
    curves = history.curves
    assert len(curves.records) == 2
    legend = curves.legend.text()
    assert legend.count("━") == 2 and "…" in legend and legend.index("A") != legend.rindex("B")
    curves.by_time.setChecked(True)
    xs = curves.plots["test_accuracy"].series[0][1]
    assert list(xs) == [12.0, 20.0]                           # seconds since the start
    steps_x = [x for label, x, _y, _i in curves.plots["train_loss"].series if len(x) == 20][0]
    assert steps_x[-1] == pytest.approx(2.0)                  # the app's step times


def test_export_rename_delete(history, tab, tmp_path, monkeypatch):
    t = history.table
    t.selectRow(_row(history, LONG[:-1] + "B"))
    run = history.selected_runs()[0]
    out = tab.export_csv(run, str(tmp_path / "run.csv"))
    rows = list(csv.DictReader(out.open()))
    assert len([r for r in rows if r["kind"] == "step"]) == 20 and len([r for r in rows if r["kind"] == "epoch"]) == 2

    monkeypatch.setattr(run_actions, "ask_name", lambda parent, stem: "renamed run")
    assert history.rename_button.isEnabled()
    history.rename_button.click()
    assert [r.stem for r in history.runs].count("renamed run") == 1
    renamed = RunFiles(run.model_path.with_name("renamed run.onnx"))
    assert all(p.exists() for p in (renamed.model, renamed.checkpoint, renamed.run_log))
    assert not run.model_path.exists()

    asked = []
    monkeypatch.setattr(run_actions, "confirm_delete", lambda parent, model: asked.append(model) or True)
    t.selectRow(_row(history, "renamed run"))
    history.delete_button.click()
    assert asked and "renamed run" not in [r.stem for r in history.runs]
    assert not list(run.model_path.parent.glob("renamed run*"))


def test_the_active_model_cannot_be_deleted(history, tab, controller):
    t = history.table
    i = _row(history, LONG)
    assert controller.load(history.runs[i].model_path)
    t.selectRow(i)
    assert not history.delete_button.isEnabled() and "active model" in history.delete_button.toolTip()
    assert history.rename_button.isEnabled()                  # renaming follows it instead
    assert run_actions.change_blocker(history.runs[i].model_path, controller, tab.engine_slot, True)


def test_presets_say_what_they_are_and_the_time_is_measured_here(tab, history):
    form = tab.form
    for name, _text in preset_names():
        text = form.preset.itemText(form.preset.findData(name))
        assert name in text and text != name, text              # "Tutorial 001: tiny CNN · seed001"
    i = form.preset.findData("seed001")
    form.preset.setCurrentIndex(i)
    form.preset.activated.emit(i)
    assert "98.73 %" in form.preset_note.text() and "conv 1→8" in form.preset_note.text()
    assert "No run of seed001 on this machine yet" in form.estimate_note.text()
    assert "10 epochs × 60,000 images" in form.estimate_note.text()
    i = form.preset.findData("fast")
    form.preset.setCurrentIndex(i)
    form.preset.activated.emit(i)
    text = form.estimate_note.text()
    assert text.startswith("This machine: about") and "1 epoch × 60,000" in text and "1 epochs" not in text


def test_export_best_epoch(history, qtbot):
    """The best epoch (by test accuracy) is offered only when it is not the run's model already; the
    engine is asked for exactly that epoch, and what it answers reaches the live view."""
    tab = history.parent()
    while not hasattr(tab, "export_best"):
        tab = tab.parent()
    history.table.clearSelection()
    history.table.selectRow(_row(history, LONG))
    run = history.runs[_row(history, LONG)]
    assert run.best_epoch == 2 and not history.best_button.isEnabled()
    assert "last epoch (2) is its best" in history.best_button.toolTip()
    peaked = {**json.loads(run.files.run_log.read_text()),
              "history": [HIST[0], HIST[1], {**HIST[1], "epoch": 3, "test_accuracy": 0.93}]}
    run.files.run_log.write_text(json.dumps(peaked))
    tab.refresh_history()
    history.table.clearSelection()
    i = _row(history, LONG)
    history.table.selectRow(i)
    assert history.runs[i].best_epoch == 2 and history.best_button.isEnabled(), history.best_button.toolTip()
    with qtbot.waitSignal(tab.runner.finished, timeout=60_000):
        history.best_button.click()
    args = tab.runner.arguments
    assert "--best" in args and args[args.index("--out") + 1].endswith(f"{LONG}-best-epoch2.onnx")
    # this fixture's checkpoint is not a real one: the engine's one-line reason is shown, nothing is written
    assert "checkpoint" in tab.runner.state.error and not RunFiles(run.model_path).best_epoch_model(2).exists()
