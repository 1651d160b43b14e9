"""An 8x8 model (UCI optdigits, trained by the NumPy engine) works in the app like any other:
the Draw tab feeds it the optdigits reduction and shows it with the 28x28 drawing beside it,
saliency, feature maps, kernels and the arithmetic follow its size; Evaluate runs it on the
optdigits test set; the Train form offers the data set and the engine; fine-tuning says why not."""
from __future__ import annotations

import numpy as np
import pytest
from drawing import draw, seven
from map_clicks import open_unit
from windows import open_window

from digitpad.core.preprocess import to_model_input, to_optdigits_input


@pytest.fixture
def window8(qtbot, model_8x8):
    w = open_window(qtbot, model_8x8)
    yield w
    w.close()


def test_drawing_feeds_the_optdigits_reduction_and_shows_it_beside_the_28x28(window8, qtbot):
    wb = window8.workbench
    p = wb.controller.predictor
    assert p.input_size == 8 and wb.input_view.input_size == 8
    assert wb.input_view.caption == "8 × 8 model input" and "8 × 8" in wb.sees_label.text()
    draw(wb.canvas, seven(wb.canvas.width()))
    img = wb.canvas.to_array()
    expected = to_optdigits_input(img)
    assert wb.model_input.shape == (1, 1, 8, 8) and np.array_equal(wb.model_input, expected)
    assert wb.input_view.pixels.shape == (8, 8) and np.array_equal(wb.input_view.pixels, expected[0, 0])
    # counts of 4x4 blocks, divided by 16
    assert np.allclose(wb.input_view.pixels * 16, np.rint(wb.input_view.pixels * 16))
    # the 28x28 MNIST-style image of the same drawing, small beside it
    assert np.array_equal(wb.input_view.reference, to_model_input(img)[0, 0])
    assert np.allclose(wb.prediction.probs, p.predict(expected).probs) and wb.prediction.probs.sum() == pytest.approx(1)
    assert wb.prediction.activations["conv1"].shape == (4, 8, 8)
    # crisp squares: a whole number of screen pixels per input pixel, the reference to its right
    r = wb.input_view.input_rect()
    assert r.width() % 8 == 0 and r.width() >= 8 * 12 and r.right() + 10 + 56 <= wb.input_view.width()
    wb.canvas.clear()
    assert wb.model_input is None and wb.input_view.reference is None and wb.prediction is None


def test_saliency_maps_and_kernels_with_an_8x8_model(window8, qtbot):
    wb = window8.workbench
    draw(wb.canvas, seven(wb.canvas.width()))
    wb.saliency_box.setChecked(True)
    qtbot.waitUntil(lambda: wb.input_view._overlay is not None, timeout=5000)
    assert wb.input_view._overlay.width() == 8 and wb.input_view._overlay.height() == 8
    fm = wb.feature_maps
    wb.inspector.setCurrentWidget(fm)
    assert fm.grid.maps.shape == (4, 8, 8)
    kv = wb.kernels_view
    wb.inspector.setCurrentWidget(kv)
    qtbot.wait(50)
    assert np.allclose(kv.grid.maps, wb.controller.predictor.kernels("conv1")[:, 0])


def test_arithmetic_of_a_conv1_unit_and_its_field_on_the_8x8_input(window8, qtbot):
    wb = window8.workbench
    p, tab = wb.controller.predictor, wb.arithmetic
    draw(wb.canvas, seven(wb.canvas.width()))
    fm = wb.feature_maps
    wb.inspector.setCurrentWidget(fm)
    fm.chooser.combo.setCurrentText("conv1")
    qtbot.wait(50)
    open_unit(qtbot, fm, 2, 4, 3)   # the map opened large, then its pixel clicked
    assert wb.inspector.currentWidget() is tab
    e = p.explain(wb.model_input, "conv1", 2, 4, 3)
    assert tab.panel.title.text() == "conv1 · map 2 · row 4, col 3"
    assert abs(e.value - float(wb.prediction.activations["conv1"][2, 4, 3])) <= 1e-4
    # the 3x3 window around (4, 3), on the 8x8 input
    assert wb.input_view.outline == p.receptive_field("conv1", 2, 4, 3).box == (3, 2, 5, 4)


