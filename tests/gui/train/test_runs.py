"""Real runs of the real engine from the Train tab: a tiny run to the end, Stop / Export /
Resume, a killed process, a failing one, closing the window mid-run.

Each run is a few hundred MNIST images; what costs time is the engine's start (torch).
"""
from __future__ import annotations

from pathlib import Path

from digitpad.client import commands
from digitpad.client.run_settings import DEVICES, KNOWN_ARCHS, RunSettings, arch_fits
from digitpad.core.library import ModelLibrary
from digitpad.core.paths import models_dir
from digitpad.core.settings import SettingsStore

RUN_MS = 120_000     # generous: a loaded 2-core machine


def tiny(mnist_dir, limit=300, epochs=2, name="") -> RunSettings:
    s = RunSettings.from_preset("seed001")
    s.download, s.data_dir, s.limit, s.epochs, s.batch_size, s.name = False, str(mnist_dir), limit, epochs, 32, name
    return s


def start(tab, settings) -> None:
    tab.form.set_settings(settings)
    assert tab.start(), tab.form.problem_label.text()


def library_models() -> list[Path]:
    return sorted(models_dir().glob("*.onnx"))


def test_tiny_run_to_the_end_joins_the_library(tab, qtbot, mnist_dir, controller):
    epochs = []
    tab.runner.event.connect(lambda ev: ev["event"] == "epoch" and epochs.append(ev))
    start(tab, tiny(mnist_dir, name="tiny-run"))
    assert not tab.form.start_button.isEnabled() and tab.form.stop_button.isEnabled()
    assert "--threads" in tab.runner.arguments and "--limit" in tab.runner.arguments
    with qtbot.waitSignal(tab.runner.exported, timeout=RUN_MS) as exported:
        pass
    with qtbot.waitSignal(tab.runFinished, timeout=RUN_MS) as finished:
        pass
    assert finished.args == ["completed"]
    path = exported.args[0]
    assert path == models_dir() / "tiny-run.onnx" and path.is_file()
    assert [e["epoch"] for e in epochs] == [1, 2]
    st = tab.runner.state
    assert st.total_steps == 20 and st.step == 20 and len(st.history) == 2 and st.steps
    tab._redraw_now()
    assert tab.live.progress.value() == 1000 and "step 20/20" in tab.live.progress_text.text()
    # the first layer's kernels and maps, live: the last snapshot's (the run's last step)
    assert st.snapshot is not None and st.snapshot.step == 20 and tab.live.kernels.shown is st.snapshot
    assert tab.live.kernels.moment.text() == "step 20 · epoch 2.00" and not tab.live.kernels.maps.isHidden()
    # the curves got the run (batched redraws: at most one per timer tick)
    train_loss = tab.live.curves.plots["train_loss"].series[0]
    assert len(train_loss[1]) == len(st.steps)
    assert len(tab.live.curves.plots["test_accuracy"].series[0][1]) == 2
    # the model is in the library with its metadata; one click makes it active
    entry = next(e for e in ModelLibrary().entries() if e.path == path)
    assert entry.metadata.arch == "seed001" and entry.metadata.metrics["test_accuracy"] > 0
    assert not tab.live.use_button.isHidden() and not tab.live.result.isHidden()
    assert "Model ready" in tab.live.result_text.text()
    with qtbot.waitSignal(tab.useModel) as used:
        tab.live.use_button.click()
    assert used.args == [path]
    # the history lists it, with the app's step log beside the engine's run log
    assert (models_dir() / "tiny-run.log.json").is_file() and (models_dir() / "tiny-run.run.json").is_file()
    tab.refresh_history()
    assert tab.history.runs[0].stem == "tiny-run" and tab.history.runs[0].status == "completed"
    assert len(tab.history.runs[0].curves()["train_loss"][0]) == len(st.steps)
    # settings were remembered
    assert SettingsStore().values.train_form["arch"] == "seed001"
    # a second run may not overwrite the first
    tab.form.set_settings(tiny(mnist_dir, name="tiny-run"))
    assert not tab.start() and "already exists" in tab.form.problem_label.text()


