"""Explore and compare in the window: the Map tab (the test set's map, the drawing as a live point, hover
and click), what a feature map responds to (beside the enlarged map), the Compare tab (a second model's
answer and maps live, the disagreement finder), and both models' per-class accuracy in Evaluate. A
small real MNIST test set (400 digits) is written for each test; pictures for the colour and
Fashion-MNIST models."""
from __future__ import annotations

import numpy as np
import pytest
from drawing import draw, loop, seven
from known import write_mnist_sample
from model_factory import make_colour_model, make_fashion_model, make_model
from pictures import write_cifar_folder, write_fashion_idx
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QApplication
from windows import open_window

from digitpad.core.settings import SettingsStore

N = 400


def layout_problems(window) -> list[str]:
    """test_layout's check (a test module, not importable by name under pytest's import mode)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("_layout_checks", Path(__file__).with_name("test_layout.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.layout_problems(window)


@pytest.fixture
def small_mnist(tmp_path, mnist_dir):
    """The first 400 MNIST test digits as a data folder, made the app's data folder."""
    found = write_mnist_sample(tmp_path / "data", mnist_dir, N)
    SettingsStore().update(datasets_folder=str(found[0]))
    return found


@pytest.fixture
def window(qtbot, random_model, small_mnist):
    w = open_window(qtbot, random_model, (1280, 720))
    yield w
    w.close()


def _map_ready(qtbot, view, timeout=30_000):
    qtbot.waitUntil(lambda: view.map is not None and view.map.final, timeout=timeout)
    QApplication.processEvents()


def _viewport_pos(view, i):
    """Where map point ``i`` is on the plot's viewport."""
    scene = view.view.mapViewToScene(QPointF(*map(float, view.map.points[i])))
    return view.plot.mapFromScene(scene)


def test_the_map_shows_the_test_set_and_the_drawing_moves_on_it(window, qtbot, small_mnist, monkeypatch):
    wb = window.workbench
    tm = wb.inspectors.test_map
    assert tm.map is None                               # nothing is made before the tab is shown
    wb.inspector.setCurrentWidget(tm)
    _map_ready(qtbot, tm)
    m = tm.map
    assert len(m) == N and np.array_equal(m.labels, small_mnist[2])
    assert len(tm.classes) == 10 and sum(len(item.data) for item in tm.classes) == N
    assert len(tm.crosses.data) == int(m.mistakes.sum())
    assert "MNIST test set · 400 images" in tm.status.text()
    assert tm.placement is None and len(tm.live.data) == 0      # nothing drawn yet
    draw(wb.canvas, seven(wb.canvas.width()))
    QApplication.processEvents()
    first = tm.placement.position.copy()
    assert len(tm.live.data) == 1 and len(tm.rings.data) == 8
    assert np.allclose(first, m.place(wb.model_input))          # the live point is the drawing's place
    assert len(tm.nearest.keys) == 8 and all(b.isVisible() for b in tm.nearest.buttons)
    lo, hi = m.points.min(axis=0), m.points.max(axis=0)
    assert (first >= lo).all() and (first <= hi).all()           # within the map
    wb.canvas.clear()
    draw(wb.canvas, loop(wb.canvas.width()))
    QApplication.processEvents()
    assert not np.allclose(tm.placement.position, first)          # it moved with the drawing
    wb.canvas.clear()
    QApplication.processEvents()
    assert len(tm.live.data) == 0 and tm.placement is None
    # While the tab is hidden, nothing is placed: the drawing path is as it was.
    wb.inspector.setCurrentWidget(wb.feature_maps)
    monkeypatch.setattr(type(m), "locate", lambda *_a, **_k: pytest.fail("placed while hidden"))
    draw(wb.canvas, seven(wb.canvas.width()))
    QApplication.processEvents()


