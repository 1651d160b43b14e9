"""The Draw tab as an image bench, for a model that takes pictures (CIFAR-10-shaped, Fashion-MNIST):
its test images as a strip (read from a small data folder the test writes), pictures opened from
files of every kind, dropped and pasted; what the network sees in colour, saliency, feature maps,
colour kernels, the arithmetic of a conv1 unit over three channels, shapes and what-if with three
channels, the Model page. And a digit model reading a photo of a handwritten digit."""
from __future__ import annotations

import numpy as np
import pytest
from model_factory import make_colour_model, make_fashion_model, make_seed003_model
from pictures import digit_photo, scene, write_cifar_folder, write_every_kind, write_fashion_idx
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QImage
from PySide6.QtWidgets import QApplication
from windows import open_window

from digitpad.core import picture
from digitpad.core.contract import CIFAR10_CLASSES, FASHION_CLASSES
from digitpad.core.settings import SettingsStore


@pytest.fixture(scope="session")
def colour_model(tmp_path_factory):
    return make_colour_model(tmp_path_factory.mktemp("colour") / "colour.onnx")


@pytest.fixture(scope="session")
def seed003_model(tmp_path_factory):
    return make_seed003_model(tmp_path_factory.mktemp("seed003") / "seed003.onnx")


@pytest.fixture(scope="session")
def fashion_model(tmp_path_factory):
    return make_fashion_model(tmp_path_factory.mktemp("fashion") / "fashion.onnx")


@pytest.fixture
def cifar_data(tmp_path):
    """A data folder with a tiny CIFAR-10 image folder (3 pictures a class), made the app's data folder."""
    folder = write_cifar_folder(tmp_path / "data")
    SettingsStore().update(datasets_folder=str(folder))
    return folder


def _strip_loaded(qtbot, wb, timeout=20_000):
    qtbot.waitUntil(lambda: wb.strip.page is not None and not wb.strip.jobs.busy(), timeout=timeout)


def _open(qtbot, wb, path):
    with qtbot.waitSignal(wb.opener.opened, timeout=10_000) as got:
        assert wb.opener.open_file(path)
    QApplication.processEvents()
    return got.args[0]


def _expected(predictor, path):
    return predictor.input.from_picture(picture.reduced(picture.read_picture(path)))


@pytest.fixture
def colour_window(qtbot, colour_model, cifar_data):
    w = open_window(qtbot, colour_model)
    _strip_loaded(qtbot, w.workbench)
    yield w
    w.close()


# -- the strip ------------------------------------------------------------------------------------
def test_a_colour_model_gets_the_bench_with_its_test_images(colour_window, qtbot):
    wb = colour_window.workbench
    p = wb.controller.predictor
    assert wb.takes_pictures and wb.picture_card.isVisible() and not wb.draw_card.isVisible()
    strip = wb.strip
    assert strip.list.count() == 30 and "30 of 30" in strip.count.text()
    assert not strip.more.isEnabled()        # every image is shown
    # The classes take turns (an image folder lists them one after another).
    assert [strip.list.item(i).text() for i in range(10)] == CIFAR10_CLASSES
    assert wb.prediction is None and wb.panel.caption == "Pick a test image, or open a picture"
    strip.list.setFocus(Qt.TabFocusReason)         # the keyboard's focus alone shows nothing
    QApplication.processEvents()
    assert wb.prediction is None and strip.list.currentRow() == -1

    strip.choose(3)                           # the first cat
    index, image, label, caption = strip.entries[3]
    assert label == 3 and caption.endswith("· cat") and wb.source == "test"
    expected = p.input.from_rows(strip.test_sets.get(strip.folder, "cifar10").images[[index]])
    assert np.array_equal(wb.model_input, expected)
    assert np.allclose(wb.prediction.probs, p.predict(expected).probs)
    assert wb.input_view.pixels.shape == (32, 32, 3)          # in colour
    assert np.allclose(wb.input_view.pixels, expected[0].transpose(1, 2, 0))
    assert wb.picture_card.message.text() == caption
    fm = wb.feature_maps
    wb.inspector.setCurrentWidget(fm)
    assert fm.grid.maps.shape == (4, 16, 16)
    wb.saliency_box.setChecked(True)
    qtbot.waitUntil(lambda: wb.input_view._overlay is not None, timeout=5000)
    assert wb.input_view._overlay.width() == 32 and wb.input_view._muted is not None

    # One class only.
    strip.classes.setCurrentIndex(strip.classes.findData(CIFAR10_CLASSES.index("ship")))
    _strip_loaded(qtbot, wb)
    assert [strip.list.item(i).text() for i in range(strip.list.count())] == ["ship"] * 3


