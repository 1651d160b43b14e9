"""A picture on the canvas (issue 22): an Evaluate mistake, an opened photo or a saved sample goes
on the Draw tab's canvas, where it can be drawn over; until it is, the model reads it exactly as it
was given. "Wrong? It was" keeps it; Clear and Undo treat it as part of the drawing. And the canvas
grows with the window, its drawing (and so every answer) unchanged."""
from __future__ import annotations

import numpy as np
import pytest
from drawing import draw, seven
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from windows import open_window

from digitpad.core.handwriting.collection import Collection
from digitpad.gui import style


@pytest.fixture
def mistake(qtbot, pattern_model, known_set, monkeypatch):
    """The window with Evaluate's first gallery image opened in the Draw tab."""
    from digitpad.gui.evaluate import view as view_module

    monkeypatch.setattr(view_module.EvaluationView, "_default_folder", lambda self: str(known_set[0]))
    w = open_window(qtbot, pattern_model, (1280, 720))
    with qtbot.waitSignal(w.evaluation.evaluated, timeout=20_000):
        w.tabs.setCurrentWidget(w.evaluation)
    i = w.evaluation.gallery_indices()[0]
    w.evaluation.open_index(i)
    yield w, known_set[1][i] / 255.0, w.evaluation.result.preds[i]
    w.close()


def test_an_evaluate_image_is_on_the_canvas_and_read_exactly(mistake, qtbot):
    w, image, evaluated = mistake
    wb = w.workbench
    assert w.tabs.currentWidget() is wb
    assert not wb.canvas.is_empty() and wb.canvas.base is not None      # not an empty canvas any more
    assert wb.canvas.to_array().max() > 0.2
    np.testing.assert_allclose(wb.model_input[0, 0], image)              # as Evaluate read it
    assert wb.prediction.top == evaluated
    assert wb.clear_button.isEnabled() and not wb.undo_button.isEnabled()   # nothing was there before it


def test_wrong_it_was_keeps_the_opened_image(mistake, qtbot):
    """It said "Draw a digit first" with the image shown and the canvas empty."""
    w, image, _ = mistake
    wb = w.workbench
    sample = wb.corrections.correct(3)
    assert sample is not None and "Saved as 3" in wb.message.text()
    assert np.abs(sample.image / 255.0 - image).max() <= 1 / 255 + 1e-6   # the image itself, not a copy of it
    assert sample.strokes is None                                           # no strokes could make it
    assert wb.corrections.undo_button.isVisible()
    assert wb.corrections.undo_save() and len(Collection()) == 0            # Undo save: out again
    assert not wb.corrections.undo_button.isVisible()


def test_drawing_over_the_image_then_undo(mistake, qtbot):
    w, image, _ = mistake
    wb = w.workbench
    side = wb.canvas.width()
    wb.canvas.draw_stroke([(0.2 * side, 0.5 * side), (0.8 * side, 0.5 * side)], width=20)
    assert wb.source == "drawing"                      # drawn over: the canvas is the drawing now
    assert wb.canvas.to_array()[200, 200] > 0.9
    wb.canvas.setFocus()
    qtbot.keyClick(wb.canvas, Qt.Key_Z, Qt.ControlModifier)   # the stroke undone: the image again, exactly
    np.testing.assert_allclose(wb.model_input[0, 0], image)
    assert not wb.undo_button.isEnabled()            # undo stops at the picture: it was there before the strokes


def test_clear_and_undo_say_what_ctrl_z_does(mistake, qtbot):
    """After Clear, the Undo button is enabled exactly when Ctrl+Z brings something back."""
    w, image, _ = mistake
    wb = w.workbench
    wb.clear_button.click()
    assert wb.canvas.is_empty() and wb.model_input is None
    assert wb.undo_button.isEnabled()
    wb.canvas.setFocus()
    qtbot.keyClick(wb.canvas, Qt.Key_Z, Qt.ControlModifier)
    np.testing.assert_allclose(wb.model_input[0, 0], image)    # the picture is back, read exactly
    draw(wb.canvas, seven(wb.canvas.width()))
    wb.canvas.clear()
    assert wb.undo_button.isEnabled()
    qtbot.keyClick(wb.canvas, Qt.Key_Z, Qt.ControlModifier)
    assert not wb.canvas.is_empty()
    while wb.undo_button.isEnabled():
        before = wb.canvas.to_array().copy()
        wb.undo_button.click()
        assert not np.array_equal(before, wb.canvas.to_array()) or wb.canvas.base is not None
    before = wb.canvas.to_array().copy()
    qtbot.keyClick(wb.canvas, Qt.Key_Z, Qt.ControlModifier)   # disabled: Ctrl+Z changes nothing either
    assert np.array_equal(before, wb.canvas.to_array())