def test_an_image_of_another_size_is_refused_in_words(window8, qtbot):
    wb = window8.workbench
    draw(wb.canvas, seven(wb.canvas.width()))
    before = wb.model_input.copy()
    assert not wb.show_external_input(np.zeros((28, 28), np.float32), "a 28x28 test image")
    assert "Cannot show a 28x28 image: the active model takes 8x8 input." in wb.banner.text()
    assert np.array_equal(wb.model_input, before) and not wb.canvas.is_empty()
    x = np.zeros((8, 8), np.float32)
    x[1:7, 3:5] = 1
    assert wb.show_external_input(x, "an 8x8 one")
    assert np.array_equal(wb.input_view.pixels, x) and wb.prediction is not None


def test_switching_between_28x28_and_8x8_models(window8, random_model, model_8x8, qtbot):
    wb = window8.workbench
    draw(wb.canvas, seven(wb.canvas.width()))
    wb.controller.load(random_model)
    assert wb.input_view.input_size == 28 and wb.model_input.shape == (1, 1, 28, 28)
    assert wb.input_view.reference is None and wb.sees_label.text() == "WHAT THE NETWORK SEES"
    wb.controller.load(model_8x8)
    assert wb.model_input.shape == (1, 1, 8, 8) and wb.input_view.reference is not None


# -- Train ---------------------------------------------------------------------------------------
def _choose(combo, data) -> None:
    combo.setCurrentIndex(combo.findData(data))
    combo.activated.emit(combo.currentIndex())


def test_the_seed004_preset_runs_the_numpy_engine_from_the_train_tab(tab, qtbot, mnist_dir):
    from digitpad.client import commands
    from digitpad.core.inference import Predictor
    from digitpad.core.paths import models_dir

    form = tab.form
    assert form.dataset.findData("optdigits") >= 0 and form.dataset.itemText(form.dataset.findData("optdigits")) \
        == "UCI 8×8 digits"
    _choose(form.preset, "seed004")
    s = form.settings()
    assert (s.engine, s.arch, s.dataset, s.optimizer, s.preset) == ("numpy", "seed004", "optdigits", "sgd", "seed004")
    assert form.engine.currentData() == "numpy" and "From-scratch NumPy engine" in form.engine_note.text()
    # what it cannot do is locked, saying why
    assert not form.optimizer.isEnabled() and not form.augment.isEnabled() and not form.device.isEnabled()
    assert "plain SGD" in form.optimizer.toolTip() and form.fit_note.isHidden()
    s.data_dir, s.download = str(mnist_dir), False
    args = commands.train_args(s, models_dir() / "s4.onnx")
    flags = dict(zip(args, args[1:]))
    assert (flags["--engine"], flags["--dataset"], flags["--preset"], flags["--arch"]) == \
        ("numpy", "optdigits", "seed004", "seed004")
    # a real run: the NumPy engine, three epochs (about a second), into the library
    s.epochs, s.name = 3, "s4"
    form.set_settings(s)
    assert tab.start(), form.problem_label.text()
    assert tab.runner.arguments[tab.runner.arguments.index("--engine") + 1] == "numpy"
    with qtbot.waitSignal(tab.runFinished, timeout=120_000) as finished:
        pass
    assert finished.args == ["completed"]
    p = Predictor(models_dir() / "s4.onnx")
    assert p.input_size == 8 and p.metadata.dataset == "optdigits" and p.metadata.metrics["test_accuracy"] > 0.8


def test_the_form_says_what_will_not_run_while_editing(tab, tmp_path):
    form = tab.form
    _choose(form.preset, "fast")
    assert form.fit_note.isHidden() and form.engine.currentData() == "torch" and form.optimizer.isEnabled()
    form.dataset.setCurrentIndex(form.dataset.findData("optdigits"))
    assert not form.fit_note.isHidden()
    assert "digitpad-s takes 28×28 images; optdigits digits are 8×8 (archs for them: seed004, optdigits)" \
        in form.fit_note.text()
    form.arch.setCurrentIndex(form.arch.findData("optdigits"))
    assert form.fit_note.isHidden()
    # choosing the NumPy engine by hand: its settings, and the arch it cannot build named
    form.engine.setCurrentIndex(form.engine.findData("numpy"))
    s = form.settings()
    assert (s.optimizer, s.augment, s.device) == ("sgd", False, "cpu") and s.schedule in ("constant", "cosine")
    assert "the NumPy engine builds seed004 only (not optdigits)" in form.fit_note.text()
    s.download = True   # the 8x8 digits come as files
    assert any("cannot be downloaded" in p for p in s.problems())
    s.download, s.data_dir = False, str(tmp_path)
    assert any(f"no UCI 8x8 digits in {tmp_path}" in p for p in s.problems())
    # back to PyTorch: its controls come back
    form.engine.setCurrentIndex(form.engine.findData("torch"))
    assert form.optimizer.isEnabled() and form.augment.isEnabled() and form.fit_note.isHidden()