def test_more_pages_on(qtbot, colour_model, cifar_data, monkeypatch):
    from digitpad.gui.draw import test_strip

    monkeypatch.setattr(test_strip, "PAGE", 12)
    w = open_window(qtbot, colour_model)
    wb = w.workbench
    _strip_loaded(qtbot, wb)
    assert wb.strip.list.count() == 12 and wb.strip.more.isEnabled()
    wb.strip.more.click()
    qtbot.waitUntil(lambda: wb.strip.list.count() == 24, timeout=10_000)
    wb.strip.more.click()
    qtbot.waitUntil(lambda: wb.strip.list.count() == 30, timeout=10_000)
    assert not wb.strip.more.isEnabled()
    assert sorted(e[0] for e in wb.strip.entries) == list(range(30))   # each once
    w.close()


def test_the_strip_says_where_it_looked(qtbot, colour_model, tmp_path, cifar_data):
    empty = tmp_path / "empty"
    empty.mkdir()
    SettingsStore().update(datasets_folder=str(empty))
    w = open_window(qtbot, colour_model)
    wb = w.workbench
    text = wb.strip.state.text()
    assert text.startswith(f"No CIFAR-10 test set found: looked in {empty}") and "cifar10/test/<class>/" in text
    assert wb.strip.state.isVisible() and not wb.strip.list.isVisible()
    wb.strip.use_folder(str(cifar_data))          # what "Folder…" does with the folder chosen
    _strip_loaded(qtbot, wb)
    assert wb.strip.list.count() == 30 and SettingsStore().values.datasets_folder == str(cifar_data)
    w.close()


def test_a_fashion_model_gets_the_bench_with_its_test_images(qtbot, fashion_model, mnist_dir, tmp_path):
    from digitpad.core.datasets import load_split

    real = load_split(mnist_dir, "fashion-mnist", "test")
    data = write_fashion_idx(tmp_path / "data", real.images[:25], real.labels[:25])
    SettingsStore().update(datasets_folder=str(data))
    w = open_window(qtbot, fashion_model)
    wb = w.workbench
    _strip_loaded(qtbot, wb)
    assert wb.takes_pictures and wb.strip.list.count() == 25
    assert wb.strip.list.item(0).text() in FASHION_CLASSES
    wb.strip.choose(0)
    index = wb.strip.entries[0][0]
    assert np.array_equal(wb.model_input, wb.controller.predictor.input.from_rows(real.images[[index]]))
    assert wb.input_view.pixels.shape == (28, 28)
    # A product photo: a dark shirt-like shape on a white backdrop, read the Fashion-MNIST way.
    rgb = np.full((300, 240, 3), 250, np.uint8)
    rgb[60:260, 70:170] = 40
    rgb[60:120, 30:210] = 40
    path = tmp_path / "shirt.png"
    from PIL import Image

    Image.fromarray(rgb).save(path)
    opened = _open(qtbot, wb, path)
    assert wb.source == "picture" and np.array_equal(wb.model_input, _expected(wb.controller.predictor, path))
    assert wb.model_input[0, 0, 14, 14] > 0.5 and wb.model_input[0, 0, 26, 2] == 0   # the object bright on black
    assert opened.caption == "shirt.png · 240 × 300"
    w.close()


# -- opening pictures ----------------------------------------------------------------------------
def test_files_of_every_kind_open_and_a_damaged_one_costs_nothing(colour_window, qtbot, tmp_path):
    wb = colour_window.workbench
    p = wb.controller.predictor
    files = write_every_kind(tmp_path / "pictures")
    for name in ("alpha.png", "palette.png", "grey16.png", "rotated.jpg", "plain.jpg", "picture.bmp",
                 "picture.webp", "picture.gif", "picture.tiff"):
        opened = _open(qtbot, wb, files[name])
        assert wb.source == "picture" and np.array_equal(wb.model_input, _expected(p, files[name])), name
        assert np.allclose(wb.prediction.probs, p.predict(wb.model_input).probs)
        assert wb.input_view.reference.shape[2] == 3 and name in wb.picture_card.message.text()
        assert (opened.width, opened.height) == ((60, 90) if name == "rotated.jpg" else (90, 60)), name
    # Transparency is flattened onto white: the left half of alpha.png is white paper.
    opened = _open(qtbot, wb, files["alpha.png"])
    assert (opened.picture[:, :40] == 255).all()
    shown, probs = wb.model_input.copy(), wb.prediction.probs.copy()
    for bad, words in (("damaged", "damaged or incomplete"), ("not a picture", "not a picture digitpad can read")):
        with qtbot.waitSignal(wb.opener.failed, timeout=10_000):
            wb.opener.open_file(files[bad])
        line = wb.picture_card.message
        assert words in line.text() and line.problem and "\n" not in line.text()
        assert np.array_equal(wb.model_input, shown) and np.array_equal(wb.prediction.probs, probs)


