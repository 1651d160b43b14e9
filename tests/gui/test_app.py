"""The main window: live prediction from real strokes, the inspectors, switching models."""
from __future__ import annotations

import numpy as np
import pytest
from drawing import draw, loop, vertical_line
from model_factory import make_foreign_model, make_wrong_shape_model
from PySide6.QtCore import QPoint, Qt
from windows import wait_prepared

from digitpad.app import MainWindow
from digitpad.core import library


def test_empty_canvas_shows_no_prediction(window):
    wb = window.workbench
    assert wb.prediction is None and wb.panel.probs is None and wb.model_input is None
    assert "Draw" in wb.panel.caption
    assert window.time_label.text() == ""


def test_drawing_updates_prediction_and_input_view(window):
    wb = window.workbench
    draw(wb.canvas, loop(wb.canvas.width()))
    assert wb.prediction is not None and wb.prediction.probs.sum() == pytest.approx(1, abs=1e-5)
    assert wb.model_input.shape == (1, 1, 28, 28) and wb.input_view._image is not None
    assert "Inference" in window.time_label.text() and "random" in window.model_label.text()
    wb.canvas.clear()
    assert wb.prediction is None and wb.panel.probs is None


def test_prediction_updates_mid_stroke(window, qtbot):
    wb = window.workbench
    c = wb.canvas
    qtbot.mousePress(c, Qt.LeftButton, pos=QPoint(200, 80))
    for y in range(80, 320, 8):
        qtbot.mouseMove(c, QPoint(200, y))
    qtbot.waitUntil(lambda: wb.prediction is not None, timeout=1000)
    assert c._current is not None          # the pen is still down
    qtbot.mouseRelease(c, Qt.LeftButton, pos=QPoint(200, 320))