def test_stop_export_and_resume(tab, qtbot, mnist_dir):
    s = tiny(mnist_dir, limit=3000, epochs=1, name="stopped-run")   # 94 steps: time to stop mid-run
    start(tab, s)
    with qtbot.waitSignal(tab.runner.event, timeout=RUN_MS, check_params_cb=lambda ev: ev["event"] == "step"):
        pass
    tab.stop()
    assert tab.runner.state.status == "stopping" and not tab.form.stop_button.isEnabled()
    with qtbot.waitSignal(tab.runFinished, timeout=RUN_MS) as finished:
        pass
    assert finished.args == ["stopped"]
    st = tab.runner.state
    stopped_at = st.step
    assert 0 < stopped_at < st.total_steps and st.checkpoint.is_file()
    assert library_models() == []                       # stopped: nothing exported yet
    f = tab.form
    assert f.resume_button.isEnabled() and not f.export_button.isHidden() and f.export_button.isEnabled()
    assert "Stopped" in tab.live.result_text.text()
    # export the stopped run's checkpoint: a partly trained model in the library
    tab.export_checkpoint()
    with qtbot.waitSignal(tab.runFinished, timeout=RUN_MS) as finished:
        pass
    assert finished.args == ["stopped"] and library_models() == [models_dir() / "stopped-run.onnx"]
    assert "from the stopped run's checkpoint" in tab.live.result_text.text()
    assert tab.form.resume_button.isEnabled()
    # resume: the curves carry on from where the run stopped
    n_before = len(st.steps)
    tab.resume()
    with qtbot.waitSignal(tab.runFinished, timeout=RUN_MS) as finished:
        pass
    assert finished.args == ["completed"], tab.live.result_text.text()
    st = tab.runner.state
    assert st.steps[:n_before] and st.steps[n_before] > stopped_at and st.step == st.total_steps
    assert [h["epoch"] for h in st.history] == [1]
    assert "--resume" in tab.runner.arguments


def test_killed_process_is_reported_and_leaves_nothing(tab, qtbot, mnist_dir):
    start(tab, tiny(mnist_dir, name="killed-run"))
    with qtbot.waitSignal(tab.runner.event, timeout=RUN_MS, check_params_cb=lambda ev: ev["event"] == "start"):
        pass
    tab.runner.proc.kill()
    with qtbot.waitSignal(tab.runFinished, timeout=RUN_MS) as finished:
        pass
    assert finished.args == ["failed"]
    text = tab.live.result_text.text()
    assert "The training run failed" in text and "killed or crashed" in text
    assert "Nothing was added to the model library" in text
    assert library_models() == [] and not list(models_dir().glob(".*tmp*"))
    assert ModelLibrary().entries() == [] or all(e.source == "shipped" for e in ModelLibrary().entries())
    assert tab.form.start_button.isEnabled() and not tab.form.resume_button.isEnabled()


def test_engine_error_shows_its_last_lines(tab, qtbot, tmp_path):
    damaged = tmp_path / "damaged-idx" / "MNIST" / "raw"   # the files Start looks for are there, but not IDX
    damaged.mkdir(parents=True)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte"):
        (damaged / name).write_bytes(b"garbage!")
    s = tiny(damaged.parents[1], name="bad-data")
    start(tab, s)
    with qtbot.waitSignal(tab.runFinished, timeout=RUN_MS) as finished:
        pass
    assert finished.args == ["failed"]
    text = tab.live.result_text.text()
    assert text.count("wrong magic number") == 1           # the engine's error event, said once
    assert "digitpad-train: error:" in tab.live.log.toPlainText()   # the whole stderr in the log
    assert library_models() == []


def test_closing_the_window_mid_run_asks_then_stops(qtbot, mnist_dir, monkeypatch):
    from digitpad.app import MainWindow
    from digitpad.gui.train.tab import TrainingTab

    answers = [False, True]
    monkeypatch.setattr(TrainingTab, "ask_stop_on_close", lambda self: answers.pop(0))
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    start(w.training, tiny(mnist_dir, limit=3000, epochs=1, name="closing-run"))
    with qtbot.waitSignal(w.training.runner.event, timeout=RUN_MS,
                          check_params_cb=lambda ev: ev["event"] == "step"):
        pass
    assert not w.close() and w.isVisible() and w.training.runner.is_running()     # "No": keep going
    assert not w.close() and w.isVisible()                                           # "Yes": stopping
    with qtbot.waitSignal(w.training.runFinished, timeout=RUN_MS) as finished:
        pass
    assert finished.args == ["stopped"]
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=5000)
    assert (models_dir() / "closing-run.ckpt.pt").is_file()                          # resumable later
    steps_before = list(w.training.runner.state.steps)

    # Next session: the history offers to resume it, and the curves carry on.
    later = TrainingTab(w.controller)
    qtbot.addWidget(later)
    later.refresh_history()
    run = later.history.runs[0]
    assert run.stem == "closing-run" and run.status == "stopped" and later.history.resume_button.isEnabled()
    assert [s[0] for s in run.steps] == steps_before
    assert later.resume_run(run)
    with qtbot.waitSignal(later.runner.event, timeout=RUN_MS, check_params_cb=lambda ev: ev["event"] == "start") as ev:
        pass
    assert ev.args[0]["resumed"] and "--resume" in later.runner.arguments
    assert later.runner.state.steps[:len(steps_before)] == steps_before
    later.runner.kill()
    with qtbot.waitSignal(later.runFinished, timeout=RUN_MS):
        pass


