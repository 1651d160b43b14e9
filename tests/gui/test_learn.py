"""The Draw tab's Learn inspector (issue 23): the loss's gradients for the drawing shown (the input, a
layer's kernels, its feature maps), one SGD step on the drawing and what it changed, saving the stepped
model, and the backward side of a unit's arithmetic; on the shipped model, and without crashing on a
model from elsewhere, an 8x8 model, a colour model and a Fashion-MNIST model.

The gradients come from a worker (``Backprop``); the tests wait for them and compare what the views show
with ``Predictor.gradients`` (the core's backward pass, itself checked against autograd in tests/core).
"""
from __future__ import annotations

import os

import numpy as np
import pytest
from drawing import draw, seven, vertical_line
from known import write_mnist_sample
from model_factory import make_colour_model, make_fashion_model, make_foreign_model
from pictures import write_cifar_folder, write_fashion_idx
from PySide6.QtCore import QPointF, Qt
from windows import open_window

from digitpad.core import paths
from digitpad.core.inference import Predictor
from digitpad.core.settings import SettingsStore
from digitpad.gui.draw.learn_view import AFTER, BEFORE, GRADIENT

N = 300   # MNIST test digits written for the step's sample


@pytest.fixture
def small_mnist(tmp_path, mnist_dir):
    folder, _, _ = write_mnist_sample(tmp_path / "data", mnist_dir, N)
    SettingsStore().update(datasets_folder=str(folder))
    return folder


@pytest.fixture
def shipped(qtbot, small_mnist):
    w = open_window(qtbot, paths.shipped_model_path(), (1280, 720))
    draw(w.workbench.canvas, seven(w.workbench.canvas.width()))
    yield w
    w.close()


def _learn(qtbot, w):
    """The Learn tab shown, its gradients (or the reason there are none) in."""
    wb = w.workbench
    view = wb.inspectors.learn
    wb.inspector.setCurrentWidget(view)
    qtbot.waitUntil(lambda: wb.backprop.gradients is not None or wb.backprop.reason is not None, timeout=20_000)
    return wb, view


def _choose_label(qtbot, wb, view, label: int | None) -> None:
    """Pick ``label`` in the "Loss for" box as a user does (None: the first entry, the answer or correction)."""
    i = 0 if label is None else view.label_combo.findData(label)
    view.label_combo.setCurrentIndex(i)
    view.label_combo.activated.emit(i)
    qtbot.waitUntil(lambda: wb.backprop.gradients is not None and wb.backprop.gradients.label == wb.backprop.label,
                    timeout=20_000)


def _show(view, data: str) -> None:
    i = view.what.findData(data)
    assert i >= 0, data
    view.what.setCurrentIndex(i)


def _take_step(qtbot, view, rate: float | None = None):
    panel = view.step_panel
    if rate is not None:
        panel.rate.setCurrentIndex(panel.rate.findData(rate))
    n = len(panel.steps)
    assert panel.take_button.isEnabled()
    qtbot.mouseClick(panel.take_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: len(panel.steps) == n + 1, timeout=30_000)
    return panel.step