def test_drop_a_file_or_picture_data_and_paste(colour_window, qtbot, tmp_path):
    wb = colour_window.workbench
    files = write_every_kind(tmp_path / "pictures")

    def drop(mime):
        pos = QPointF(wb.picture_card.geometry().center())
        enter = QDragEnterEvent(pos.toPoint(), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
        QApplication.sendEvent(wb, enter)
        assert enter.isAccepted() and wb.picture_card.message.text() == "Drop it to open it here."
        with qtbot.waitSignal(wb.opener.opened, timeout=10_000) as got:
            QApplication.sendEvent(wb, QDropEvent(pos, Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier))
        return got.args[0]

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(files["plain.jpg"]))])
    assert drop(mime).name == "plain.jpg" and wb.source == "picture"
    assert wb.picture_card.message.text().startswith("plain.jpg · 90 × 60: the network sees it")
    # The part a photo model keeps, its centre square, is outlined on the picture as opened.
    assert wb.input_view.reference_region == pytest.approx((15 / 90, 0, 60 / 90, 1))
    mime = QMimeData()
    mime.setImageData(QImage(str(files["rotated.jpg"])))
    opened = drop(mime)
    assert opened.name == "the dropped picture" and wb.model_input.shape == (1, 3, 32, 32)
    # Paste (Ctrl+V anywhere in the tab): a picture, then a file copied in a file manager.
    rgb = np.ascontiguousarray(scene(64, 64, seed=4))
    QApplication.clipboard().setImage(QImage(rgb.data, 64, 64, 3 * 64, QImage.Format_RGB888).copy())
    with qtbot.waitSignal(wb.opener.opened, timeout=10_000) as got:
        qtbot.keyClick(wb.strip.list, Qt.Key_V, Qt.ControlModifier)
    assert got.args[0].name == "the clipboard" and np.abs(got.args[0].picture.astype(int) - rgb).max() <= 1
    copied = QMimeData()
    copied.setUrls([QUrl.fromLocalFile(str(files["picture.bmp"]))])
    QApplication.clipboard().setMimeData(copied)
    with qtbot.waitSignal(wb.opener.opened, timeout=10_000) as got:
        wb.picture_card.paste_button.click()
    assert got.args[0].name == "picture.bmp"
    # Nothing to paste: one line, nothing else changes.
    QApplication.clipboard().setText("just text")
    shown = wb.model_input.copy()
    with qtbot.waitSignal(wb.opener.failed, timeout=5000):
        wb.picture_card.paste_button.click()
    assert "clipboard holds no picture" in wb.picture_card.message.text()
    assert np.array_equal(wb.model_input, shown)


def test_a_picture_follows_the_model(qtbot, colour_model, random_model, cifar_data, tmp_path):
    files = write_every_kind(tmp_path / "pictures")
    w = open_window(qtbot, colour_model)
    wb = w.workbench
    _open(qtbot, wb, files["plain.jpg"])
    assert wb.model_input.shape == (1, 3, 32, 32)
    assert w.controller.load(random_model)           # a digit model: the canvas again, the same picture as ink
    assert not wb.takes_pictures and wb.draw_card.isVisible() and not wb.picture_card.isVisible()
    # The scene's dark blocks on its light sky read as ink: the same picture, as a digit model sees it.
    assert wb.source == "picture" and wb.model_input.shape == (1, 1, 28, 28)
    assert np.array_equal(wb.model_input, _expected(wb.controller.predictor, files["plain.jpg"]))
    assert w.controller.load(colour_model)
    assert wb.takes_pictures and wb.strip.isVisible() and wb.model_input.shape == (1, 3, 32, 32)
    _strip_loaded(qtbot, wb)
    wb.strip.choose(0)
    assert wb.source == "test"
    assert w.controller.load(random_model)            # a test image has no meaning for a digit model:
    assert wb.source == "picture" and wb.model_input.shape == (1, 1, 28, 28)   # the canvas's own picture again
    assert np.array_equal(wb.model_input, _expected(wb.controller.predictor, files["plain.jpg"]))
    w.close()


