"""The drawing canvas, driven by draw_stroke, mouse events and tablet events."""
from __future__ import annotations

import numpy as np
import pytest
from drawing import loop
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QPointingDevice, QTabletEvent
from PySide6.QtWidgets import QApplication

from digitpad.gui.canvas import DrawingCanvas, Stroke


@pytest.fixture
def canvas(qtbot):
    c = DrawingCanvas(size=300)
    qtbot.addWidget(c)
    c.show()
    qtbot.waitExposed(c)
    return c


def ink(c):
    return c.to_array()


def test_empty_canvas_is_black(canvas):
    a = ink(canvas)
    assert a.shape == (300, 300) and a.dtype == np.float32 and a.max() == 0.0
    assert canvas.is_empty() and not canvas.can_undo() and not canvas.can_redo()


def test_draw_stroke_puts_white_ink_where_drawn(canvas):
    canvas.draw_stroke([(150, 50), (150, 250)], width=20)
    a = ink(canvas)
    assert a[150, 150] == pytest.approx(1.0) and a[150, 100] == 0.0 and a[20, 150] == 0.0
    cols = np.flatnonzero(a.max(axis=0) > 0.5)
    assert cols[0] >= 138 and cols[-1] <= 161  # about 20 px wide, round caps, antialiased edges
    edge = a[150, cols[0] - 1]
    assert 0.0 <= edge < 1.0
    assert len(canvas.strokes) == 1 and canvas.strokes[0].points[0][:2] == (150.0, 50.0)


def test_single_click_leaves_a_dot(canvas):
    canvas.draw_stroke([(100, 100)], width=16)
    a = ink(canvas)
    assert a[100, 100] > 0.9 and (a > 0.5).sum() == pytest.approx(np.pi * 8 ** 2, rel=0.25)


def test_undo_redo_clear(canvas):
    canvas.draw_stroke([(50, 50), (250, 50)])
    first = ink(canvas).copy()
    canvas.draw_stroke([(50, 200), (250, 200)])
    both = ink(canvas).copy()
    canvas.undo()
    assert np.abs(ink(canvas) - first).max() < 0.02 and canvas.can_redo()
    canvas.redo()
    assert np.abs(ink(canvas) - both).max() < 0.02 and not canvas.can_redo()
    canvas.undo()
    canvas.draw_stroke([(150, 20), (150, 280)])     # a new stroke drops the redo history
    assert not canvas.can_redo()
    canvas.clear()
    assert ink(canvas).max() == 0 and canvas.is_empty()
    canvas.undo()                                     # an accidental clear can be undone
    assert ink(canvas).max() > 0 and len(canvas.strokes) == 2
    for _ in range(5):
        canvas.undo()                                 # more undos than strokes: harmless
    assert ink(canvas).max() == 0


def test_eraser_removes_ink(canvas):
    canvas.draw_stroke([(50, 150), (250, 150)], width=20)
    canvas.draw_stroke([(150, 100), (150, 200)], width=40, eraser=True)
    a = ink(canvas)
    assert a[150, 150] == 0.0 and a[150, 60] == pytest.approx(1.0)
    canvas.undo()
    assert ink(canvas)[150, 150] == pytest.approx(1.0)


def test_replay_from_stroke_data(canvas, qtbot):
    for stroke in loop(300):
        canvas.draw_stroke(stroke)
    saved = canvas.strokes
    before = ink(canvas).copy()
    other = DrawingCanvas(size=300)
    qtbot.addWidget(other)
    other.set_strokes([Stroke(list(s.points), s.width, s.eraser) for s in saved])
    assert np.abs(other.to_array() - before).max() < 0.05


def test_mouse_drawing_with_qtbot(canvas, qtbot):
    with qtbot.waitSignal(canvas.strokeFinished, timeout=2000):
        qtbot.mousePress(canvas, Qt.LeftButton, pos=QPoint(150, 40))
        for y in range(40, 261, 10):
            qtbot.mouseMove(canvas, QPoint(150, y))
        qtbot.mouseRelease(canvas, Qt.LeftButton, pos=QPoint(150, 260))
    a = ink(canvas)
    assert a[150, 150] > 0.9 and a[250, 150] > 0.9 and a[150, 60] == 0.0
    assert len(canvas.strokes) == 1 and len(canvas.strokes[0].points) >= 20