def test_learn_shows_the_gradients_of_the_drawing_on_the_shipped_model(shipped, qtbot):
    wb, view = _learn(qtbot, shipped)
    p, x = wb.controller.predictor, wb.model_input
    g = wb.backprop.gradients
    want = p.gradients(x, 7)
    assert wb.prediction.top == 7 and g.label == 7
    assert g.loss == pytest.approx(want.loss, rel=1e-6)
    assert g.loss == pytest.approx(-np.log(wb.prediction.probs[7]), rel=1e-3, abs=1e-5)   # ORT's answer, too
    assert view.label_combo.itemText(0) == "7 (the answer)"
    assert f"{g.loss:.4f}" in view.loss.text()
    # over the image: −dL/dx, where more ink would make "7" more likely
    assert view.stack.currentWidget() is view.image and view.image._overlay is not None
    assert np.allclose(view.input_shown, -want.input[0, 0], rtol=1e-5, atol=1e-9)
    assert np.abs(view.input_shown).max() > 0
    # every conv layer's kernels and feature maps are offered
    offered = {view.what.itemData(i) for i in range(view.what.count())}
    assert {f"{kind}:{layer}" for layer in p.layers for kind in ("kernels", "maps")} <= offered
    _show(view, "kernels:conv1")
    assert view.stack.currentWidget() is view.grid and not view.channel.isVisible()
    assert np.allclose(view.grid.maps, want.kernels["conv1"][:, 0], rtol=1e-5, atol=1e-9)
    assert "dL/dW of conv1: 32 kernels 3×3" in view.info.text()
    _show(view, "kernels:conv2")   # 32 input channels: one at a time
    assert view.channel.isVisible() and view.channel.count() == 32
    view.channel.setCurrentIndex(5)
    assert np.allclose(view.grid.maps, want.kernels["conv2"][:, 5], rtol=1e-5, atol=1e-9)
    _show(view, "maps:conv3")
    assert np.allclose(view.grid.maps, want.activations["conv3"], rtol=1e-5, atol=1e-9)
    assert not any(b.isVisible() for b in view.show_buttons)   # no step yet: nothing before or after
    # the drawing changes: the gradients follow it
    draw(wb.canvas, vertical_line(wb.canvas.width()))
    qtbot.waitUntil(lambda: wb.backprop.gradients is not None and wb.backprop.x is wb.model_input, timeout=20_000)
    again = p.gradients(wb.model_input, wb.prediction.top)
    assert np.allclose(view.grid.maps, again.activations["conv3"], rtol=1e-5, atol=1e-9)


def test_the_loss_follows_the_correction_and_the_label_picked(shipped, qtbot):
    wb, view = _learn(qtbot, shipped)
    answer_loss = wb.backprop.gradients.loss
    wb.corrections.correct(1)   # "Wrong? It was 1"
    qtbot.waitUntil(lambda: wb.backprop.gradients is not None and wb.backprop.gradients.label == 1, timeout=20_000)
    assert view.label_combo.itemText(0) == "1 (your correction)" and view.label_combo.currentIndex() == 0
    assert wb.backprop.gradients.loss > answer_loss + 1   # the model is sure it is a 7
    _choose_label(qtbot, wb, view, 3)
    g = wb.backprop.gradients
    assert g.label == 3 and view.label_combo.currentIndex() == view.label_combo.findData(3)
    assert g.loss == pytest.approx(wb.controller.predictor.gradients(wb.model_input, 3).loss, rel=1e-6)
    assert "p(3)" in view.loss.text()
    _choose_label(qtbot, wb, view, None)   # back to the correction
    assert wb.backprop.gradients.label == 1
    draw(wb.canvas, vertical_line(wb.canvas.width()))   # a new drawing: the correction was about the old one
    qtbot.waitUntil(lambda: wb.backprop.x is wb.model_input and wb.backprop.gradients is not None, timeout=20_000)
    assert wb.backprop.label == wb.prediction.top and wb.backprop.label_source != "correction"


