"""The window at 1280x720 (a laptop) and 1920x1080: on every tab, no widget overlaps a sibling,
none is squeezed below its minimum, no text is cut, nothing scrolls; and the window keeps its
size whatever the tabs show (hints, a banner, a guided set, another model, a fine-tune's
result, a long run name).

Offscreen Qt lays windows out as on a screen: the window grew itself to 1340x795 here when a
hint appeared, before the pages could scroll (gui.widgets.PageTabs)."""
from __future__ import annotations

import json
from itertools import combinations

import numpy as np
import pytest
from drawing import draw, seven
from PySide6.QtWidgets import QAbstractButton, QApplication, QLabel, QLayout, QScrollArea, QWidget
from windows import open_window

from digitpad.gui.text import Html

LONG_NAME = "digitpad-s-mnist-20261123-151004-a-rather-long-name-somebody-typed"


def _name(w: QWidget) -> str:
    text = w.text() if isinstance(w, (QLabel, QAbstractButton)) else ""
    return f"{type(w).__name__}#{w.objectName()}" + (f"({text[:30]!r})" if text else "")


def _layout_widgets(layout: QLayout) -> list[QWidget]:
    out = []
    for i in range(layout.count()):
        item = layout.itemAt(i)
        if item.widget() is not None:
            out.append(item.widget())
        elif item.layout() is not None:
            out += _layout_widgets(item.layout())
    return out


def layout_problems(window) -> list[str]:
    """Visible laid-out siblings that overlap, widgets below their minimum size, cut text."""
    problems = []
    for parent in [window, *window.findChildren(QWidget)]:
        if not parent.isVisible() or parent.layout() is None:
            continue
        kids = [k for k in _layout_widgets(parent.layout()) if k.isVisible()]
        for a, b in combinations(kids, 2):
            if a.geometry().intersects(b.geometry()):
                problems.append(f"{_name(a)} overlaps {_name(b)} in {_name(parent)}")
        for k in kids:
            hint = k.minimumSizeHint()
            if k.hasHeightForWidth() or not hint.isValid():
                continue
            low_w = k.width() < min(hint.width(), k.maximumWidth()) and k.sizePolicy().horizontalPolicy() != 6
            low_h = k.height() < min(hint.height(), k.maximumHeight()) and k.sizePolicy().verticalPolicy() != 6
            if (low_w or low_h) and k.minimumSize().isNull():   # 6: Ignored (elided on purpose)
                problems.append(f"{_name(k)} squeezed to {k.width()}x{k.height()} below {hint.width()}x"
                                f"{hint.height()} in {_name(parent)}")
    for w in window.findChildren(QWidget):
        if not w.isVisible():
            continue
        if isinstance(w, QAbstractButton) and w.text() and w.width() < w.fontMetrics().horizontalAdvance(w.text()):
            problems.append(f"{_name(w)} is {w.width()} px wide: its text is cut")
        if isinstance(w, QLabel) and not w.wordWrap() and w.text() and "<" not in w.text() \
                and w.sizePolicy().horizontalPolicy() != 6 \
                and w.width() + 1 < w.fontMetrics().horizontalAdvance(w.text()):
            problems.append(f"{_name(w)} is {w.width()} px wide: its text is cut")
    return problems


def scrolling_pages(window) -> list[str]:
    out = []
    for i in range(window.tabs.count()):
        area = window.tabs.area(i)
        if area is not None and window.tabs.currentIndex() == i:
            vp, need = area.viewport().size(), area.needed()
            if need.width() > vp.width() or need.height() > vp.height():
                out.append(f"{window.tabs.tabText(i)} needs {need.width()}x{need.height()}, "
                           f"has {vp.width()}x{vp.height()}")
    return out


def settle(qtbot, ms: int = 60) -> None:
    qtbot.wait(ms)
    QApplication.processEvents()