def test_keyboard_clear(canvas, qtbot):
    canvas.draw_stroke([(50, 50), (250, 250)])
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key_Escape)
    assert canvas.is_empty()
    canvas.draw_stroke([(50, 50), (250, 250)])
    qtbot.keyClick(canvas, Qt.Key_Delete)
    assert canvas.is_empty()


def test_changed_is_throttled_while_drawing(canvas, qtbot):
    emitted = []
    canvas.changed.connect(lambda: emitted.append(1))
    qtbot.mousePress(canvas, Qt.LeftButton, pos=QPoint(20, 150))
    for x in range(20, 280, 2):       # 130 moves in a few ms
        qtbot.mouseMove(canvas, QPoint(x, 150))
    qtbot.wait(40)
    mid_stroke = len(emitted)
    assert 1 <= mid_stroke < 20         # updates while drawing, far fewer than moves
    assert ink(canvas)[150, 200] > 0.9  # ink is on the canvas before the pen lifts
    qtbot.mouseRelease(canvas, Qt.LeftButton, pos=QPoint(280, 150))
    assert len(emitted) == mid_stroke + 1


_DEVICES = {}  # events keep a raw pointer to their device: it must outlive them


def _device(pointer):
    if pointer not in _DEVICES:
        _DEVICES[pointer] = QPointingDevice(
            f"test {pointer.name}", 1 + len(_DEVICES), QPointingDevice.DeviceType.Stylus, pointer,
            QPointingDevice.Capability.Position | QPointingDevice.Capability.Pressure, 1, 3)
    return _DEVICES[pointer]


def _tablet(kind, pos, pressure, pointer=QPointingDevice.PointerType.Pen):
    device = _device(pointer)
    buttons = Qt.NoButton if kind == QTabletEvent.TabletRelease else Qt.LeftButton
    return QTabletEvent(kind, device, QPointF(pos), QPointF(pos), pressure, 0.0, 0.0, 0.0, 0.0, 0.0,
                        Qt.NoModifier, Qt.LeftButton, buttons)


def _tablet_stroke(canvas, y, pressure, pointer=QPointingDevice.PointerType.Pen):
    send = QApplication.sendEvent
    send(canvas, _tablet(QTabletEvent.TabletPress, QPointF(40, y), pressure, pointer))
    for x in range(40, 261, 10):
        send(canvas, _tablet(QTabletEvent.TabletMove, QPointF(x, y), pressure, pointer))
    send(canvas, _tablet(QTabletEvent.TabletRelease, QPointF(260, y), pressure, pointer))


def test_tablet_pressure_changes_width(canvas):
    canvas.pen_width = 30
    _tablet_stroke(canvas, 80, 1.0)
    _tablet_stroke(canvas, 220, 0.1)
    a = ink(canvas)
    heavy = (a[:, 150] > 0.5)[:150].sum()
    light = (a[:, 150] > 0.5)[150:].sum()
    assert len(canvas.strokes) == 2 and heavy > 25 and light < heavy * 0.6


def test_tablet_eraser_tip_erases(canvas):
    canvas.draw_stroke([(150, 20), (150, 280)], width=20)
    _tablet_stroke(canvas, 150, 1.0, QPointingDevice.PointerType.Eraser)
    assert canvas.strokes[-1].eraser and ink(canvas)[150, 150] == 0.0


def test_crisp_view_at_high_dpi(qtbot, monkeypatch):
    monkeypatch.setattr(DrawingCanvas, "devicePixelRatioF", lambda self: 2.0)
    c = DrawingCanvas(size=200)
    qtbot.addWidget(c)
    c.draw_stroke([(100, 20), (100, 180)])
    assert c._view.width() == 400 and c._view.devicePixelRatio() == 2.0
    assert c.to_array().shape == (200, 200)   # the model input does not depend on the screen