def test_one_step_moves_the_answer_towards_the_label(shipped, qtbot):
    wb, view = _learn(qtbot, shipped)
    _choose_label(qtbot, wb, view, 1)
    p, x = wb.controller.predictor, wb.model_input
    g = wb.backprop.gradients
    in_use = p.predict(x).probs
    step = _take_step(qtbot, view, 0.1)
    panel = view.step_panel
    after = step.predictor.predict(x).probs
    # gradient descent on −log p(1): p(1) up, the loss down; the model in use untouched
    assert step.label == 1 and step.learning_rate == 0.1
    assert after[1] > g.probs[1] and step.loss < g.loss
    assert np.allclose(after, step.probs, atol=1e-5)
    assert wb.controller.predictor is p and np.allclose(p.predict(x).probs, in_use)
    assert np.allclose(panel.bars.before, g.probs) and np.allclose(panel.bars.after, step.probs)
    assert "p(1)" in panel.result.text() and "loss" in panel.result.text()
    # the kernels before and after: every weight moved by −0.1 × dL/dw
    _show(view, "kernels:conv1")
    assert all(b.isVisible() for b in view.show_buttons)
    view.show_buttons[BEFORE].click()
    before = p.kernels("conv1")
    assert np.allclose(view.grid.maps, before[:, 0])
    view.show_buttons[AFTER].click()
    assert np.allclose(view.grid.maps, step.predictor.kernels("conv1")[:, 0])
    assert np.allclose(step.predictor.kernels("conv1") - before, -0.1 * g.kernels["conv1"], atol=1e-6)
    assert "after the step" in view.info.text()
    # the drawing's feature maps before and after
    _show(view, "maps:conv4")
    view.show_buttons[AFTER].click()
    assert view.stack.currentWidget() is view.values
    assert np.allclose(view.values.maps, step.predictor.predict(x).activations["conv4"], atol=1e-5)
    view.show_buttons[GRADIENT].click()
    assert np.allclose(view.grid.maps, g.activations["conv4"])
    # the rest of the test set, measured in the background
    qtbot.waitUntil(lambda: "test images:" in panel.sample.text(), timeout=60_000)
    change = panel.changes[id(step)][0]
    assert change.images == N and "→" in panel.sample.text()
    assert change.accuracy_before > 0.9   # the shipped model on real digits
    # steps stack, Undo drops the last
    second = _take_step(qtbot, view, 0.1)
    assert second.number == 2 and second.origin is p and second.probs[1] > step.probs[1]
    assert panel.undo_button.text() == "Undo (2)"
    panel.undo_button.click()
    assert panel.step is step and len(panel.steps) == 1
    # a new drawing forgets the steps: they were about the old one
    draw(wb.canvas, vertical_line(wb.canvas.width()))
    assert panel.step is None and not panel.undo_button.isEnabled() and not panel.save_button.isEnabled()


def test_saving_the_stepped_model_writes_a_new_file_atomically(shipped, qtbot, monkeypatch):
    wb, view = _learn(qtbot, shipped)
    p, x = wb.controller.predictor, wb.model_input
    panel = view.step_panel
    assert not panel.save_button.isEnabled()   # nothing to save before a step
    folder = paths.models_dir()
    before = set(folder.iterdir()) if folder.exists() else set()
    step = _take_step(qtbot, view, 0.03)
    qtbot.waitUntil(lambda: "test images:" in panel.sample.text(), timeout=60_000)
    renames = []
    real_replace = os.replace

    def replace(src, dst):
        renames.append((os.fspath(src), os.fspath(dst)))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    assert panel.save_button.isEnabled()
    panel.save_button.click()
    qtbot.waitUntil(lambda: panel.note.isVisible(), timeout=20_000)
    monkeypatch.setattr(os, "replace", real_replace)   # not undo(): that would undo the private data folder too
    new = set(folder.iterdir()) - before
    assert len(new) == 1, new
    path = new.pop()
    assert path.name == f"{p.path.stem}-step1.onnx" and path.name in panel.note.text()
    # written to a temporary file beside it, then renamed over in one step; nothing left behind
    src, dst = next((s, d) for s, d in renames if d == str(path))
    assert os.path.dirname(src) == str(folder) and src != dst
    assert not [f for f in folder.iterdir() if f.name.startswith(".")]
    saved = Predictor(path)
    assert np.allclose(saved.predict(x).probs, step.probs, atol=1e-5)
    step_meta = saved.metadata.training["step"]
    assert step_meta["label"] == 7 and step_meta["learning_rate"] == 0.03 and step_meta["steps"] == 1
    assert saved.metadata.metrics["sample_images"] == N
    assert wb.controller.predictor is p   # still the model in use, and the new one is in the list
    assert path in {e.path for e in wb.controller.entries}
    # a second save never overwrites the first
    panel.save_button.click()
    qtbot.waitUntil(lambda: "-step1-2.onnx" in panel.note.text(), timeout=20_000)
    assert {f.name for f in folder.iterdir()} >= {path.name, f"{p.path.stem}-step1-2.onnx"}