def test_stop_before_training_begins_cancels(tab, qtbot, mnist_dir):
    start(tab, tiny(mnist_dir, name="early"))
    tab.stop()                                   # the engine is still importing torch
    with qtbot.waitSignal(tab.runFinished, timeout=RUN_MS) as finished:
        pass
    assert finished.args in (["cancelled"], ["stopped"])
    assert library_models() == []


def test_editing_a_preset_keeps_it_as_the_base(tab):
    i = tab.form.preset.findData("accurate")
    tab.form.preset.setCurrentIndex(i)
    tab.form.preset.activated.emit(i)   # what a user's pick sends
    assert tab.form.epochs.value() == 8
    tab.form.epochs.setValue(11)
    assert tab.form.preset.currentData() == "custom" and "accurate" in tab.form.preset_note.text()
    # what the preset still brings that the form does not show, and only that
    assert "weight averaging (EMA 0.998)" in tab.form.preset_note.text()
    assert "label smoothing 0.05" in tab.form.preset_note.text() and "non-digits" not in tab.form.preset_note.text()
    s = tab.form.settings()
    assert (s.preset, s.base_preset, s.epochs) == ("custom", "accurate", 11)
    args = commands.train_args(s, Path("m.onnx"))
    assert args[args.index("--preset") + 1] == "accurate"
    # remembered and restored: the base survives a restart of the app
    again = RunSettings.remembered(s.to_dict(), s.data_dir)
    tab.form.set_settings(again)
    assert tab.form.settings().base_preset == "accurate"


def test_the_tab_asks_the_engine_for_archs_and_cuda(tab, qtbot):
    """The static table shown before the engine answers must not lie; CUDA is greyed out
    with a reason when absent (found without importing torch here)."""
    with qtbot.waitSignal(tab.arch_lister.ready, timeout=120_000) as archs:
        tab.start_probes()
    assert {(a.name, a.params) for a in archs.args[0]} == {(a.name, a.params) for a in KNOWN_ARCHS}
    # offered: those that take the chosen data set's images
    fitting = [a for a in archs.args[0] if arch_fits(a, tab.form.settings().dataset)]
    assert tab.form.arch.count() == len(fitting) and "params" in tab.form.arch.itemText(0)
    qtbot.waitUntil(lambda: tab.device_probe.available is not None, timeout=120_000)
    cuda = tab.form.device.model().item(DEVICES.index("cuda"))
    assert cuda.isEnabled() == tab.device_probe.available
    if not tab.device_probe.available:
        assert "CUDA unavailable:" in tab.form.device_note.text() and cuda.toolTip()


def test_an_open_train_tab_keeps_a_warm_engine_that_start_uses(tab, qtbot, mnist_dir):
    """While the tab is open an engine waits with torch imported (digitpad-train --wait-for-args);
    Start hands it the run on stdin instead of launching a new one, and another waits after it."""
    tab.show()
    qtbot.waitUntil(tab.runner.has_warm_engine, timeout=RUN_MS)
    warm = tab.runner._warm
    start(tab, tiny(mnist_dir, epochs=1, name="warm-run"))
    assert tab.runner.used_warm and tab.runner.proc is warm and not tab.runner.has_warm_engine()
    with qtbot.waitSignal(tab.runFinished, timeout=RUN_MS) as finished:
        pass
    assert finished.args == ["completed"] and (models_dir() / "warm-run.onnx").is_file()
    assert tab.runner.state.history and tab.runner.state.total_steps == 10
    qtbot.waitUntil(tab.runner.has_warm_engine, timeout=RUN_MS)   # ready for the next Start
    nxt = tab.runner._warm
    tab.shutdown()                                                 # the window closes: it goes too
    assert nxt.state() == nxt.ProcessState.NotRunning and not tab.runner.has_warm_engine()


def test_a_warm_engine_that_died_idle_is_not_used(tab, qtbot, mnist_dir):
    tab.show()
    qtbot.waitUntil(tab.runner.has_warm_engine, timeout=RUN_MS)
    tab.runner._warm.kill()
    qtbot.waitUntil(lambda: tab.runner._warm is None, timeout=10_000)
    start(tab, tiny(mnist_dir, epochs=1, name="cold-run"))
    assert not tab.runner.used_warm
    with qtbot.waitSignal(tab.runFinished, timeout=RUN_MS) as finished:
        pass
    assert finished.args == ["completed"]


def test_editing_a_tutorial_preset_claims_no_extras(tab):
    i = tab.form.preset.findData("seed001")
    tab.form.preset.setCurrentIndex(i)
    tab.form.preset.activated.emit(i)
    tab.form.epochs.setValue(2)
    note = tab.form.preset_note.text()
    assert tab.form.preset.currentData() == "custom" and "seed001" in note
    assert "brings" not in note   # seed 001's recipe has no extra data and no weight averaging