def _random_strokes(n, size, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        start = rng.uniform(0.1 * size, 0.9 * size, 2)
        pts = start + np.cumsum(rng.normal(0, size * 0.03, (int(rng.integers(2, 12)), 2)), axis=0)
        out.append((pts.tolist(), float(rng.uniform(4, 30)), bool(i % 7 == 6)))   # every 7th an eraser
    return out


def _images(c):
    view = c._view.convertToFormat(c._view.format())
    return c.to_array(), np.frombuffer(view.constBits(), np.uint8, view.sizeInBytes()).copy()


def _fresh(strokes, size, qtbot):
    other = DrawingCanvas(size=size)
    qtbot.addWidget(other)
    for pts, width, eraser in strokes:
        other.draw_stroke(pts, width=width, eraser=eraser)
    return _images(other)


@pytest.mark.parametrize("dpr", [1.0, 2.0])
def test_undo_redo_clear_give_the_same_pixels_as_drawing_again(qtbot, monkeypatch, dpr):
    monkeypatch.setattr(DrawingCanvas, "devicePixelRatioF", lambda self: dpr)
    strokes = _random_strokes(40, 200)
    c = DrawingCanvas(size=200)
    qtbot.addWidget(c)
    for pts, width, eraser in strokes:
        c.draw_stroke(pts, width=width, eraser=eraser)
    for _ in range(15):
        c.undo()
    for _ in range(5):
        c.redo()
    for got, want in zip(_images(c), _fresh(strokes[:30], 200, qtbot)):
        np.testing.assert_array_equal(got, want)
    c.clear()
    assert c.to_array().max() == 0
    c.undo()                                                     # undo the clear: all of it back
    for got, want in zip(_images(c), _fresh(strokes[:30], 200, qtbot)):
        np.testing.assert_array_equal(got, want)
    c.undo()
    for got, want in zip(_images(c), _fresh(strokes[:29], 200, qtbot)):
        np.testing.assert_array_equal(got, want)


def test_undo_and_redo_cost_one_stroke_however_long_the_drawing(qtbot, monkeypatch):
    c = DrawingCanvas(size=200)
    qtbot.addWidget(c)
    for pts, width, eraser in _random_strokes(2000, 200, seed=1):
        c.draw_stroke(pts, width=width, eraser=eraser)
    rendered = []
    original = DrawingCanvas._render_stroke
    monkeypatch.setattr(DrawingCanvas, "_render_stroke", lambda self, s: rendered.append(s) or original(self, s))
    for _ in range(50):
        c.undo()
    assert rendered == []                        # undo pastes back what a stroke covered
    c.redo()
    assert len(rendered) == 1                    # redo paints one stroke
    c.clear()
    c.undo()
    assert len(rendered) == 1 and len(c.strokes) == 1951


def test_a_dropped_patch_falls_back_to_rerendering(qtbot):
    strokes = _random_strokes(30, 200, seed=2)
    c = DrawingCanvas(size=200)
    qtbot.addWidget(c)
    c._history.budget = 0                        # no memory for patches at all
    for pts, width, eraser in strokes:
        c.draw_stroke(pts, width=width, eraser=eraser)
    for _ in range(3):
        c.undo()
    for got, want in zip(_images(c), _fresh(strokes[:27], 200, qtbot)):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("pressures", [[], [0.5], None, [0.2, 0.4, 0.6, 0.8, 1.0]])
def test_draw_stroke_takes_any_number_of_pressures(canvas, pressures):
    canvas.draw_stroke([(50, 50), (100, 100), (150, 120)], pressures=pressures)
    assert canvas.to_array().max() > 0.9 and len(canvas.strokes[0].points) == 3


def test_draw_stroke_skips_points_that_are_not_finite(canvas):
    canvas.draw_stroke([(50, 50), (float("nan"), 3), (float("inf"), 0), (150, 150)])
    assert len(canvas.strokes[0].points) == 2
    canvas.draw_stroke([(float("nan"), float("nan"))])
    assert len(canvas.strokes) == 1