def test_a_failed_save_leaves_nothing_behind(shipped, qtbot, monkeypatch):
    wb, view = _learn(qtbot, shipped)
    panel = view.step_panel
    _take_step(qtbot, view)
    folder = paths.models_dir()

    def refuse(src, dst):
        raise OSError(28, "No space left on device")

    real_replace = os.replace
    monkeypatch.setattr(os, "replace", refuse)
    panel.save_button.click()
    qtbot.waitUntil(lambda: panel.note.isVisible(), timeout=20_000)
    monkeypatch.setattr(os, "replace", real_replace)
    assert panel.note.text().startswith("Could not save") and "No space left" in panel.note.text()
    assert not folder.exists() or not [f for f in folder.iterdir() if "step" in f.name]


def _viewport_pos(grid, tile: int, row: int, col: int):
    x, y = grid.tile_origin(tile)
    return grid.mapFromScene(grid.view.mapViewToScene(QPointF(x + col + 0.5, y + row + 0.5)))


def test_a_click_on_a_maps_gradient_opens_the_units_backward_arithmetic(shipped, qtbot):
    wb, view = _learn(qtbot, shipped)
    _choose_label(qtbot, wb, view, 1)
    _show(view, "maps:conv4")
    qtbot.wait(50)   # the grid lays itself out
    g = wb.backprop.gradients
    a = g.activations["conv4"]
    c, r, col = (int(i) for i in np.unravel_index(int(np.argmax(np.abs(a))), a.shape))
    qtbot.mouseClick(view.grid.viewport(), Qt.LeftButton, pos=_viewport_pos(view.grid, c, r, col))
    assert wb.inspector.currentWidget() is wb.arithmetic
    section = wb.inspectors.backward
    qtbot.waitUntil(lambda: section.shown is not None, timeout=20_000)
    b = section.shown
    assert b.label == 1 and b.index[-2:] == (r, col)
    assert b.grad == pytest.approx(float(a[c, r, col]), rel=1e-4)
    assert section.isVisible() and "dL/d(this unit)" in section.summary.text()
    assert "For the label <b>1</b>" in section.summary.text()
    if not b.stops and b.kind == "conv":   # the split over the kernel's weights and the window's inputs
        assert section.rows[0][0].isVisible() and "dL/dW" in section.split.text()


def _check_learn_works(qtbot, w, step: bool = True) -> None:
    """Whatever the model: the Learn tab shows gradients (or says why not), a step can be taken, nothing fails."""
    wb, view = _learn(qtbot, w)
    if wb.backprop.reason is not None:
        assert view.stack.currentWidget() is not view.grid and wb.backprop.reason in view.message.text()
        return
    p, x = wb.controller.predictor, wb.model_input
    g = wb.backprop.gradients
    assert g.input.shape == x.shape and np.isfinite(g.loss)
    assert view.input_shown.shape == p.input_shape[1:]
    for i in range(view.what.count()):
        view.what.setCurrentIndex(i)
        for j in range(view.channel.count()):
            view.channel.setCurrentIndex(j)
    if step:
        s = _take_step(qtbot, view, 0.1)
        assert s.probs[s.label] >= g.probs[s.label] - 1e-6
        for i in range(view.what.count()):
            view.what.setCurrentIndex(i)
            for b in view.show_buttons:
                if b.isVisible():
                    b.click()
        qtbot.waitUntil(lambda: not view.step_panel.sampler.busy(), timeout=30_000)