def _fake_runs(models, other_model) -> None:
    """Two runs in the history: one with a long name, one a fine-tune (logs only, and a model file)."""
    models.mkdir(parents=True, exist_ok=True)
    hist = [{"epoch": e, "test_accuracy": 0.9 + e / 100, "test_loss": 0.3 / e, "train_loss": 0.4 / e,
             "elapsed_s": 10.0 * e} for e in (1, 2)]
    cfg = {"arch": "digitpad-s", "dataset": "mnist", "epochs": 2, "batch_size": 128, "lr": 0.005, "augment": False}
    for stem, extra in ((LONG_NAME, {}), ("default-mine-20261123-120000", {"init": "/x/default.onnx",
                                                                             "extra": ["/x/.finetune.npz"],
                                                                             "extra_repeat": 20, "limit": 8000})):
        (models / f"{stem}.onnx").write_bytes(other_model.read_bytes())
        (models / f"{stem}.run.json").write_text(json.dumps({"config": {**cfg, **extra}, "history": hist,
                                                             "status": "completed", "seconds": 21.0,
                                                             "created": "2026-11-23T12:00:00"}))
    (models / "default-mine-20261123-120000.log.json").write_text(json.dumps({
        "status": "completed", "steps": [[s, 1.0 / s, 0.001, s * 0.2] for s in range(1, 120)], "n_train": 8600,
        "finetune": {"base": "default.onnx", "digits": 30, "held_out": 20, "before": 0.6, "after": 0.9,
                     "seconds": 41.0}}))


def _visit(window, qtbot, where: str, problems: list[str], size) -> None:
    settle(qtbot)
    found = layout_problems(window) + scrolling_pages(window)
    problems += [f"{where}: {p}" for p in found]
    if (window.width(), window.height()) != size:
        problems.append(f"{where}: the window resized itself to {window.width()}x{window.height()}")


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
def test_every_tab_fits_and_the_window_keeps_its_size(qtbot, random_model, other_model, private_data_dir, size,
                                                      known_set, monkeypatch):
    from digitpad.gui.evaluate import view as evaluate_view

    monkeypatch.setattr(evaluate_view.EvaluationView, "_default_folder", lambda self: str(known_set[0]))
    _fake_runs(private_data_dir / "models", other_model)
    w = open_window(qtbot, random_model, size)
    problems: list[str] = []
    wb = w.workbench

    _visit(w, qtbot, "Draw, empty", problems, size)
    draw(wb.canvas, seven(wb.canvas.width()))
    settle(qtbot)
    panel_at = wb.panel.geometry()                      # nothing below may move it: no layout jumps
    wb.saliency_box.setChecked(True)
    wb.feature_maps.select_map(1)
    _visit(w, qtbot, "Draw, a seven, saliency, a map opened", problems, size)
    wb.corrections.correct(7)
    wb.canvas.clear()
    wb.canvas.draw_stroke([(190, 190), (191, 191)], width=8)   # two tiny marks: small, and two pieces
    wb.canvas.draw_stroke([(215, 215), (216, 216)], width=8)
    assert len(wb.hints) >= 2
    _visit(w, qtbot, "Draw, two hints", problems, size)
    if wb.panel.geometry() != panel_at:
        problems.append(f"the prediction rows moved from {panel_at} to {wb.panel.geometry()}")
    wb.show_notice("A one-line notice, as when a setting was reset at start.")
    _visit(w, qtbot, "Draw, a notice", problems, size)
    assert w.controller.load(other_model)
    _visit(w, qtbot, "Draw, another model", problems, size)
    for i in range(wb.inspector.count()):
        wb.inspector.setCurrentIndex(i)
        _visit(w, qtbot, f"Draw, inspector {wb.inspector.tabText(i)}", problems, size)

    w.tabs.setCurrentWidget(w.training)
    _visit(w, qtbot, "Train, live", problems, size)
    w.training.views.setCurrentIndex(1)
    hist = w.training.history
    assert hist.table.rowCount() == 2
    hist.table.selectAll()
    _visit(w, qtbot, "Train, two runs overlaid", problems, size)
    hist.table.selectRow(0)
    _visit(w, qtbot, "Train, one run", problems, size)

    with qtbot.waitSignal(w.evaluation.evaluated, timeout=20_000):
        w.tabs.setCurrentWidget(w.evaluation)
    _visit(w, qtbot, "Evaluate", problems, size)

    w.tabs.setCurrentWidget(w.my_digits)
    _visit(w, qtbot, "My digits", problems, size)
    w.my_digits.start_guided()
    _visit(w, qtbot, "My digits, guided set", problems, size)
    panel = w.my_digits.finetune
    panel.result.show_result("ok", Html("<b>Done in 41 s.</b> On your 20 held-out digits:<br>before <b>60% (12/20)</b> "
                                        "→ after <b>90% (18/20)</b><br>MNIST test accuracy: 99.63% → 99.58%<br>"
                                        "New model: default-mine-20261123-120000.onnx (in the model library)."))
    panel.use_button.setVisible(True)
    _visit(w, qtbot, "My digits, a fine-tune's result", problems, size)
    assert not problems, "\n".join(problems)
    w.close()