# -- what is shown for a colour model --------------------------------------------------------------
def test_colour_kernels_as_rgb_patches_and_per_channel(colour_window, qtbot):
    from digitpad.gui.draw.kernels import kernel_rgb

    wb = colour_window.workbench
    kv = wb.kernels_view
    wb.inspector.setCurrentWidget(kv)
    qtbot.wait(50)
    w = wb.controller.predictor.kernels("conv1")
    assert w.shape == (4, 3, 3, 3)
    assert kv.in_combo.itemText(0) == "colour (RGB)" and kv.in_combo.count() == 4 and kv.note.isVisible()
    assert kv.grid.maps.shape == (4, 3, 3, 3) and np.allclose(kv.grid.maps, kernel_rgb(w))
    assert list(kv.grid.image.levels) == [0, 255] and kv.grid.image.image.shape[2] == 3   # drawn as RGB
    assert np.allclose(kernel_rgb(np.zeros((1, 3, 3, 3))), 0.5)          # no weight: grey
    assert "each as one RGB patch" in kv.chooser.info.text()
    kv.in_combo.setCurrentIndex(2)                                         # green alone
    assert kv.in_combo.currentText() == "1 · green" and np.allclose(kv.grid.maps, w[:, 1])
    assert not kv.note.isVisible() and "(green)" in kv.chooser.info.text()
    kv.chooser.combo.setCurrentText("conv2")                               # a deeper layer: channels by number
    assert kv.in_combo.itemText(0) == "0" and kv.grid.maps.shape == (8, 3, 3)
    # The feature maps' detail names the three inputs of a conv1 kernel.
    wb.strip.choose(0)
    fm = wb.feature_maps
    wb.inspector.setCurrentWidget(fm)
    fm.chooser.combo.setCurrentText("conv1")
    fm.select_map(1)
    assert "red, green, blue" in fm.kernel_pager.title.text() and fm.kernel_pager.maps.shape == (3, 3, 3)


def test_conv1_arithmetic_over_three_channels(qtbot, seed003_model, cifar_data):
    w = open_window(qtbot, seed003_model)
    wb = w.workbench
    _strip_loaded(qtbot, wb)
    wb.strip.choose(5)
    p, tab = wb.controller.predictor, wb.arithmetic
    wb.inspector.setCurrentWidget(tab)
    unit = (7, 12, 20)
    tab.show_unit("c1", unit)                        # conv1's Conv, before its ReLU
    e = p.explain(wb.model_input, "c1", *unit)
    t = e.terms
    assert t.kind == "conv" and len(t.channels) == 3 and t.input == "normalised"
    act = wb.prediction.activations["conv1"][unit]   # act:conv1 = ReLU(c1)
    assert abs(max(e.value, 0.0) - act) <= 1e-4 and abs(e.value - p.trace(wb.model_input)["c1"][(0, *unit)]) <= 1e-4
    assert abs(t.total + t.bias - e.value) <= 1e-6 and abs(sum(t.sums) - t.total) <= 1e-6
    terms = tab.panel.terms
    rows = [r for r in terms.rows if r.isVisible()]
    assert [r.title.text().split(":")[0] for r in rows] == ["Red channel (0)", "Green channel (1)", "Blue channel (2)"]
    assert not terms.bars.isVisible()                # three partial sums are shown as such, not as bars
    for row, i in zip(rows, range(3)):
        assert np.allclose(row.window.values, t.window[i]) and np.allclose(row.kernel.values, t.kernel[i])
        assert row.window.caption.endswith(("red", "green", "blue")[i])
    total = terms.total.text()
    assert "Σ of red, green, blue = " in total and "bias" in total
    w.close()


def test_shapes_what_if_and_the_model_page_with_three_channels(qtbot, seed003_model, cifar_data):
    w = open_window(qtbot, seed003_model)
    wb = w.workbench
    wb.inspector.setCurrentIndex(wb.inspector.count() - 1)   # the Model page, the last
    qtbot.waitUntil(lambda: wb.shapes_view.table.isVisible(), timeout=10_000)
    sv = wb.shapes_view
    assert "<b>1,250,858</b> learned parameters" in sv.totals.text() and "32×32 colour image" in sv.totals.text()
    assert sv.input_size.value() == 32 and sv.input_channels.value() == 3
    first = sv.rows[0]["result"].text()
    assert "3×32×32 → <b>32×32×32</b>" in first and "896 params" in first      # 32 x 3 x 3 x 3 + 32
    sv.input_channels.setValue(1)
    assert "1×32×32" in sv.rows[0]["result"].text() and "320 params" in sv.rows[0]["result"].text()
    sv.reset.click()
    assert sv.input_channels.value() == 3
    texts = [wb.model_info.form.itemAt(i).widget().text() for i in range(wb.model_info.form.count())
             if wb.model_info.form.itemAt(i).widget() is not None]
    assert any(t.startswith("32 × 32 RGB, values 0..1") for t in texts)
    assert any("centre square, resized to 32×32" in t for t in texts)
    assert any(t.startswith("10: airplane, automobile") for t in texts)
    assert "Not a digit" not in texts
    w.close()


