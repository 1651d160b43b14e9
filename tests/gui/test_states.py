"""Honest states: a disabled control looks disabled and says why; no text outlives what it
was about; saliency reads on black; the inspectors use their pane and say why they are empty."""
from __future__ import annotations

import json

import numpy as np
import pytest
from drawing import draw, loop, seven
from model_factory import make_model
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractButton, QCheckBox, QComboBox, QPushButton, QSpinBox, QTabBar, QToolButton

from digitpad.gui import style


def _darkest(widget) -> float:
    """The lowest relative luminance among the widget's pixels (its text, if any is dark)."""
    img = widget.grab().toImage()
    return min(style.relative_luminance(QColor(img.pixel(x, y)))
               for x in range(0, img.width(), 1) for y in range(0, img.height(), 1))


@pytest.mark.parametrize("make", [lambda: QPushButton("Resume"), lambda: QToolButton(text="Undo"),
                                  lambda: _combo(), lambda: QCheckBox("Augment"), lambda: _spin()])
def test_disabled_controls_look_disabled(qtbot, window, make):
    """One disabled style: text at FAINT, never at TEXT (the palette's Disabled group was TEXT too)."""
    w = make()
    qtbot.addWidget(w)
    w.resize(160, 32)
    w.show()
    enabled = _darkest(w)
    w.setEnabled(False)
    disabled = _darkest(w)
    assert enabled < 0.05, "the enabled control has dark text"
    # FAINT text is 0.49; the Fusion frames and arrows of a disabled control are ~0.42; TEXT is 0.016.
    assert disabled >= 0.3, f"{type(w).__name__} looks enabled"


def _combo():
    c = QComboBox()
    c.addItem("AdamW")
    return c


def _spin():
    s = QSpinBox()
    s.setValue(128)
    return s


def _disabled_without_reason(window) -> list[str]:
    return [f"{type(b).__name__} {b.text()!r} in {type(b.parent()).__name__} {b.parent().objectName()}"
            for b in window.findChildren(QAbstractButton)
            if b.isVisible() and not b.isEnabled() and not b.toolTip().strip()
            and not isinstance(b.parent(), QTabBar)]   # a tab bar's own scroll arrows


def test_every_disabled_button_says_why(window, qtbot, private_data_dir, random_model, monkeypatch):
    runs = private_data_dir / "models"
    runs.mkdir(parents=True, exist_ok=True)
    (runs / "done.onnx").write_bytes(random_model.read_bytes())
    (runs / "done.run.json").write_text(json.dumps({"config": {"arch": "x", "epochs": 1}, "status": "completed",
                                                   "history": [{"epoch": 1, "test_accuracy": 0.5}]}))
    window.training.refresh_history()
    for i in range(window.tabs.count()):
        window.tabs.setCurrentIndex(i)
        qtbot.wait(20)
        assert not _disabled_without_reason(window), window.tabs.tabText(i)
    window.tabs.setCurrentWidget(window.training)
    window.training.views.setCurrentIndex(1)
    hist = window.training.history
    hist.table.selectRow(0)
    assert not hist.resume_button.isEnabled() and "completed" in hist.resume_button.toolTip()
    assert not _disabled_without_reason(window)
    my = window.my_digits
    assert not my.finetune.button.isEnabled() and "no PyTorch checkpoint" in my.finetune.button.toolTip()
    from digitpad.core.handwriting import finetune

    monkeypatch.setattr(finetune, "finetune_blocker", lambda *args, **kwargs: None)   # as if it had a checkpoint
    my.finetune.update_state()
    assert not my.finetune.button.isEnabled() and "Too few samples" in my.finetune.button.toolTip()
    assert not my.next_button.isEnabled() and "Start a guided set first" in my.next_button.toolTip()
    my.start_guided()
    assert my.next_button.isEnabled() and "Save this drawing" in my.next_button.toolTip()   # its help is back