def test_a_page_scrolls_rather_than_squeezing_below_its_minimum(qtbot, random_model):
    """Smaller than designed for: scroll bars, never widgets drawn over each other."""
    from digitpad.app import MainWindow

    w = MainWindow(model_path=random_model)
    qtbot.addWidget(w)
    w.resize(900, 560)
    w.show()
    qtbot.waitExposed(w)
    settle(qtbot)
    assert (w.width(), w.height()) == (900, 560)
    area = w.tabs.area(0)
    assert isinstance(area, QScrollArea) and area.verticalScrollBar().isVisible()
    assert not [p for p in layout_problems(w) if "overlaps" in p]


COLOUR_LONG = ["a rather long class name for boats & <ships>", "cat", "dog", "ship"]
SIXTEEN = sorted(f"breed number {i} with a long name" for i in range(16))   # as a folder lists them


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
def test_colour_train_and_evaluate_fit(qtbot, tmp_path, size):
    """The Train and Evaluate tabs with colour data: CIFAR-10 chosen and its Data set page, a picture
    folder with long class names and a damaged file, a colour model's matrix and gallery, a 16-class
    folder model."""
    from picture_sets import make_picture_model, write_cifar_folder, write_user_folder

    from digitpad.core.settings import SettingsStore

    data = write_cifar_folder(tmp_path / "data")
    pets = write_user_folder(tmp_path / "pets", COLOUR_LONG, damaged="cat")
    many = write_user_folder(tmp_path / "many", SIXTEEN, per_class=4, split=True, damaged=None,
                             mistakes=((0, 3), (5, 2)))
    SettingsStore().update(datasets_folder=str(data))
    w = open_window(qtbot, make_picture_model(tmp_path / "cifar.onnx"), size)
    problems: list[str] = []

    def choose(combo, key) -> None:
        combo.setCurrentIndex(combo.findData(key))
        combo.activated.emit(combo.currentIndex())

    tab = w.training
    w.tabs.setCurrentWidget(tab)
    choose(tab.form.dataset, "cifar10")
    qtbot.waitUntil(lambda: len(tab.data_view.blocks.blocks) == 10, timeout=20_000)
    _visit(w, qtbot, "Train, CIFAR-10's samples", problems, size)
    tab.form.data.ask_folder = lambda *_a: str(pets)
    choose(tab.form.dataset, "folder")
    qtbot.waitUntil(lambda: len(tab.data_view.blocks.blocks) == 4, timeout=20_000)
    _visit(w, qtbot, "Train, a picture folder", problems, size)
    with qtbot.waitSignal(w.evaluation.evaluated, timeout=20_000):
        w.tabs.setCurrentWidget(w.evaluation)
    _visit(w, qtbot, "Evaluate, CIFAR-10", problems, size)
    w.evaluation.show_cell(3, 5)
    _visit(w, qtbot, "Evaluate, a cell", problems, size)
    with qtbot.waitSignal(w.evaluation.evaluated, timeout=20_000):
        assert w.controller.load(make_picture_model(tmp_path / "many.onnx", SIXTEEN, dataset="folder",
                                                    data_dir=str(many)))
    assert w.evaluation.matrix.rowCount() == 16
    _visit(w, qtbot, "Evaluate, 16 classes", problems, size)
    assert not problems, "\n".join(problems)
    w.close()