def test_many_classes_show_the_likeliest_and_the_rest(qtbot):
    from digitpad.gui.draw.prediction import ROWS, PredictionPanel

    panel = PredictionPanel()
    qtbot.addWidget(panel)
    names = [f"class number {k} with a long name" for k in range(100)]
    panel.set_classes(names)
    probs = np.full(100, 0.5 / 98, np.float32)
    probs[42], probs[7] = 0.3, 0.2
    panel.show_probs(probs)
    rows = panel.rows()
    assert len(rows) == ROWS and rows[0] == (names[42], 42) and rows[1] == (names[7], 7)
    assert rows[-1] == ("91 others", -1) and panel._value(-1) == pytest.approx(1 - probs[[42, 7]].sum() - 7 * 0.5 / 98)
    panel.resize(270, 400)
    panel.grab()                                     # paints without error, names elided


# -- a digit model reads a photo of a handwritten digit ----------------------------------------------
def test_photos_of_handwritten_digits_are_read_by_the_shipped_model(qtbot, mnist_dir, tmp_path):
    from digitpad.core.datasets import load_split
    from digitpad.core.paths import shipped_model_path

    test = load_split(mnist_dir, "mnist", "test")
    w = open_window(qtbot, shipped_model_path())
    wb = w.workbench
    assert not wb.takes_pictures and wb.draw_card.open_button.isVisible()
    right, n = 0, 40
    for i in range(n):
        path = tmp_path / f"digit-{i}.jpg"
        path.write_bytes(digit_photo(test.images[i], seed=i))
        _open(qtbot, wb, path)
        assert wb.source == "picture" and wb.model_input.shape == (1, 1, 28, 28) and wb.canvas.base_only()
        right += wb.prediction.top == test.labels[i]
    assert right >= 0.85 * n, f"{right} of {n} photos read right"
    assert wb.input_view.reference is not None and "opened" in wb.input_view.reference_caption
    assert wb.input_view.reference_region is None        # the ink is found wherever it is
    # Drawing over the photo: the canvas (the photo's ink and the stroke) is the drawing now.
    wb.canvas.draw_stroke([(200, 80), (200, 320)])
    assert wb.source == "drawing" and wb.input_view.reference is None
    # A blank page: no handwriting, one line, the drawing kept.
    blank = tmp_path / "blank.png"
    from PIL import Image

    Image.fromarray(np.full((200, 200, 3), 240, np.uint8)).save(blank)
    _open(qtbot, wb, blank)
    assert "No handwriting found in blank.png" in wb.message.text() and wb.source == "drawing"
    w.close()


def _layout_checks():
    """test_layout's checks (a test module, not importable by name under pytest's import mode)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("_layout_checks", Path(__file__).with_name("test_layout.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.layout_problems, module.scrolling_pages


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
def test_the_bench_fits_the_window(qtbot, colour_model, fashion_model, cifar_data, mnist_dir, tmp_path, size):
    layout_problems, scrolling_pages = _layout_checks()
    files = write_every_kind(tmp_path / "pictures")
    w = open_window(qtbot, colour_model, size)
    wb = w.workbench
    _strip_loaded(qtbot, wb)
    problems = []

    def visit(where):
        qtbot.wait(100)
        QApplication.processEvents()   # a page shown for the first time lays itself out in a second pass
        problems.extend(f"{where}: {p}" for p in layout_problems(w) + scrolling_pages(w))
        if (w.width(), w.height()) != size:
            problems.append(f"{where}: the window resized itself to {w.width()}x{w.height()}")

    visit("colour, strip")
    wb.strip.choose(4)
    wb.saliency_box.setChecked(True)
    visit("colour, a test image")
    _open(qtbot, wb, files["rotated.jpg"])
    visit("colour, a picture opened")
    with qtbot.waitSignal(wb.opener.failed, timeout=5000):
        wb.opener.open_file(files["damaged"])
    visit("colour, a damaged file")
    for i in range(wb.inspector.count()):
        wb.inspector.setCurrentIndex(i)
        visit(f"colour, inspector {wb.inspector.tabText(i)}")
    w.controller.settings.update(datasets_folder=str(mnist_dir))   # the real Fashion-MNIST test set
    assert w.controller.load(fashion_model)
    _strip_loaded(qtbot, wb)
    wb.strip.choose(0)
    visit("fashion")
    assert not problems, "\n".join(problems)
    w.close()
