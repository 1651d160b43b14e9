"""A digit model from elsewhere in the window: opened at once, made inspectable on a worker, its input
convention shown on the Model page and changeable there."""
from __future__ import annotations

from drawing import draw, seven
from foreign_conventions import wrap
from windows import open_window, wait_prepared

from digitpad.core.convention import Convention
from digitpad.core.paths import shipped_model_path


def test_the_convention_is_found_shown_and_changed(qtbot, tmp_path):
    path = wrap(shipped_model_path(), tmp_path / "keras-like.onnx", "0..255 NHWC")
    w = open_window(qtbot, shipped_model_path())
    wb = w.workbench
    assert w.controller.load(path)
    p = w.controller.predictor
    assert p.foreign_pending                         # opened at once; the search runs on a worker
    pending = [label.text() for label in wb.model_info.findChildren(type(wb.model_info.title))]
    assert any(t.startswith("Finding its layers and how it wants its input") for t in pending)
    wait_prepared(qtbot, w.controller)
    assert p.convention.used.convention == Convention("0..255")
    info = wb.model_info
    texts = [label.text() for label in info.findChildren(type(info.title))]
    assert any(t.startswith("Expects values 0..255, ink white on black, channels last (found)") for t in texts)
    draw(wb.canvas, seven(wb.canvas.width()))
    assert wb.prediction.top == 7 and set(wb.prediction.activations) == set(p.layers) != set()
    # Another convention, chosen on the Model page: used at once and remembered.
    choice = info.convention
    other = next(i for i in range(choice.count()) if choice.itemData(i) == Convention("0..1"))
    choice.setCurrentIndex(other)
    choice.activated.emit(other)
    assert p.convention.chosen == Convention("0..1") and p.input.spec.range == (0.0, 1.0)
    assert w.controller.load(shipped_model_path()) and w.controller.load(path)
    wait_prepared(qtbot, w.controller)
    assert w.controller.predictor.convention.chosen == Convention("0..1")    # remembered for this file
    w.close()


def test_the_model_page_of_a_model_from_elsewhere_fits_its_pane(qtbot, tmp_path):
    """The convention choice's long items ("values -1..1, ink black on white: 100% of 200 (best)") made the
    Model page wider than its pane at 1280x720: every row's text ran out of sight."""
    path = wrap(shipped_model_path(), tmp_path / "torch-like.onnx", "mean/std NCHW")
    w = open_window(qtbot, path, (1280, 720))
    wait_prepared(qtbot, w.controller)
    wb = w.workbench
    wb.inspector.setCurrentIndex(wb.inspector.count() - 1)   # the Model page, the last
    qtbot.waitUntil(lambda: wb.model_info.convention is not None, timeout=20_000)
    qtbot.wait(150)
    page = wb.inspector.currentWidget()
    assert page.widget().width() <= page.viewport().width()
    assert wb.model_info.convention.width() <= page.viewport().width()
    w.close()
