"""The correction flow and the My digits view, driven like a user with qtbot."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from digitpad.core.handwriting.collection import Collection


def _draw_seven(canvas):
    s = canvas.width()
    canvas.draw_stroke([(0.28 * s, 0.2 * s), (0.72 * s, 0.2 * s), (0.6 * s, 0.45 * s), (0.46 * s, 0.8 * s)])


def test_correction_in_the_main_window(qtbot, random_model):
    from digitpad.app import MainWindow

    w = MainWindow(model_path=random_model)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=3000)
    bar, view = w.workbench.corrections, w.my_digits
    assert w.tabs.indexOf(view) >= 0
    bar.buttons[3].click()                      # nothing drawn: nothing saved
    assert "Draw a digit first" in bar.status.text() and len(bar.collection) == 0

    c = w.workbench.canvas
    _draw_seven(c)
    seven_input = w.workbench.model_input.copy()
    qtbot.mouseClick(bar.buttons[1], Qt.LeftButton)
    assert bar.collection.counts()[1] == 1 and "Saved as 1" in bar.status.text()
    qtbot.mouseClick(bar.buttons[1], Qt.LeftButton)       # the same drawing, the same digit: not saved twice
    assert bar.collection.counts()[1] == 1 and "Already saved as 1" in bar.status.text()
    c.setFocus()
    qtbot.keyClick(c, Qt.Key_7)                 # a digit key in the Draw tab: a slip corrected, not doubled
    assert bar.collection.counts()[7] == 1 and bar.collection.counts()[1] == 0, (
        bar.status.text(), QApplication.focusWidget(), QApplication.activeWindow())
    assert "Changed to 7 (was 1)" in bar.status.text()
    c.clear()
    assert "Saved" not in bar.status.text() and "Changed" not in bar.status.text()   # about the old drawing
    c.draw_stroke([(200, 80), (200, 320)])
    qtbot.mouseClick(bar.buttons[1], Qt.LeftButton)        # a new drawing is a new sample
    assert bar.collection.counts()[1] == 1 and "Saved as 1" in bar.status.text()
    assert window_model_change_clears(w, bar)

    on_disk = Collection()                      # what was saved: strokes and the 28x28 input
    s = on_disk.samples(7)[0]
    assert s.source == "correction" and s.canvas_size == c.side
    assert len(s.strokes) == 1 and len(s.strokes[0].points) == 4 and s.strokes[0].width == c.pen_width
    assert np.abs(s.image / 255.0 - seven_input[0, 0]).max() <= 1 / 255 + 1e-6
    assert view.list.count() == 2
    w.close()


def window_model_change_clears(w, bar) -> bool:
    """After the model changes, "Saved as" no longer speaks of the drawing under the canvas."""
    w.controller.modelChanged.emit(w.controller.predictor)
    return "Saved" not in bar.status.text()


def test_my_digits_view_guided_delete_export_import(qtbot, tmp_path):
    from digitpad.gui.mydigits.view import GUIDED_REPEATS, MyDigitsView

    col = Collection()
    view = MyDigitsView(col)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)
    view.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is view, timeout=3000)
    view.canvas.setFocus()
    assert "Done" not in view.prompt.text() and not view.next_button.isEnabled()
    width = view.prompt.parentWidget().width()
    view.start_guided()
    assert view.prompt.parentWidget().width() == width          # a longer prompt never widens the card
    assert "Draw a" in view.prompt.text() and "0" in view.prompt.text()
    assert view.guided_next() is None           # empty canvas: asked to draw first
    for _ in range(GUIDED_REPEATS + 1):
        _draw_seven(view.canvas)
        qtbot.keyClick(view.canvas, Qt.Key_Return)
    assert col.counts()[0] == GUIDED_REPEATS and col.counts()[1] == 1 and "1" in view.prompt.text()
    view.guided_skip()
    assert view.guided_queue[0] == 1 and len(view.guided_queue) == 10 * GUIDED_REPEATS - GUIDED_REPEATS - 2
    assert view.list.count() == 4

    view.filter.setCurrentIndex(1)              # digit 0 only
    assert view.list.count() == GUIDED_REPEATS
    view.list.item(0).setSelected(True)
    assert view.delete_selected() == 1 and col.counts()[0] == GUIDED_REPEATS - 1
    assert Collection().counts() == col.counts()

    out = tmp_path / "mine.npz"
    view.export_to(out)
    assert "Exported 3" in view.message.text()
    other = MyDigitsView(Collection(tmp_path / "elsewhere"))
    qtbot.addWidget(other)
    other.import_from(out)
    assert "Imported 3" in other.message.text() and other.collection.counts() == col.counts()
    (tmp_path / "bad.npz").write_bytes(b"nonsense")
    other.import_from(tmp_path / "bad.npz")
    assert "Could not import" in other.message.text() and len(other.collection) == 3
