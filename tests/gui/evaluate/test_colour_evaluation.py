"""The Evaluate tab on colour models: the CIFAR-10 test set (an image folder written by the test),
decoded the first time with progress; a K x K matrix with the class names (written upwards when
long, whole and escaped in tooltips); a colour gallery of mistakes, one click from the Draw tab; a
model trained on a folder of pictures, measured on that folder's test split."""
from __future__ import annotations

import numpy as np
import pytest
from picture_sets import expected_confusion, make_picture_model, write_cifar_folder, write_user_folder
from PySide6.QtCore import Qt

from digitpad.core.contract import CIFAR10_CLASSES

MISTAKES = ((3, 5), (3, 5), (0, 8))


@pytest.fixture
def cifar_dir(tmp_path):
    return write_cifar_folder(tmp_path / "data", test_per_class=2, mistakes=MISTAKES)


@pytest.fixture
def colour_model(tmp_path):
    return make_picture_model(tmp_path / "pictures.onnx")


def _view(qtbot, controller, model, folder=None):
    from digitpad.gui.evaluate.view import EvaluationView

    controller.load(model)
    if folder is not None:
        controller.settings.update(datasets_folder=str(folder))
    view = EvaluationView(controller)
    qtbot.addWidget(view)
    view.resize(1250, 640)
    return view


def _evaluated(view, qtbot):
    with qtbot.waitSignal(view.evaluated, timeout=20_000) as done:
        view.show()
    return done.args[0]


def test_cifar10_accuracy_matrix_with_names_and_decoding_progress(qtbot, controller, colour_model, cifar_dir):
    view = _view(qtbot, controller, colour_model, cifar_dir)
    decoding = []
    view._decoding = lambda done, total: decoding.append((done, total))
    assert view.dataset() == "cifar10" and view.folder.text() == str(cifar_dir)
    r = _evaluated(view, qtbot)
    assert decoding and decoding[-1] == (23, 23)                       # the first time: decoded, with progress
    assert r.n == 23 and "86.96 %" in view.summary.text() and "CIFAR-10 test images" in view.summary.text()
    m = view.matrix
    assert (m.rowCount(), m.columnCount()) == (10, 11)
    assert [m.horizontalHeaderItem(c).text() for c in range(10)] == CIFAR10_CLASSES
    assert [m.verticalHeaderItem(r).text() for r in range(10)] == CIFAR10_CLASSES
    assert m.columns.upward                                            # "automobile" is written upwards
    expected = expected_confusion(10, 2, MISTAKES)
    for row in range(10):
        for col in range(10):
            text = m.item(row, col).text()
            assert (int(text) if text != "·" else 0) == expected[row, col]
    assert m.item(3, 10).text() == "50.0 %" and m.item(1, 10).text() == "100 %"   # per-class accuracy
    assert "cat" in m.item(3, 5).toolTip() and "dog" in m.item(3, 5).toolTip()
    # a second look (another view, as after a restart) reads the decoded pictures from the cache
    again = _view(qtbot, controller, colour_model)
    later = []
    again._decoding = lambda done, total: later.append(done)
    _evaluated(again, qtbot)
    assert later == []


def test_colour_gallery_of_mistakes_and_one_click_opens_one(qtbot, controller, colour_model, cifar_dir):
    view = _view(qtbot, controller, colour_model, cifar_dir)
    r = _evaluated(view, qtbot)
    shown = view.gallery_indices()
    assert sorted(shown) == sorted(np.flatnonzero(r.labels != r.preds)) and len(shown) == 3
    first = view.gallery.item(0)
    i = int(first.data(Qt.UserRole))
    true, pred = CIFAR10_CLASSES[r.labels[i]], CIFAR10_CLASSES[r.preds[i]]
    lines = first.text().replace("\u00a0", " ").split("\n")
    assert lines[0] == true and lines[1] == f"→ {pred}" and lines[2].endswith("%")
    assert not first.icon().pixmap(view.thumb, view.thumb).toImage().isGrayscale()     # in colour
    assert view.thumb % 32 == 0                                      # a whole multiple of 32: square pixels
    rect = view.gallery.visualItemRect(first)
    with qtbot.waitSignal(view.openImage) as opened:
        qtbot.mouseClick(view.gallery.viewport(), Qt.LeftButton, pos=rect.center())
    image, caption = opened.args
    assert image.shape == (3, 32, 32)
    np.testing.assert_array_equal(image, r.test.image(i))             # the canonical image, as the model saw it
    assert f"#{i}" in caption and true in caption and pred in caption
    view.show_cell(3, 5)
    assert view.gallery.count() == 2 and "True cat, predicted dog" in view.gallery_title.text()
    view.gallery.setCurrentRow(1)                                     # from the keyboard: Enter opens it
    with qtbot.waitSignal(view.openImage) as opened:
        qtbot.keyClick(view.gallery, Qt.Key_Return)
    assert f"#{view.gallery_indices()[1]}" in opened.args[1]