def test_the_feature_map_caption_follows_the_layer(window):
    fm = window.workbench.feature_maps
    window.workbench.inspector.setCurrentWidget(fm)
    draw(window.workbench.canvas, loop(window.workbench.canvas.width()))
    fm.select_map(2)
    assert "conv1, map 2" in fm.detail_title.text() and fm.detail.isVisible()
    fm.chooser.combo.setCurrentText("conv2")
    assert fm.selected is None and not fm.detail.isVisible() and fm.detail_title.text() == ""
    assert "map 2" not in fm.chooser.info.text() and "click one" in fm.chooser.info.text()


def test_no_colour_bar_before_a_drawing_and_a_reason_instead(window):
    fm = window.workbench.feature_maps
    window.workbench.inspector.setCurrentWidget(fm)
    assert fm.stack.currentIndex() == 0 and "Draw a digit" in fm.message.text()
    assert not fm.grid.isVisible() and not fm.grid.bar.isVisible()
    draw(window.workbench.canvas, loop(window.workbench.canvas.width()))
    assert fm.grid.isVisible() and fm.grid.bar.isVisible()
    window.workbench.canvas.clear()
    assert fm.stack.currentIndex() == 0 and not fm.grid.bar.isVisible()


def test_a_model_without_layers_shows_no_empty_layer_box(window, pattern_model):
    wb = window.workbench
    assert window.controller.load(pattern_model)   # no metadata and no conv layer in its graph
    for view in (wb.feature_maps, wb.kernels_view):
        wb.inspector.setCurrentWidget(view)
        assert not view.chooser.isVisible() and view.message.isVisible()
        assert view.message.mapTo(view, view.message.rect().topLeft()).y() < view.height() // 4   # at the top


def test_wide_kernels_come_in_pages_on_one_scale(window, tmp_path):
    wb = window.workbench
    assert window.controller.load(make_model(tmp_path / "wide.onnx", channels=(40, 24)))
    fm = wb.feature_maps
    wb.inspector.setCurrentWidget(fm)
    draw(wb.canvas, seven(wb.canvas.width()))
    fm.chooser.combo.setCurrentText("conv2")
    fm.select_map(5)
    pager, k = fm.kernel_pager, window.controller.predictor.kernels("conv2")[5]
    assert pager.pages == 3 and fm.kernel.maps.shape == (16, 3, 3)
    assert pager.prev_button.isVisible() and not pager.prev_button.isEnabled() and pager.prev_button.toolTip()
    pager.next_button.click()
    pager.next_button.click()
    assert np.allclose(fm.kernel.maps, k[32:]) and "inputs 33–40 of 40" in pager.page_label.text()
    m = float(np.abs(k).max())
    assert fm.kernel.levels == (-m, m)
    assert fm.large.width() > 0.3 * fm.width() or fm.large.height() > 0.3 * fm.height()   # uses the pane


def test_saliency_colours_read_on_black():
    from digitpad.gui.draw.input_view import saliency_rgba

    for colour in (style.SUPPORTS, style.ARGUES_AGAINST):
        faintest = style.blend(colour, style.INPUT_BG, style.SALIENCY_MIN_ALPHA)
        assert style.contrast_ratio(faintest, style.INPUT_BG) >= 3.0, colour
        assert style.contrast_ratio(colour, style.INPUT_BG) >= 6.0, colour
    assert style.contrast_ratio("#3c8cff", style.INPUT_BG) < 6.5   # the old blue, for the record
    sal = np.zeros((28, 28), np.float32)
    sal[5, 5], sal[20, 20], sal[10, 10] = 1.0, -0.2, 0.05      # strong for, weak against, noise
    rgba = saliency_rgba(sal)
    assert rgba[10, 10, 3] == 0                                  # below the floor: not drawn
    drawn = rgba[20, 20]
    shown = style.blend(QColor(*drawn[:3]), style.INPUT_BG, drawn[3] / 255)
    assert style.contrast_ratio(shown, style.INPUT_BG) >= 3.0     # a weak "against" still reads on black
    assert QColor(*drawn[:3]).blue() > QColor(*drawn[:3]).red()   # and it is the cool colour