def test_undo_redo_shortcuts_and_buttons(window, qtbot):
    wb = window.workbench
    draw(wb.canvas, vertical_line(wb.canvas.width()))
    assert wb.undo_button.isEnabled() and not wb.redo_button.isEnabled()
    wb.canvas.setFocus()
    qtbot.keyClick(wb.canvas, Qt.Key_Z, Qt.ControlModifier)
    assert wb.canvas.is_empty() and wb.prediction is None and wb.redo_button.isEnabled()
    qtbot.keyClick(wb.canvas, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert not wb.canvas.is_empty() and wb.prediction is not None
    wb.clear_button.click()
    assert wb.canvas.is_empty() and wb.prediction is None
    wb.undo_button.click()
    assert not wb.canvas.is_empty()


def test_escape_clears_from_anywhere_in_the_tab(window, qtbot):
    wb = window.workbench
    draw(wb.canvas, vertical_line(wb.canvas.width()))
    wb.saliency_box.setFocus()
    qtbot.keyClick(wb.saliency_box, Qt.Key_Escape)
    assert wb.canvas.is_empty()


def test_off_distribution_hint_shown(window):
    wb = window.workbench
    wb.canvas.draw_stroke([(200, 190), (200, 210)], width=8)    # a tiny mark
    assert wb.hints and wb.message.kind == "hint" and "small" in wb.message.text()
    wb.canvas.clear()
    assert wb.message.kind == "tips" and "small" not in wb.message.text()


def test_feature_maps_follow_the_drawing_and_show_kernels(window, qtbot):
    wb = window.workbench
    fm = wb.feature_maps
    wb.inspector.setCurrentWidget(fm)
    draw(wb.canvas, loop(wb.canvas.width()))
    assert fm.layer == "conv1" and fm.grid.count == 4
    assert fm.grid.maps.shape == (4, 14, 14)
    assert np.allclose(fm.grid.maps, wb.prediction.activations["conv1"])
    fm.chooser.combo.setCurrentText("conv2")
    assert fm.grid.count == 8 and fm.grid.cols == 3   # a near-square grid
    x, y = fm.grid.tile_origin(3)
    fm.grid._click_at(x + 2.5, y + 3.5)    # where a mouse click on tile 3 lands
    assert fm.selected == 3 and fm.large.maps.shape == (1, 7, 7)
    assert fm.kernel.maps.shape == (4, 3, 3)   # its kernel: one 3x3 slice per input channel
    assert np.allclose(fm.kernel.maps, wb.controller.predictor.kernels("conv2")[3])
    assert fm.grid.frame is not None
    fm.grid._click_at(x - 0.5 * fm.grid.gap, y)   # the gap between tiles selects nothing new
    assert fm.selected == 3
    # the colour scale is shared and shown
    assert fm.grid.bar is not None and fm.grid.levels[1] >= float(wb.prediction.activations["conv2"].max()) - 1e-6


def test_kernels_view_first_and_deeper_layers(window):
    wb = window.workbench
    kv = wb.kernels_view
    wb.inspector.setCurrentWidget(kv)
    assert kv.chooser.combo.count() == 2
    assert kv.grid.count == 4 and not kv.in_combo.isVisibleTo(window)   # conv1: 4 filters, 1 input
    kv.chooser.combo.setCurrentText("conv2")
    assert kv.in_combo.isVisibleTo(window) and kv.in_combo.count() == 4
    first = kv.grid.maps.copy()
    kv.in_combo.setCurrentIndex(2)
    w = wb.controller.predictor.kernels("conv2")
    assert np.allclose(kv.grid.maps, w[:, 2]) and not np.allclose(first, kv.grid.maps)
    assert kv.grid.levels == (-float(np.abs(w).max()), float(np.abs(w).max()))   # one scale per layer


def test_saliency_overlay_toggles(window, qtbot):
    wb = window.workbench
    draw(wb.canvas, vertical_line(wb.canvas.width()))
    wb.saliency_box.setChecked(True)
    qtbot.waitUntil(lambda: wb.input_view._overlay is not None, timeout=3000)
    assert wb.input_view.show_saliency and wb.saliency_seconds > 0
    wb.saliency_box.setChecked(False)
    assert not wb.input_view.show_saliency


def test_switching_models_reruns_the_drawing(window, other_model, qtbot):
    wb = window.workbench
    draw(wb.canvas, loop(wb.canvas.width()))
    before = wb.prediction.probs.copy()
    assert window.controller.load(other_model)
    assert wb.controller.predictor.path == other_model
    assert not np.allclose(before, wb.prediction.probs)           # the same drawing, re-run
    assert set(wb.prediction.activations) == {"conv1", "conv2"}
    assert wb.prediction.activations["conv1"].shape[0] == 6      # the new model's maps
    assert window.picker.combo.currentData() == str(other_model)
    assert "other" in window.model_label.text() and "othernet" in wb.model_info.title.text() + str(
        [wb.model_info.form.itemAt(i).widget().text() for i in range(wb.model_info.form.count())])


def test_picker_lists_user_models_and_switches(qtbot, random_model, private_data_dir):
    from model_factory import make_model

    (private_data_dir / "models").mkdir(parents=True)
    mine = make_model(private_data_dir / "models" / "mine.onnx", arch="mine-net", accuracy=0.991)
    w = MainWindow(model_path=random_model)
    qtbot.addWidget(w)
    combo = w.picker.combo
    labels = [combo.itemText(i) for i in range(combo.count())]
    assert any("mine" in t and "99.10 %" in t for t in labels)
    index = next(i for i, t in enumerate(labels) if "mine" in t)
    combo.activated.emit(index)
    assert w.controller.predictor.path == mine
    w.close()


@pytest.mark.parametrize("kind", ["corrupt", "truncated", "wrong_shape", "not_onnx"])
def test_bad_model_keeps_previous(window, tmp_path, random_model, kind):
    wb = window.workbench
    draw(wb.canvas, loop(wb.canvas.width()))
    before = wb.prediction.probs.copy()
    bad = tmp_path / f"{kind}.onnx"
    if kind == "corrupt":
        bad.write_bytes(bytes(b ^ 0x5A for b in random_model.read_bytes()))
    elif kind == "truncated":
        bad.write_bytes(random_model.read_bytes()[:300])
    elif kind == "wrong_shape":
        make_wrong_shape_model(bad)
    else:
        bad.write_text("not a model")
    assert not window.controller.load(bad)
    assert window.controller.predictor.path == random_model
    assert wb.banner.isVisibleTo(window) and bad.name in wb.banner.text() and "Still using random" in wb.banner.text()
    assert np.allclose(before, wb.prediction.probs)
    assert window.picker.combo.currentData() == str(random_model)
    assert library.ModelLibrary().last_used == random_model.resolve()


def test_model_without_metadata_says_what_it_cannot_show(window, qtbot, tmp_path, pattern_model):
    wb = window.workbench
    assert window.controller.load(make_foreign_model(tmp_path / "foreign.onnx"))
    assert window.controller.predictor.foreign_pending       # its layers are found on a worker thread
    wait_prepared(qtbot, window.controller)
    draw(wb.canvas, vertical_line(wb.canvas.width()))
    assert set(wb.prediction.activations) == {"conv1", "conv2"}    # its conv layers, found in the graph
    assert window.controller.load(pattern_model)                    # a graph with no conv layer at all
    wait_prepared(qtbot, window.controller)
    assert wb.prediction is not None and wb.prediction.activations == {}
    wb.inspector.setCurrentWidget(wb.feature_maps)
    assert "no layer activations" in wb.feature_maps.message.text()
    wb.inspector.setCurrentWidget(wb.kernels_view)
    assert "no digitpad metadata" in wb.kernels_view.message.text()
    assert "Without digitpad metadata" in wb.model_info.note.text()
    assert "no feature maps" in wb.model_info.note.text()
    wb.saliency_box.setChecked(True)   # saliency needs no metadata


def test_remembers_last_model(qtbot, random_model, other_model):
    w = MainWindow(model_path=random_model)
    qtbot.addWidget(w)
    w.controller.load(other_model)
    w.close()
    again = MainWindow()
    qtbot.addWidget(again)
    assert again.controller.predictor.path == other_model
    again.close()


def test_opens_without_any_model(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(library, "shipped_model_path", lambda: tmp_path / "missing.onnx")
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    assert w.controller.predictor is None
    assert "No model" in w.workbench.banner.text() and w.model_label.text() == "No model"
    draw(w.workbench.canvas, vertical_line(w.workbench.canvas.width()))   # drawing still works
    assert w.workbench.prediction is None and "No model" in w.workbench.panel.caption
    w.workbench.build_inspectors()
    assert "No model" in w.workbench.feature_maps.message.text()
    w.close()


def test_last_used_model_gone_falls_back(qtbot, tmp_path, random_model, monkeypatch):
    shipped = random_model
    monkeypatch.setattr(library, "shipped_model_path", lambda: shipped)
    gone = tmp_path / "gone.onnx"
    gone.write_bytes(random_model.read_bytes())
    lib = library.ModelLibrary()
    lib.remember(gone)
    gone.unlink()
    w = MainWindow()
    qtbot.addWidget(w)
    assert w.controller.predictor.path == shipped
    w.close()


def test_tabs_in_order(window):
    assert [window.tabs.tabText(i) for i in range(window.tabs.count())] == ["Draw", "Train", "Evaluate", "My digits"]


def test_what_was_skipped_at_start_is_said_in_the_window(qtbot, random_model, private_data_dir, tmp_path):
    from digitpad.app import MainWindow

    private_data_dir.mkdir(parents=True)
    (private_data_dir / "settings.json").write_text('{"version": 2, "last_model": 7, "opened_models": "x"}')
    (private_data_dir / "models").write_text("a file where the models folder should be")
    (private_data_dir / "my_digits").write_text("a file where My digits should be")
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    w = MainWindow(model_path=broken)
    qtbot.addWidget(w)
    assert w.controller.predictor is not None          # it started, with the shipped model
    text = w.workbench.banner.text()
    assert not w.workbench.banner.isHidden() and "skipped" in text
    for words in ("broken.onnx", "last_model", "opened_models", "models folder", "My digits"):
        assert words in text, words
    w.close()
