"""The Draw tab does what it says, and nothing else (issue 22): a click goes where its caption says,
an outline marks the unit it names, the Arithmetic tab always names a stage and never points to a
Feature maps tab with nothing in it, and the map spinner reads as the maps are numbered."""
from __future__ import annotations

import numpy as np
from drawing import draw, seven
from map_clicks import click_unit, open_unit
from windows import open_window

from digitpad.core.paths import shipped_model_path


def _drawn(qtbot, path, size=(1280, 720)):
    w = open_window(qtbot, path, size)
    draw(w.workbench.canvas, seven(w.workbench.canvas.width()))
    qtbot.wait(30)
    return w


def test_a_click_on_a_map_opens_it_large_where_you_are(qtbot):
    """The caption says "click one to see it large": the map opens large, on the Feature maps tab (it
    used to switch to the Arithmetic tab, the large map left behind on the tab you had left)."""
    w = _drawn(qtbot, shipped_model_path())
    wb = w.workbench
    fm = wb.feature_maps
    wb.inspector.setCurrentWidget(fm)
    fm.chooser.combo.setCurrentText("conv2")
    qtbot.wait(50)
    click_unit(qtbot, fm.grid, 3, 5, 5)
    assert wb.inspector.currentWidget() is fm and fm.selected == 3 and fm.detail.isVisible()
    assert "Click a pixel" in fm.detail_title.text()
    qtbot.wait(50)
    click_unit(qtbot, fm.large, 0, 5, 5)                   # a pixel of the large map: its arithmetic
    assert wb.inspector.currentWidget() is wb.arithmetic
    assert wb.arithmetic.stage == wb.controller.predictor.stage_name("conv2") and wb.arithmetic.index == (3, 5, 5)
    w.close()


def test_the_explained_units_outline_stays_on_its_own_layer(qtbot):
    """conv1's unit (row 20, col 20) explained, then conv4 (7x7) chosen: no outline there (one used to
    appear on an unrelated conv4 tile, at the old coordinates)."""
    w = _drawn(qtbot, shipped_model_path())
    wb = w.workbench
    fm = wb.feature_maps
    wb.inspector.setCurrentWidget(fm)
    fm.chooser.combo.setCurrentText("conv1")
    qtbot.wait(50)
    open_unit(qtbot, fm, 2, 20, 20)
    assert fm.marks.unit == (2, 20, 20)
    wb.inspector.setCurrentWidget(fm)
    fm.chooser.combo.setCurrentText("conv4")
    qtbot.wait(50)
    assert fm.marks.unit is None and not fm.marks._box.isVisible()
    fm.chooser.combo.setCurrentText("conv1")                # back on its layer: outlined again
    qtbot.wait(50)
    assert fm.marks.unit == (2, 20, 20) and fm.marks._box.isVisible()
    w.close()


def test_the_arithmetic_tab_opens_on_a_stage(qtbot):
    """No empty Stage box: the first conv, its strongest unit for the drawing."""
    w = _drawn(qtbot, shipped_model_path())
    wb = w.workbench
    tab = wb.arithmetic
    wb.inspector.setCurrentWidget(tab)
    qtbot.wait(50)
    assert tab.combo.currentIndex() >= 0 and tab.combo.currentText().startswith("conv1")
    values = wb.controller.predictor.trace(wb.model_input)[tab.stage][0]
    assert tab.index is not None and np.isclose(values[tab.index], values.max())
    assert tab.channel.value() == tab.index[0]                # the spinner names the map shown
    assert tab.panel.title.isVisibleTo(tab.panel)          # an explanation, not a prompt
    w.close()


def test_a_model_without_maps_points_to_no_feature_maps(qtbot, pattern_model):
    """A model without metadata and without conv layers has no feature maps: the Arithmetic tab does
    not send you to an empty Feature maps tab."""
    w = _drawn(qtbot, pattern_model)
    wb = w.workbench
    tab = wb.arithmetic
    wb.inspector.setCurrentWidget(tab)
    qtbot.wait(50)
    assert not wb.controller.predictor.layers
    assert tab.combo.currentIndex() >= 0
    tab.stage = None
    tab._refresh_now()
    shown = " ".join([tab.info.text(), tab.panel.message.text()])
    assert "Feature maps" not in shown and "Choose a stage" in shown
    w.close()


def test_the_map_spinner_reads_as_maps_are_numbered(qtbot):
    """Maps are numbered from 0 ("conv1 · map 5"); the spinner said "0 of 32" .. "31 of 32"."""
    w = _drawn(qtbot, shipped_model_path())
    wb = w.workbench
    tab = wb.arithmetic
    wb.inspector.setCurrentWidget(tab)
    tab.show_unit("conv1", (0, 14, 14))
    assert tab.channel.minimum() == 0 and tab.channel.maximum() == 31
    assert tab.channel.text() == "0 (0–31)"
    assert "of 32" not in tab.channel.text()
    w.close()


def _wheel(widget, up: bool = False) -> None:
    """One notch of the mouse wheel over ``widget``, as the window system delivers it."""
    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    centre = QPointF(widget.rect().center())
    ev = QWheelEvent(centre, QPointF(widget.mapToGlobal(centre.toPoint())), QPoint(0, 0),
                     QPoint(0, 120 if up else -120), Qt.NoButton, Qt.NoModifier, Qt.NoScrollPhase, False)
    QApplication.sendEvent(widget, ev)


def test_the_wheel_scrolls_the_page_past_an_input_it_does_not_focus(qtbot):
    """Scrolling the Model page over a what-if spin box changed its value (and the shapes with it)."""
    from PySide6.QtWidgets import QApplication

    w = open_window(qtbot, shipped_model_path(), (1280, 720))
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=3000)
    wb = w.workbench
    wb.inspector.setCurrentIndex(wb.inspector.count() - 1)   # the Model page, the last
    qtbot.waitUntil(lambda: bool(wb.shapes_view.rows), timeout=20_000)
    page = wb.inspector.currentWidget()
    spin = wb.shapes_view.rows[0]["k"]
    page.ensureWidgetVisible(spin, 0, 200)
    qtbot.wait(30)
    value, scrolled = spin.value(), page.verticalScrollBar().value()
    _wheel(spin)
    assert spin.value() == value                          # not changed by a wheel passing over it
    assert page.verticalScrollBar().value() > scrolled    # the page scrolled on instead
    w.activateWindow()   # (offscreen, a tooltip window may have taken it)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=3000)
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus, timeout=3000)
    _wheel(spin, up=True)
    assert spin.value() == value + 1                      # with the keyboard, the wheel sets it
    form = w.training.form                                # the Train form's inputs, in their scroll area
    w.tabs.setCurrentWidget(w.training)
    qtbot.wait(30)
    epochs = form.epochs.value()
    _wheel(form.epochs, up=True)
    assert form.epochs.value() == epochs
    dataset = form.dataset.currentIndex()
    _wheel(form.dataset)
    assert form.dataset.currentIndex() == dataset
    w.close()