def _live_run(qtbot, total_steps: int, epochs: int, steps: range, lr: float):
    """A Train tab chart and the state of a run that has sent ``steps`` at a constant ``lr``."""
    from digitpad.client.state import RunState
    from digitpad.gui.train.curves import CurvesView

    view = CurvesView()
    qtbot.addWidget(view)
    st = RunState(status="running")
    st.feed({"event": "start", "total_steps": total_steps, "steps_per_epoch": total_steps // epochs,
             "config": {"epochs": epochs}})
    for s in steps:
        st.feed({"event": "step", "step": s, "loss": 5.0 / s, "lr": lr, "elapsed_s": s / 50})
    return view, st


def test_a_new_runs_empty_charts_drop_the_old_axes(qtbot):
    from digitpad.gui.train.curves import EMPTY_RANGE

    view, st = _live_run(qtbot, 2000, 2, range(10, 2001, 10), lr=0.1)
    st.feed({"event": "epoch", "epoch": 1, "test_loss": 3.0, "test_accuracy": 0.5, "elapsed_s": 21.0})
    view.show_live(st)
    assert view.plots["train_loss"].item.viewRange()[0][1] > 1000
    view.reset_live()
    for p in view.plots.values():
        (x0, x1), (y0, y1) = p.item.viewRange()
        assert (x0, x1) == pytest.approx(EMPTY_RANGE, abs=0.02) and (y0, y1) == pytest.approx(EMPTY_RANGE, abs=0.02)
    view.set_x_mode("time")
    view.show_live(st)
    xs = view.plots["train_loss"].series[0][1]
    assert xs[-1] == pytest.approx(40.0)                          # seconds, not steps
    assert "train" not in view.plots["test_accuracy"].title_text  # no train accuracy in these events
    st.feed({"event": "epoch", "epoch": 2, "test_accuracy": 0.6, "train_accuracy": 0.7, "elapsed_s": 42.0})
    view.show_live(st)
    assert "train" in view.plots["test_accuracy"].title_text


def test_a_constant_learning_rate_is_drawn_mid_height_not_on_the_floor(qtbot):
    view, st = _live_run(qtbot, 500, 1, range(10, 301, 10), lr=0.001)
    view.show_live(st)
    (_x0, _x1), (y0, y1) = view.plots["lr"].item.viewRange()
    assert (y0, y1) == pytest.approx((0.0, 0.002), abs=1e-4)   # 0.001 at half height (was 0..1)
    for s in range(310, 501, 10):   # the rate starts to move: the axis follows it again
        st.feed({"event": "step", "step": s, "loss": 1.0 / s, "lr": 0.001 * (500 - s) / 200, "elapsed_s": s / 50})
    view.show_live(st)
    view.plots["lr"].item.getViewBox().updateAutoRange()   # pyqtgraph applies it when it next paints
    (_x0, _x1), (y0, y1) = view.plots["lr"].item.viewRange()
    assert 0.001 <= y1 < 0.0015 and y0 < 0.0002


def test_evaluate_drops_old_results_after_an_error(qtbot, pattern_model, known_set, tmp_path, monkeypatch):
    from digitpad.app import MainWindow
    from digitpad.gui.evaluate import view as view_module

    monkeypatch.setattr(view_module.EvaluationView, "_default_folder", lambda self: str(known_set[0]))
    w = MainWindow(model_path=pattern_model)
    qtbot.addWidget(w)
    w.show()
    ev = w.evaluation
    with qtbot.waitSignal(ev.evaluated, timeout=20_000):
        w.tabs.setCurrentWidget(ev)
    assert ev.gallery.count() and ev.matrix.item(0, 0).text()
    empty = tmp_path / "empty"
    empty.mkdir()
    with qtbot.waitSignal(ev.failed, timeout=20_000):
        ev.folder.setText(str(empty))
        ev.evaluate()
    assert ev.result is None and ev.gallery.count() == 0 and ev.matrix.item(0, 0).text() == ""
    assert not ev.all_button.isEnabled() and ev.all_button.toolTip()
    w.close()