# -- Evaluate ------------------------------------------------------------------------------------
def test_evaluate_runs_an_8x8_model_on_the_optdigits_test_set(window8, qtbot, mnist_dir):
    view = window8.evaluation
    assert view.dataset() == "optdigits"
    view.folder.setText(str(mnist_dir))
    with qtbot.waitSignal(view.evaluated, timeout=30_000) as done:
        window8.tabs.setCurrentWidget(view)
    r = done.args[0]
    assert r.dataset == "optdigits" and r.n == 1797 and r.test.size == 8
    assert f"{r.n:,} UCI 8x8 digits test images" in view.summary.text()
    assert r.accuracy == pytest.approx(window8.controller.predictor.metadata.metrics["test_accuracy"], abs=1e-3)
    # the gallery's thumbnails are the 8x8 images at full brightness (counts / 16, not / 255)
    i = view.gallery_indices()[0]
    icon = view.gallery.item(0).icon().pixmap(64, 64).toImage()
    brightest = max(icon.pixelColor(x, y).value() for x in range(icon.width()) for y in range(icon.height()))
    assert brightest >= 200 and r.test.image(i).max() == pytest.approx(1.0, abs=0.2)
    # opened in the Draw tab: the 8x8 image, as the model was fed it
    view.open_index(i)
    wb = window8.workbench
    assert window8.tabs.currentWidget() is wb and np.array_equal(wb.input_view.pixels, r.test.image(i)[0])
    assert np.allclose(wb.prediction.probs, r.probs[i], atol=1e-5)


# -- My digits -----------------------------------------------------------------------------------
def test_an_8x8_model_is_not_fine_tuned_on_my_28x28_digits(window8, model_8x8):
    panel = window8.my_digits.finetune
    for i in range(30):
        window8.workbench.corrections.collection.add(i % 10, [[0.0] * 28] * 28, source="test", timestamp=i)
    window8.my_digits.refresh()
    assert not panel.button.isEnabled()
    assert f"{model_8x8.name} reads 8x8 digits; My digits are kept as 28x28 drawings" in panel.reason.text()


def test_the_stage_list_names_each_stage_once(window8, qtbot):
    """The 8x8 engine's graph copies conv1's ReLU out through an Identity ("act:conv1"): the stage list
    ended with a second "conv1 (Identity)" after the softmax. A copy is its source, by either name."""
    wb = window8.workbench
    p = wb.controller.predictor
    stages = p.stages()
    titles = [st.title for st in stages]
    assert len(titles) == len(set(titles)) and titles[-1] == "probs" and titles.count("conv1") == 1
    assert "Identity" not in [st.op for st in stages]
    assert p.stage_name("conv1") == next(st.name for st in stages if st.title == "conv1")
    assert p.network.stage("act:conv1") is p.network.stage(p.stage_name("conv1"))
    wb.inspector.setCurrentWidget(wb.arithmetic)
    combo = wb.arithmetic.combo
    assert [combo.itemText(i).rsplit(" (", 1)[0] for i in range(combo.count())] == titles


def test_the_conv_stage_named_like_its_layer_opens_the_conv(window8, qtbot):
    """The 8x8 engine names its first Conv's output "conv1", like the layer (its ReLU): choosing the Conv in
    the Stage box opened the ReLU. The box's stage is the one explained; a layer name still means its maps."""
    wb = window8.workbench
    p, tab = wb.controller.predictor, wb.arithmetic
    draw(wb.canvas, seven(wb.canvas.width()))
    wb.inspector.setCurrentWidget(tab)
    qtbot.wait(50)
    conv = next(st for st in p.stages() if st.op == "Conv")
    assert tab.stage == conv.name and p.network.stage(tab.stage).op == "Conv"   # the first stage: the Conv
    assert tab.panel.terms.rows[0].isVisibleTo(tab.panel)                        # window × kernel = products
    tab.combo.setCurrentIndex(tab.combo.findData(p.stage_name("conv1")))         # the ReLU, by the box
    assert p.network.stage(tab.stage).op == "Relu"
    tab.combo.setCurrentIndex(tab.combo.findData(conv.name))                     # and back to the Conv
    assert p.network.stage(tab.stage).op == "Conv"
    tab.show_unit("conv1", (0, 3, 3))                                            # a layer's name: its maps
    assert tab.stage == p.stage_name("conv1")
