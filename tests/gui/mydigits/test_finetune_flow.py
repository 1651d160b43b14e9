"""Fine-tune on my digits, end to end through the UI: a writer with an unusual style draws
5 of each digit on the Draw tab's canvas and corrects each ("Wrong? It was: d"); the
My digits tab fine-tunes a small real model (the real engine in a QProcess) and measures
the writer's held-out digits before and after."""
from __future__ import annotations

from pathlib import Path

import pytest

from digitpad.core.handwriting import bench, finetune
from digitpad.core.handwriting.collection import Collection
from digitpad.core.paths import RunFiles

ENGINE_TIMEOUT_MS = 180_000


def _window(qtbot, model, mnist_dir):
    from digitpad.app import MainWindow

    w = MainWindow(model_path=model)
    qtbot.addWidget(w)
    w.show()
    # the fine-tune reads MNIST from the datasets folder the tabs share
    w.controller.settings.update(datasets_folder=str(mnist_dir))
    return w


def _write_like_the_user(w, drawings):
    canvas, bar = w.workbench.canvas, w.workbench.corrections
    for d in drawings:
        canvas.clear()
        for stroke in d.strokes:
            canvas.draw_stroke(stroke, width=d.width)
        assert bar.correct(d.label) is not None


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_finetune_through_the_ui_lifts_held_out_accuracy(qtbot, tiny_model_path, mnist_dir, private_data_dir):
    assert RunFiles(tiny_model_path).checkpoint.is_file()    # the fixture's engine keeps one
    w = _window(qtbot, tiny_model_path, mnist_dir)
    panel = w.my_digits.finetune
    assert not panel.button.isEnabled() and "Too few samples" in panel.reason.text()
    w.tabs.setCurrentWidget(w.my_digits)

    _write_like_the_user(w, bench.unusual_writer(5, seed=3))
    assert w.workbench.corrections.collection.counts() == [5] * 10
    assert panel.button.isEnabled(), panel.reason.text()
    panel.recipe = finetune.Recipe(mnist=2000, epochs=2, lr=1e-3)   # a shorter run for the test
    models = private_data_dir / "models"

    with qtbot.waitSignal(panel.finished, timeout=ENGINE_TIMEOUT_MS) as done:
        panel.button.click()
        assert panel.is_running() and not panel.button.isEnabled() and panel.cancel_button.isVisible()
        qtbot.waitUntil(panel.runner.process_running, timeout=ENGINE_TIMEOUT_MS)   # measured, then launched
        assert "--init" in panel.runner.arguments and str(tiny_model_path) in panel.runner.arguments
    assert done.args == ["completed"], panel.result.text()

    before, after = panel.before, panel.after
    assert before.total == after.total == 20                         # 2 of each digit held out
    print(f"held-out before {before.text()}, after {after.text()}")
    assert after.accuracy > before.accuracy, (before.text(), after.text())
    assert f"before <b>{before.text()}</b>" in panel.result.text() and after.text() in panel.result.text()
    new = panel.new_model
    assert new.parent == models and new.is_file() and RunFiles(new).checkpoint.is_file()
    assert not [n for n in _files(private_data_dir) if n.startswith(finetune.TEMP_PREFIX)]   # temp .npz gone
    assert panel.use_button.isVisible()
    panel.use_button.click()
    assert w.controller.predictor.path == new
    assert panel.button.isEnabled()                                  # the new model can be fine-tuned again
    w.close()


def test_finetune_is_disabled_for_a_model_without_checkpoint(qtbot, random_model, mnist_dir):
    w = _window(qtbot, random_model, mnist_dir)
    panel = w.my_digits.finetune
    for i in range(30):
        w.workbench.corrections.collection.add(i % 10, [[0.0] * 28] * 28, source="test", timestamp=i)
    w.my_digits.refresh()
    assert not panel.button.isEnabled()
    assert "no PyTorch checkpoint" in panel.reason.text() and "random.onnx" in panel.reason.text()
    w.close()


def test_an_engine_error_is_shown_and_nothing_is_kept(qtbot, tiny_model_path, tmp_path, private_data_dir):
    w = _window(qtbot, tiny_model_path, tmp_path / "no-mnist-here")
    col: Collection = w.workbench.corrections.collection
    for i in range(30):
        col.add(i % 10, [[0.0] * 28] * 28, source="test", timestamp=i)
    w.my_digits.refresh()
    panel = w.my_digits.finetune
    with qtbot.waitSignal(panel.finished, timeout=ENGINE_TIMEOUT_MS) as done:
        assert panel.start()
    assert done.args == ["failed"]
    assert "Fine-tuning failed" in panel.result.text() and "does not exist" in panel.result.text()
    assert _files(private_data_dir / "models") == []
    assert not [n for n in _files(private_data_dir) if n.startswith(finetune.TEMP_PREFIX)]
    assert not panel.use_button.isVisible() and panel.button.isEnabled()
    w.close()


@pytest.mark.parametrize("n", [0, 9])
def test_too_few_samples_say_so(qtbot, tiny_model_path, mnist_dir, n):
    w = _window(qtbot, tiny_model_path, mnist_dir)
    for i in range(n):
        w.workbench.corrections.collection.add(i % 10, [[0.0] * 28] * 28, source="test", timestamp=i)
    w.my_digits.refresh()
    panel = w.my_digits.finetune
    assert not panel.button.isEnabled() and f"Too few samples to fine-tune: {n} in My digits" in panel.reason.text()
    assert not panel.start()
    w.close()


def test_cancel_keeps_nothing(qtbot, tiny_model_path, mnist_dir, private_data_dir):
    w = _window(qtbot, tiny_model_path, mnist_dir)
    for i in range(30):
        w.workbench.corrections.collection.add(i % 10, [[0.0] * 28] * 28, source="test", timestamp=i)
    w.my_digits.refresh()
    panel = w.my_digits.finetune
    panel.recipe = finetune.Recipe(mnist=20000, epochs=3)    # long enough to be cancelled mid-run
    train_tab = w.training
    with qtbot.waitSignal(panel.finished, timeout=ENGINE_TIMEOUT_MS) as done:
        assert panel.start()
        # One engine at a time: the Train tab cannot start its own run meanwhile.
        assert not train_tab.form.start_button.isEnabled()
        assert not train_tab.start() and "fine-tuning in the My digits tab" in train_tab.form.problem_label.text()
        qtbot.waitUntil(lambda: panel.runner.state.step > 0, timeout=ENGINE_TIMEOUT_MS)
        panel.cancel_button.click()
    assert done.args == ["cancelled"] and "cancelled" in panel.result.text()
    assert train_tab.form.start_button.isEnabled()
    assert _files(private_data_dir / "models") == []                 # no model, checkpoint or log
    assert not [n for n in _files(private_data_dir) if n.startswith(finetune.TEMP_PREFIX)]
    w.close()