def test_a_folder_model_is_measured_on_its_folder_with_its_own_class_names(qtbot, controller, tmp_path):
    names = sorted(["ant", "<b>bee & co", "cicada"])   # a folder's classes: its sub-folders, sorted
    folder = write_user_folder(tmp_path / "insects", names, per_class=8, split=True, damaged=None,
                               mistakes=((1, 2),))
    (folder / "test" / "ant" / "broken.png").write_bytes(b"not a picture")
    model = make_picture_model(tmp_path / "insects.onnx", names, dataset="folder", data_dir=str(folder))
    view = _view(qtbot, controller, model, folder=tmp_path / "elsewhere")
    assert view.dataset() == "folder" and view.folder.text() == str(folder)     # from the model's metadata
    r = _evaluated(view, qtbot)
    assert r.classes == names and r.n == 3 * 2 + 1
    m = view.matrix
    assert (m.rowCount(), m.columnCount()) == (3, 4)
    assert m.horizontalHeaderItem(0).text() == "<b>bee & co"                    # shown as written
    tip = m.horizontalHeaderItem(0).toolTip()
    assert "&lt;b&gt;bee &amp; co" in tip and "<b>bee" not in tip               # escaped: never rendered
    assert "broken.png" in view.summary.text() and "passed over" in view.summary.text()
    assert view.gallery.count() == 1 and "&lt;b&gt;" not in view.gallery.item(0).text()
    # the shared data folder is not this model's: choosing another folder here leaves it alone
    view.folder.setText(str(tmp_path / "copy"))
    view._folder_edited()
    assert controller.settings.values.datasets_folder == str(tmp_path / "elsewhere")
    assert view.model_folders[str(model)] == str(tmp_path / "copy")


def test_a_folder_model_without_its_folder_asks_for_it(qtbot, controller, tmp_path):
    model = make_picture_model(tmp_path / "lost.onnx", ["a", "b"], dataset="folder", data_dir=None)
    view = _view(qtbot, controller, model)
    view.show()
    assert view.folder.text() == "" and "test/<class>/" in view.folder.placeholderText()
    assert "Choose the folder of pictures it was trained on" in view.summary.text()
    moved = make_picture_model(tmp_path / "moved.onnx", ["a", "b"], dataset="folder", data_dir=str(tmp_path / "gone"))
    controller.load(moved)
    view.evaluate()
    assert "gone, which holds no test pictures now" in view.summary.text().replace("\u200b", "")


def test_a_colour_mistake_opens_in_the_draw_tab(qtbot, colour_model, cifar_dir):
    from digitpad.app import MainWindow
    from digitpad.core.settings import SettingsStore

    SettingsStore().update(datasets_folder=str(cifar_dir))
    w = MainWindow(model_path=colour_model)
    qtbot.addWidget(w)
    w.show()
    with qtbot.waitSignal(w.evaluation.evaluated, timeout=20_000):
        w.tabs.setCurrentWidget(w.evaluation)
    i = w.evaluation.gallery_indices()[0]
    w.evaluation.open_index(i)
    assert w.tabs.currentWidget() is w.workbench
    np.testing.assert_allclose(w.workbench.model_input[0], w.evaluation.result.test.image(i))
    w.close()