def number_cell_problems(window) -> list[str]:
    """The arithmetic's number cells: every number fits its cell (so none runs into the next, and a
    negative number keeps its minus sign), and every grid lies inside the page's width."""
    from PySide6.QtGui import QFontMetrics

    from digitpad.gui.draw.numbers import NumberGrid, small_font

    metrics = QFontMetrics(small_font())   # the cells' font
    panel = window.workbench.arithmetic.panel
    viewport = window.workbench.arithmetic.scroll.viewport()
    problems = []
    for grid in panel.findChildren(NumberGrid):
        if not grid.isVisibleTo(panel) or not grid.values.size:
            continue
        name = grid.caption or "a grid"
        problems += [f"{name}: {text!r} does not fit its {grid.cell_w} px cell" for row in grid.texts
                     for text in row if metrics.horizontalAdvance(text) + 2 > grid.cell_w]
        for (r, c), v in np.ndenumerate(grid.values):
            text = grid.texts[r][c]
            if v < 0 and text != "pad" and not text.startswith("-"):
                problems.append(f"{name}: {v} is shown as {text!r}")
        right = grid.mapTo(viewport, grid.rect().topRight()).x()
        if right > viewport.width():
            problems.append(f"{name} reaches x={right}, past the page's {viewport.width()} px")
    return problems


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
def test_the_arithmetic_numbers_read_right(qtbot, size):
    """Kernel and product cells at 1280x720 ran numbers together ("0.1170.0630.116") and lost minus
    signs under the next cell: a sum of the products shown looked wrong."""
    from digitpad.core.paths import shipped_model_path

    w = open_window(qtbot, shipped_model_path(), size)
    wb = w.workbench
    draw(wb.canvas, seven(wb.canvas.width()))
    wb.inspector.setCurrentWidget(wb.arithmetic)
    problems = []
    for stage, unit in (("conv1", (5, 0, 0)), ("conv3", (6, 6, 6)), ("conv2", (3, 7, 7)), ("conv4", (0, 3, 3))):
        wb.arithmetic.show_unit(stage, unit)
        settle(qtbot)
        found = number_cell_problems(w)
        problems += [f"{stage} {unit}: {p}" for p in found]
        assert any(g.isVisibleTo(wb.arithmetic.panel) and (g.values < 0).any()
                   for g in wb.arithmetic.panel.terms.findChildren(type(wb.arithmetic.panel.terms.grid))), stage
    assert not problems, "\n".join(problems)
    w.close()


def test_a_small_window_keeps_every_tab_in_reach(qtbot, random_model):
    """At 800x500 the model picker left the tab bar a sliver: two tabs behind tiny scroll arrows."""
    w = open_window(qtbot, random_model, (800, 500))
    bar = w.tabs.tabBar()
    settle(qtbot)
    assert all(bar.tabRect(i).right() <= bar.width() for i in range(bar.count())), \
        [(bar.tabText(i), bar.tabRect(i).right(), bar.width()) for i in range(bar.count())]
    assert w.picker.geometry().left() >= bar.geometry().right() - 2        # side by side, not over the tabs
    for i in range(w.tabs.count()):
        w.tabs.setCurrentIndex(i)
        settle(qtbot)
        assert (w.width(), w.height()) == (800, 500)
        assert not [p for p in layout_problems(w) if "overlaps" in p], w.tabs.tabText(i)
    w.resize(1280, 720)
    settle(qtbot)
    assert w.picker.combo.width() == w.picker._widest()                   # full width again
    w.close()


def test_the_window_size_and_maximised_state_are_remembered(qtbot, random_model):
    from PySide6.QtCore import Qt

    from digitpad.app import MainWindow
    from digitpad.core.settings import SettingsStore

    w = open_window(qtbot, random_model, (720, 500))   # (offscreen, the screen is 800x800: a size within it)
    w.close()
    assert SettingsStore().values.window == {"width": 720, "height": 500, "maximized": False}
    again = MainWindow(model_path=random_model)
    qtbot.addWidget(again)
    assert (again.width(), again.height()) == (720, 500) and not again.windowState() & Qt.WindowMaximized
    again.setWindowState(Qt.WindowMaximized)
    again.show()
    qtbot.waitExposed(again)
    again.close()
    assert SettingsStore().values.window["maximized"] is True
    third = MainWindow(model_path=random_model)
    qtbot.addWidget(third)
    assert third.windowState() & Qt.WindowMaximized                      # shown maximised again
    third.close()


def test_a_long_model_name_fits_the_model_page(qtbot, tmp_path):
    """A long model name made the Model page wider than its pane (title and path cut, no scroll bar), and
    the shapes table scrolled sideways under a cut header."""
    import shutil

    from digitpad.core.paths import shipped_model_path

    path = tmp_path / f"{LONG_NAME}_and_more_words_without_spaces.onnx"
    shutil.copy(shipped_model_path(), path)
    w = open_window(qtbot, path, (1280, 720))
    wb = w.workbench
    wb.inspector.setCurrentIndex(wb.inspector.count() - 1)   # the Model page, the last
    qtbot.waitUntil(lambda: wb.shapes_view.table.rowCount() > 0, timeout=20_000)
    settle(qtbot, 120)
    page = wb.inspector.currentWidget()
    assert page.widget().width() <= page.viewport().width()
    assert wb.model_info.title.width() <= page.viewport().width() and wb.model_info.title.text() == path.stem
    table = wb.shapes_view.table
    assert table.horizontalHeader().length() <= table.viewport().width() + 1
    assert all(table.rowHeight(r) >= table.sizeHintForRow(r) for r in range(table.rowCount()))   # no row cut
    assert not layout_problems(w)
    w.close()
