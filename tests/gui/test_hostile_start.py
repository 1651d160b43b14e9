"""The app starts, builds every tab and says what it skipped, whatever its own folders hold:
FIFOs, /dev/zero behind links, links to nowhere and loops, numbers and nesting no reader can
use. Thousands of models are listed without the UI thread reading them."""
from __future__ import annotations

import json
import os
import shutil
import stat

import pytest
from model_factory import make_model
from special_files import make_special

from digitpad.app import MainWindow
from digitpad.core.settings import SettingsStore


def _start(qtbot, **kw) -> MainWindow:
    w = MainWindow(**kw)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


def _tabs_are_built(w: MainWindow) -> None:
    from digitpad.gui.evaluate import EvaluationView
    from digitpad.gui.mydigits import MyDigitsView
    from digitpad.gui.train import TrainingTab

    assert isinstance(w.training, TrainingTab) and isinstance(w.evaluation, EvaluationView)
    assert isinstance(w.my_digits, MyDigitsView)


def test_special_files_everywhere_the_app_reads(qtbot, private_data_dir):
    models, mine = private_data_dir / "models", private_data_dir / "my_digits"
    make_special(private_data_dir / "settings.json", "fifo")
    for kind in ("fifo", "dev_zero", "dangling", "loop"):
        make_special(models / f"{kind}.onnx", kind)
        make_special(models / f"{kind}.run.json", kind)
        make_special(models / f"{kind}-app.log.json", kind)
        make_special(mine / f"{kind}.npz", kind)
    good = make_model(models / "good.onnx", arch="good-net")
    w = _start(qtbot)
    _tabs_are_built(w)
    assert w.controller.predictor is not None
    notice = w.workbench.banner.text()
    assert "settings.json" in notice and "fifo.npz" in notice and "dev_zero.npz" in notice
    assert any(e.path == good for e in w.controller.entries)
    assert stat.S_ISFIFO(os.lstat(private_data_dir / "settings.json").st_mode)   # left alone, never replaced
    w.close()


@pytest.mark.parametrize("kind", ["fifo", "dev_zero", "dangling", "loop"])
def test_model_flag_naming_a_special_file(qtbot, tmp_path, kind):
    path = make_special(tmp_path / "m.onnx", kind)
    w = _start(qtbot, model_path=path)
    assert w.controller.predictor is not None and "m.onnx" in w.workbench.banner.text()
    w.close()


def test_the_last_model_remembered_as_a_special_file(qtbot, private_data_dir, tmp_path):
    fifo = make_special(tmp_path / "last.onnx", "fifo")
    SettingsStore().update(last_model=str(fifo), opened_models=[str(fifo), str(tmp_path / "loop.onnx")])
    make_special(tmp_path / "loop.onnx", "loop")
    w = _start(qtbot)
    assert w.controller.predictor is not None
    _tabs_are_built(w)
    w.close()


@pytest.mark.parametrize("settings", [
    {"version": 2, "train_form": {"epochs": 10 ** 30, "batch_size": 10 ** 15, "lr": 1e300, "seed": 2 ** 62}},
    {"version": 2, "train_form": {"epochs": -3, "batch_size": 0, "lr": -1.0, "seed": -1}},
])
def test_numbers_out_of_the_spin_boxes_range(qtbot, private_data_dir, settings):
    private_data_dir.mkdir(parents=True)
    (private_data_dir / "settings.json").write_text(json.dumps(settings))
    w = _start(qtbot)
    form = w.training.form
    for spin in (form.epochs, form.batch, form.lr, form.seed):
        assert spin.minimum() <= spin.value() <= spin.maximum()
    w.close()


@pytest.mark.parametrize("text", [
    '{"version": 2, "last_model": "/x.onnx", "train_form": {"epochs": 1' + "0" * 400 + "}}",
    '{"version": 2, "datasets_folder": ' + "[" * 100_000 + "]" * 100_000 + "}",
    '{"version": 2, "train_form": {"lr": NaN, "seed": -Infinity, "epochs": 1e400}}',
])
def test_a_settings_file_no_reader_can_use(qtbot, private_data_dir, text):
    private_data_dir.mkdir(parents=True)
    (private_data_dir / "settings.json").write_text(text)
    w = _start(qtbot)
    _tabs_are_built(w)
    assert "settings" in w.workbench.banner.text()
    w.close()


def test_hostile_run_logs_and_metadata_leave_the_tabs_working(qtbot, private_data_dir):
    models = private_data_dir / "models"
    models.mkdir(parents=True)
    (models / "a.run.json").write_text('{"config": {"epochs": ' + "9" * 400 + "}}")
    (models / "b.run.json").write_text("[" * 100_000)
    (models / "c.log.json").write_text('{"history": [{"epoch": 1e300}], "steps": [[1e308, 1e308, 1e308]]}')
    (models / "d.run.json").write_text(json.dumps({"config": {"batch_size": 1e-300, "limit": 10 ** 18},
                                                    "history": [{"epoch": 2, "elapsed_s": 1e308}]}))
    path = make_model(models / "e.onnx")
    import onnx

    m = onnx.load(str(path))
    m.metadata_props[0].value = m.metadata_props[0].value.replace('"format": 1', '"format": 1' + "0" * 400)
    onnx.save(m, str(path))
    w = _start(qtbot)
    _tabs_are_built(w)
    w.training.refresh_history()
    entry = next(e for e in w.controller.entries if e.path == path)
    assert entry.metadata is None and "out of range" in entry.problem
    w.close()


def test_two_windows_keep_each_others_opened_models(qtbot, private_data_dir, tmp_path):
    a_model, b_model = make_model(tmp_path / "a.onnx", seed=1), make_model(tmp_path / "b.onnx", seed=2)
    a, b = _start(qtbot), _start(qtbot)
    assert a.controller.load(a_model) and b.controller.load(b_model)
    opened = SettingsStore().values.opened_models
    assert str(a_model.resolve()) in opened and str(b_model.resolve()) in opened
    a.close()
    b.close()


def test_models_not_described_at_once_are_described_in_the_background(qtbot, private_data_dir, monkeypatch):
    from digitpad.gui import controller

    models = private_data_dir / "models"
    models.mkdir(parents=True)
    src = make_model(private_data_dir / "src.onnx", arch="listed-net")
    for i in range(40):
        shutil.copyfile(src, models / f"m{i:02d}.onnx")
    monkeypatch.setattr(controller, "LIST_BUDGET_S", 0.0)
    w = _start(qtbot)
    combo = w.picker.combo
    assert combo.count() >= 41                                   # all listed at once
    qtbot.waitUntil(lambda: all(not e.pending for e in w.controller.entries), timeout=10_000)
    qtbot.waitUntil(lambda: all("listed-net" in combo.itemText(i) for i in range(1, 41)), timeout=10_000)
    shutil.copyfile(src, models / "new.onnx")                    # the folder watcher, in the background too
    qtbot.waitUntil(lambda: any(e.path.name == "new.onnx" for e in w.picker.entries), timeout=10_000)
    w.close()