def test_a_model_from_elsewhere(qtbot, tmp_path):
    w = open_window(qtbot, make_foreign_model(tmp_path / "foreign.onnx"))
    wb = w.workbench
    draw(wb.canvas, seven(wb.canvas.width()))
    _check_learn_works(qtbot, w)
    view = wb.inspectors.learn
    assert wb.backprop.gradients is not None and set(wb.backprop.gradients.kernels) == {"conv1", "conv2"}
    assert view.what.findData("kernels:conv2") >= 0   # its layers, found on a worker, are offered
    assert not view.step_panel.save_button.isEnabled()   # no digitpad metadata to write the step into
    w.close()


def test_a_model_the_backward_pass_cannot_follow_says_why(qtbot, tmp_path):
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    nodes = [helper.make_node("Gather", ["image", "idx"], ["g"], axis=3),
             helper.make_node("Flatten", ["g"], ["f"]),
             helper.make_node("MatMul", ["f", "w"], ["logits"])]
    inits = [numpy_helper.from_array(np.array([2, 0, 1], np.int64), "idx"),
             numpy_helper.from_array(rng.normal(0, 0.1, (28 * 3, 10)).astype(np.float32), "w")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 28, 28])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / "gather.onnx"
    path.write_bytes(model.SerializeToString())
    w = open_window(qtbot, path)
    wb = w.workbench
    draw(wb.canvas, seven(wb.canvas.width()))
    wb, view = _learn(qtbot, w)
    assert wb.backprop.reason is not None and "Gather" in wb.backprop.reason
    assert view.stack.currentIndex() == 0 and "Gather" in view.message.text()
    assert not view.step_panel.isVisible()   # no gradients, no step
    draw(wb.canvas, vertical_line(wb.canvas.width()))   # and it stays said, without asking the worker again
    assert "Gather" in view.message.text()
    w.close()


def test_an_8x8_model(qtbot, model_8x8):
    w = open_window(qtbot, model_8x8)
    wb = w.workbench
    draw(wb.canvas, seven(wb.canvas.width()))
    _check_learn_works(qtbot, w)
    assert wb.backprop.gradients is not None and wb.backprop.gradients.input.shape == (1, 1, 8, 8)
    w.close()


@pytest.mark.parametrize("kind", ["colour", "fashion"])
def test_models_that_take_pictures(qtbot, tmp_path, kind):
    data = tmp_path / "data"
    if kind == "colour":
        write_cifar_folder(data)
        model = make_colour_model(tmp_path / "colour.onnx")
    else:
        rng = np.random.default_rng(0)
        write_fashion_idx(data, rng.integers(0, 256, (40, 28, 28)).astype(np.uint8), rng.integers(0, 10, 40))
        model = make_fashion_model(tmp_path / "fashion.onnx")
    SettingsStore().update(datasets_folder=str(data))
    w = open_window(qtbot, model, (1280, 720))
    wb = w.workbench
    view = wb.inspectors.learn
    wb.inspector.setCurrentWidget(view)
    assert "Pick" in view.message.text() or "image" in view.message.text()   # nothing shown yet: it asks
    qtbot.waitUntil(lambda: wb.strip.page is not None and not wb.strip.jobs.busy(), timeout=20_000)
    wb.strip.choose(2)
    _check_learn_works(qtbot, w)
    g = wb.backprop.gradients
    assert g is not None
    if kind == "colour":
        assert g.input.shape == (1, 3, 32, 32)
        _show(view, f"kernels:{wb.controller.predictor.layers[0]}")
        assert view.channel.itemText(0) == "colour (RGB)" and view.channel.count() == 4
        view.channel.setCurrentIndex(0)
        assert view.grid.maps.ndim == 4 and view.grid.maps.shape[-1] == 3   # each kernel as one RGB patch
    panel = view.step_panel
    qtbot.waitUntil(lambda: "test images:" in panel.sample.text() or "could not" in panel.sample.text(),
                    timeout=30_000)
    w.close()
