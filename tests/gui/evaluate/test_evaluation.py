"""The Evaluate tab: the matrix, the gallery, the drawing tab."""
from __future__ import annotations

import numpy as np
import pytest
from known import PER_CLASS
from PySide6.QtCore import Qt


@pytest.fixture
def eval_view(qtbot, controller, pattern_model, known_set):
    from digitpad.gui.evaluate.view import EvaluationView

    controller.load(pattern_model)
    view = EvaluationView(controller)
    qtbot.addWidget(view)
    view.folder.setText(str(known_set[0]))
    view.resize(1200, 700)
    with qtbot.waitSignal(view.evaluated, timeout=20_000):
        view.show()           # showing the tab evaluates the active model
    return view


def test_view_shows_matrix_and_accuracy(eval_view, known_set):
    expected = known_set[3]
    m = eval_view.matrix
    for r in range(10):
        for c in range(10):
            text = m.item(r, c).text()
            assert (int(text) if text != "·" else 0) == expected[r, c]
    assert "88.24 %" in eval_view.summary.text()                      # 30 of 34
    assert m.item(3, 10).text() == "60.0 %"                            # per-class accuracy column
    # the gallery starts with all mistakes
    assert sorted(eval_view.gallery_indices()) == sorted(np.flatnonzero(eval_view.result.labels
                                                                        != eval_view.result.preds))


def test_clicking_a_cell_fills_the_gallery(eval_view, qtbot):
    m = eval_view.matrix
    rect = m.visualItemRect(m.item(3, 5))
    qtbot.mouseClick(m.viewport(), Qt.LeftButton, pos=rect.center())
    assert eval_view.cell == (3, 5)
    shown = eval_view.gallery_indices()
    assert len(shown) == 2 and all(eval_view.result.labels[i] == 3 and eval_view.result.preds[i] == 5 for i in shown)
    assert "True 3, predicted 5" in eval_view.gallery_title.text()
    assert "3→5" in eval_view.gallery.item(0).text()
    # an empty cell empties the gallery, the diagonal shows correct answers
    qtbot.mouseClick(m.viewport(), Qt.LeftButton, pos=m.visualItemRect(m.item(2, 9)).center())
    assert eval_view.gallery.count() == 0
    qtbot.mouseClick(m.viewport(), Qt.LeftButton, pos=m.visualItemRect(m.item(8, 8)).center())
    assert eval_view.gallery.count() == PER_CLASS


def test_open_image_emits_the_test_image(eval_view, qtbot, known_set):
    images = known_set[1]
    eval_view.gallery.setCurrentRow(0)
    assert eval_view.open_button.isEnabled()
    i = eval_view.gallery_indices()[0]
    with qtbot.waitSignal(eval_view.openImage) as blocker:
        qtbot.mouseClick(eval_view.open_button, Qt.LeftButton)
    x, caption = blocker.args
    np.testing.assert_allclose(x, images[i][None] / 255.0)   # a canonical image [C, S, S]
    assert f"#{i}" in caption


def test_missing_test_set_is_said_in_words(qtbot, controller, pattern_model, tmp_path):
    from digitpad.gui.evaluate.view import EvaluationView

    controller.load(pattern_model)
    view = EvaluationView(controller)
    qtbot.addWidget(view)
    view.folder.setText(str(tmp_path))
    with qtbot.waitSignal(view.failed, timeout=10_000):
        view.evaluate()
    assert "not found" in view.summary.text() and view.run_button.isEnabled()


def test_open_in_drawing_tab_of_the_app(qtbot, pattern_model, known_set, monkeypatch):
    from digitpad.app import MainWindow
    from digitpad.gui.evaluate import view as view_module

    monkeypatch.setattr(view_module.EvaluationView, "_default_folder", lambda self: str(known_set[0]))
    w = MainWindow(model_path=pattern_model)
    qtbot.addWidget(w)
    w.show()
    assert [w.tabs.tabText(i) for i in range(w.tabs.count())][:3] == ["Draw", "Train", "Evaluate"]
    with qtbot.waitSignal(w.evaluation.evaluated, timeout=20_000):
        w.tabs.setCurrentWidget(w.evaluation)
    i = w.evaluation.gallery_indices()[0]
    w.evaluation.open_index(i)
    assert w.tabs.currentWidget() is w.workbench
    wb = w.workbench
    np.testing.assert_allclose(wb.model_input[0, 0], known_set[1][i] / 255.0)
    assert wb.prediction.top == w.evaluation.result.preds[i]
    assert f"#{i}" in wb.message.text()
    wb.canvas.draw_stroke([(100, 100), (200, 200)])                   # drawing takes over again
    assert f"#{i}" not in wb.message.text()
    w.close()


def test_fashion_names_are_whole_in_the_gallery(qtbot, controller, mnist_dir, tmp_path):
    """Under each picture, "→ Ankle boot" and "T-shirt/top" were cut at the picture's width."""
    from model_factory import make_fashion_model
    from PySide6.QtWidgets import QApplication

    from digitpad.gui import style
    from digitpad.gui.evaluate.view import EvaluationView

    style.apply(QApplication.instance())   # the app's font, as the window has it
    controller.load(make_fashion_model(tmp_path / "fashion.onnx"))
    view = EvaluationView(controller)
    qtbot.addWidget(view)
    view.folder.setText(str(mnist_dir))
    view.resize(1280, 640)
    with qtbot.waitSignal(view.evaluated, timeout=60_000):
        view.show()
    assert view.gallery.count()
    texts = [view.gallery.item(i).text() for i in range(view.gallery.count())]
    assert not [t for t in texts if "…" in t]
    for true, predicted in (("Ankle boot", "T-shirt/top"), ("T-shirt/top", "Ankle boot")):   # the longest
        label = view._label(true, predicted, 0.5)
        assert "…" not in label and label.split("\n")[1] == "→\u00a0" + predicted.replace(" ", "\u00a0")
    names = {line.removeprefix("→\u00a0") for t in texts for line in t.split("\n")[:2]}
    assert "Ankle\u00a0boot" in names or "T-shirt/top" in names
    header = view.matrix.columns
    assert header.upward and header.sizeHint().height() >= header.fontMetrics().horizontalAdvance("T-shirt/top")