def test_hover_shows_a_test_image_and_click_opens_it(window, qtbot, small_mnist):
    wb = window.workbench
    tm = wb.inspectors.test_map
    wb.inspector.setCurrentWidget(tm)
    _map_ready(qtbot, tm)
    # A point standing alone, so the pointer is on it and no other.
    d = ((tm.map.points[:, None] - tm.map.points[None]) ** 2).sum(axis=2) + np.eye(N) * 1e9
    i = int(np.argmax(d.min(axis=1)))
    pos = _viewport_pos(tm, i)
    qtbot.mouseMove(tm.plot.viewport(), pos)
    qtbot.waitUntil(lambda: tm.hovered == i, timeout=3000)
    assert tm.hover_box.isVisible() and f"Test image {i:,}" in tm.preview_text.text()
    qtbot.mouseClick(tm.plot.viewport(), Qt.LeftButton, pos=pos)
    qtbot.waitUntil(lambda: wb.source == "test", timeout=3000)
    expected = small_mnist[1][i].astype(np.float32) / 255
    assert np.allclose(wb.model_input[0, 0], expected)           # the Draw tab's one render path for it
    assert f"test image {i:,}" in wb.line.status and wb.prediction is not None
    assert np.allclose(tm.placement.position, tm.map.place(wb.model_input))   # the opened image is the live point
    # A nearest image opens the same way.
    j = tm.nearest.keys[1]
    qtbot.mouseClick(tm.nearest.buttons[1], Qt.LeftButton)
    assert np.allclose(wb.model_input[0, 0], small_mnist[1][j].astype(np.float32) / 255)


def test_what_a_feature_map_responds_to_is_shown_beside_it(window, qtbot, small_mnist):
    wb = window.workbench
    draw(wb.canvas, seven(wb.canvas.width()))
    fm = wb.feature_maps
    fm.chooser.combo.setCurrentText("conv2")
    fm.select_map(3)
    r = fm.responses
    qtbot.waitUntil(lambda: r.top is not None, timeout=30_000)
    assert (r.top.layer, r.top.channel) == ("conv2", 3)
    assert len(r.most.keys) == 8 and len(r.least.keys) == 8 and r.most.isVisible()
    assert (np.diff(r.top.values) <= 0).all()                        # strongest first
    assert "Map 3 responds most to" in r.most_title.text()
    i = r.most.keys[0]
    qtbot.mouseClick(r.most.buttons[0], Qt.LeftButton)
    assert wb.source == "test" and np.allclose(wb.model_input[0, 0], small_mnist[1][i].astype(np.float32) / 255)
    # Another map of the layer: a sort of the same pass (no new run over the test set).
    fm.select_map(5)
    qtbot.waitUntil(lambda: r.top is not None and r.top.channel == 5, timeout=10_000)
    fm.clear_selection()
    assert r.top is None and not r.most.keys


def test_two_models_side_by_side_and_where_they_disagree(window, qtbot, other_model, small_mnist):
    wb = window.workbench
    cv = wb.inspectors.compare
    wb.inspector.setCurrentWidget(cv)
    assert cv.stack.currentIndex() == 0 and "Pick a second model" in cv.empty_text.text()
    assert [cv.picker.itemText(i) for i in range(cv.picker.count())][-1] == "Open a file…"
    assert window.controller.second.load(other_model)
    assert cv.stack.currentIndex() == 1 and cv.picker.currentText() == "other"
    draw(wb.canvas, seven(wb.canvas.width()))
    QApplication.processEvents()
    first, second = window.controller.predictor, window.controller.second.predictor
    assert np.allclose(cv.bars.probs[0], wb.prediction.probs)
    assert np.allclose(cv.bars.probs[1], second.predict(wb.model_input).probs)   # the same drawing, live
    assert cv.maps[0].grid.maps is not None and cv.maps[1].grid.maps is not None
    assert cv.maps[1].layer.currentText() == "conv1" and cv.maps[1].grid.maps.shape[0] == 6
    qtbot.waitUntil(lambda: cv.comparison is not None, timeout=30_000)
    d = cv.listed
    a = first.predict_batch(small_mnist[1].astype(np.float32)[:, None] / 255).argmax(axis=1)
    b = second.predict_batch(small_mnist[1].astype(np.float32)[:, None] / 255).argmax(axis=1)
    assert sorted(d.indices) == sorted(np.flatnonzero(a != b)) and cv.list.count() == min(len(d), 200)
    sure = np.minimum(d.first_confidence, d.second_confidence)
    assert (np.diff(sure) <= 1e-7).all()                             # both surest first
    assert f"{len(d):,} of {N}" in cv.found.text()
    cv.order.setCurrentIndex(2)
    assert (np.diff(cv.listed.second_confidence) <= 1e-7).all()
    i = int(cv.list.item(0).data(Qt.UserRole))
    qtbot.mouseClick(cv.list.viewport(), Qt.LeftButton, pos=cv.list.visualItemRect(cv.list.item(0)).center())
    assert wb.source == "test" and np.allclose(wb.model_input[0, 0], small_mnist[1][i].astype(np.float32) / 255)
    assert "other says" in wb.line.status
    assert not layout_problems(window)
    window.controller.second.clear()
    assert cv.stack.currentIndex() == 0