def test_digit_keys_are_the_canvas_s_alone(qtbot, random_model):
    """A digit typed elsewhere in the Draw tab (a map, a stage box) used to save the drawing unnoticed."""
    w = open_window(qtbot, random_model, (1280, 720))
    w.activateWindow()
    wb = w.workbench
    draw(wb.canvas, seven(wb.canvas.width()))
    wb.inspector.setCurrentWidget(wb.arithmetic)
    wb.arithmetic.combo.setFocus()
    qtbot.keyClick(wb.arithmetic.combo, Qt.Key_1)
    assert len(Collection()) == 0
    wb.canvas.setFocus()
    qtbot.keyClick(wb.canvas, Qt.Key_1)
    assert Collection().counts()[1] == 1 and "Saved as 1" in wb.message.text()
    w.close()


def test_an_8x8_test_image_has_no_black_box_beside_it(qtbot, model_8x8):
    """Nothing was reduced from a 28x28 drawing: the box beside the 8x8 input says so, it is not black."""
    w = open_window(qtbot, model_8x8, (1280, 720))
    wb = w.workbench
    x = np.zeros((1, 8, 8), np.float32)
    x[0, 1:7, 3:5] = 1.0
    assert wb.show_external_input(x, "a test image")
    view = wb.input_view
    assert view.reference is None and "no drawing" in view.reference_caption
    qtbot.wait(30)
    shot = view.grab().toImage()
    r = view.input_rect()
    ref = view._reference_side()
    centre = shot.pixelColor(int(r.right() + 10 + ref / 2), int(r.bottom() - ref / 2))
    assert centre != QColor(style.INPUT_BG)
    np.testing.assert_allclose(wb.model_input, x[None])
    w.close()


def test_a_saved_sample_opens_on_the_canvas(qtbot, random_model):
    w = open_window(qtbot, random_model, (1280, 720))
    wb = w.workbench
    draw(wb.canvas, seven(wb.canvas.width()))
    saved = wb.corrections.correct(7)
    drawn = wb.canvas.to_array().copy()
    wb.canvas.clear()
    view = w.my_digits
    w.tabs.setCurrentWidget(view)
    view.refresh()
    view.list.item(0).setSelected(True)
    assert view.detail.sample.id == saved.id and view.detail.open_button.isEnabled()
    view.detail.open_button.click()
    assert w.tabs.currentWidget() is wb
    np.testing.assert_allclose(wb.canvas.to_array(), drawn, atol=0.02)   # its strokes, drawn again
    assert len(wb.canvas.strokes) == len(saved.strokes)
    w.close()


def test_the_canvas_grows_with_the_window_and_its_drawing_does_not_change(qtbot, random_model):
    w = open_window(qtbot, random_model, (1280, 720))
    wb = w.workbench
    assert wb.canvas.width() >= 400
    small = wb.canvas.width()
    draw(wb.canvas, seven(wb.canvas.width()))
    image, probs = wb.canvas.to_array().copy(), wb.prediction.probs.copy()
    w.resize(1920, 1080)
    qtbot.waitUntil(lambda: wb.canvas.width() >= 700, timeout=3000)
    assert wb.canvas.height() == wb.canvas.width() and wb.canvas.side == 400
    np.testing.assert_array_equal(wb.canvas.to_array(), image)            # the same drawing, the same answer
    np.testing.assert_allclose(wb.prediction.probs, probs, atol=1e-6)
    big = wb.canvas.grab().toImage()
    assert big.width() == wb.canvas.width()
    w.resize(1280, 720)
    qtbot.waitUntil(lambda: wb.canvas.width() == small, timeout=3000)
    w.close()