def test_evaluate_shows_both_models_per_class_accuracy(qtbot, controller, pattern_model, known_set, tmp_path):
    from digitpad.gui.evaluate.view import EvaluationView

    controller.load(pattern_model)
    view = EvaluationView(controller)
    qtbot.addWidget(view)
    view.folder.setText(str(known_set[0]))
    view.resize(1280, 700)
    with qtbot.waitSignal(view.evaluated, timeout=20_000):
        view.show()
    assert view.matrix.columnCount() == 11
    second = make_model(tmp_path / "second.onnx", seed=4)
    assert controller.second.load(second)
    qtbot.waitUntil(lambda: view.second_result is not None, timeout=20_000)
    m = view.matrix
    assert m.columnCount() == 12 and m.horizontalHeaderItem(11).text() == "Compared"
    per = view.second_result.per_class_accuracy
    for r in range(10):
        assert m.item(r, 10).text() == ("100 %" if view.result.per_class_accuracy[r] >= 1 else
                                        f"{view.result.per_class_accuracy[r] * 100:.1f} %")
        assert m.item(r, 11).text() == ("100 %" if per[r] >= 1 else f"{per[r] * 100:.1f} %")
    assert "second" in view.compare_note.full and view.compare_picker.currentText() == "second"
    controller.second.clear()
    assert m.columnCount() == 11 and view.compare_note.full == ""


def test_a_second_model_that_reads_other_images_says_so(qtbot, controller, pattern_model, known_set, tmp_path):
    from digitpad.gui.evaluate.view import EvaluationView

    controller.load(pattern_model)
    view = EvaluationView(controller)
    qtbot.addWidget(view)
    view.folder.setText(str(known_set[0]))
    with qtbot.waitSignal(view.evaluated, timeout=20_000):
        view.show()
    controller.second.load(make_colour_model(tmp_path / "colour.onnx"))
    assert "no test images in common" in view.compare_note.full and view.matrix.columnCount() == 11


@pytest.mark.parametrize("kind", ["colour", "fashion"])
def test_pictures_models_get_their_map_and_comparison(qtbot, tmp_path, kind):
    """A colour (CIFAR-10-shaped) and a Fashion-MNIST model: their own test set's map, a test image from the
    strip as the live point, and a second model of the same kind on the same image."""
    rng = np.random.default_rng(0)
    data = tmp_path / "data"
    if kind == "colour":
        write_cifar_folder(data)
        model, other = make_colour_model(tmp_path / "a.onnx"), make_colour_model(tmp_path / "b.onnx", seed=3)
    else:
        write_fashion_idx(data, rng.integers(0, 256, (40, 28, 28)).astype(np.uint8), rng.integers(0, 10, 40))
        model, other = make_fashion_model(tmp_path / "a.onnx"), make_fashion_model(tmp_path / "b.onnx", seed=3)
    SettingsStore().update(datasets_folder=str(data))
    w = open_window(qtbot, model, (1280, 720))
    wb = w.workbench
    qtbot.waitUntil(lambda: wb.strip.page is not None and not wb.strip.jobs.busy(), timeout=20_000)
    tm = wb.inspectors.test_map
    wb.inspector.setCurrentWidget(tm)
    _map_ready(qtbot, tm)
    assert len(tm.map) == (30 if kind == "colour" else 40)
    wb.strip.choose(2)
    QApplication.processEvents()
    assert tm.placement is not None and tm.placement.nearest[0] == wb.strip.entries[2][0]   # its own image nearest
    w.controller.second.load(other)
    wb.inspector.setCurrentWidget(wb.inspectors.compare)
    QApplication.processEvents()
    cv = wb.inspectors.compare
    assert cv.bars.probs[1] is not None and np.allclose(cv.bars.probs[1],
                                                        w.controller.second.predictor.predict(wb.model_input).probs)
    qtbot.waitUntil(lambda: cv.comparison is not None, timeout=30_000)
    assert not layout_problems(w)
    w.close()
