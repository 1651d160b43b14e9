"""Text from files is shown as written, never rendered: a model, run logs and a collection whose every
string is ``<img src="FIFO">`` go through every view of the window, and nothing opens the FIFO.

The FIFO's writer (tests/support/hostile.py) counts each opening and lets the reader go, so a view
that renders file text as HTML fails here with a count instead of hanging the test run; the
labels, tooltips and plot texts are checked as well, for markup left for Qt to render later.
"""
from __future__ import annotations

import pytest
from drawing import draw, seven
from hostile import Pipe, add_samples, write_bad_metadata_model, write_model, write_runs
from PySide6 import QtGui
from PySide6.QtCore import QEvent, QPoint, Qt
from PySide6.QtGui import QHelpEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QGraphicsTextItem,
    QGraphicsView,
    QInputDialog,
    QLabel,
    QListWidget,
    QMessageBox,
    QTableWidget,
    QToolTip,
    QWidget,
)
from windows import open_window

from digitpad.core.paths import collection_dir, models_dir

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def pipe(tmp_path, monkeypatch):
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    monkeypatch.chdir(folder)   # file names name the FIFO relative to the working folder
    p = Pipe.start(folder)
    yield p
    p.stop()


@pytest.fixture
def hostile_model(pipe):
    models_dir().mkdir(parents=True, exist_ok=True)
    return write_model(models_dir() / f"{pipe.name_markup}.onnx", pipe.markup)


def _renders_markup(text: str, rendered: bool) -> bool:
    """Whether ``text`` holds a tag that loads a file and would be laid out as HTML."""
    tag = "<img" in text.lower() or "<link" in text.lower()
    return tag and (rendered or QtGui.Qt.mightBeRichText(text))


def unsafe_texts(*roots: QWidget) -> list[str]:
    """Every text on screen (labels, tooltips, items' tooltips, plot texts) that would render a tag."""
    out = []
    widgets = [w for root in roots for w in (root, *root.findChildren(QWidget))]
    for w in widgets:
        if isinstance(w, QLabel) and w.textFormat() != Qt.PlainText \
                and _renders_markup(w.text(), w.textFormat() == Qt.RichText):
            out.append(f"{type(w).__name__}#{w.objectName()} renders {w.text()[:80]!r}")
        if _renders_markup(w.toolTip(), False):
            out.append(f"tooltip of {type(w).__name__}#{w.objectName()}: {w.toolTip()[:80]!r}")
        tips = []
        if isinstance(w, QTableWidget):
            tips += [w.item(r, c).toolTip() for r in range(w.rowCount()) for c in range(w.columnCount())
                     if w.item(r, c) is not None]
            tips += [w.horizontalHeaderItem(c).toolTip() for c in range(w.columnCount())
                     if w.horizontalHeaderItem(c) is not None]
        elif isinstance(w, QListWidget):
            tips += [w.item(i).toolTip() for i in range(w.count())]
        elif isinstance(w, QComboBox):
            tips += [str(w.itemData(i, Qt.ToolTipRole) or "") for i in range(w.count())]
        out += [f"an item's tooltip in {type(w).__name__}: {t[:80]!r}" for t in tips if _renders_markup(t, False)]
        if isinstance(w, QGraphicsView) and w.scene() is not None:
            out += [f"plot text {item.toHtml()[:80]!r}" for item in w.scene().items()
                    if isinstance(item, QGraphicsTextItem) and "<img" in item.toHtml()]
    return out


def test_the_fifo_tells_when_qt_renders_file_text(qtbot, pipe):
    """The check itself: an AutoText label given the text opens the FIFO (and is let go)."""
    label = QLabel(pipe.name_markup)
    qtbot.addWidget(label)
    label.show()
    label.grab()
    assert pipe.opened() > 0
    assert unsafe_texts(label)


def test_every_view_shows_file_text_as_written(qtbot, pipe, hostile_model, mnist_dir, monkeypatch):
    write_runs(hostile_model, pipe.markup, pipe.name_markup)
    bad_meta = write_bad_metadata_model(models_dir() / f"{pipe.name_markup}-metadata.onnx", pipe.name_markup)
    broken = models_dir() / f"{pipe.name_markup}-broken.onnx"
    broken.write_bytes(b"not onnx")
    from digitpad.core.handwriting.collection import Collection

    add_samples(Collection(collection_dir()), pipe.markup, pipe.name_markup)

    w = open_window(qtbot, hostile_model)
    assert w.controller.predictor.path == hostile_model.resolve()
    wb = w.workbench
    draw(wb.canvas, seven())
    qtbot.waitUntil(lambda: wb.prediction is not None, timeout=5000)

    # The Draw tab's inspectors: feature maps (a map chosen, a pixel hovered), kernels, every stage's
    # arithmetic (conv windows, pools, the dense layer's inputs, softmax's class names), the Model page.
    fm = wb.feature_maps
    wb.inspector.setCurrentWidget(fm)
    fm.select_map(0)
    fm.grid.hovered.emit(0, 1, 1)
    wb.inspector.setCurrentWidget(wb.kernels_view)
    wb.inspector.setCurrentWidget(wb.arithmetic)
    arith = wb.arithmetic
    from digitpad.gui.draw.numbers import ContributionRows, NumberGrid, SortedBars

    for stage in w.controller.predictor.stages():
        arith.show_unit(stage.name, (0, 1, 1) if len(stage.shape) == 3 else (0,))
        for grid in arith.findChildren(NumberGrid):   # hover: the tooltips name stages and maps
            if grid.isVisible() and grid.values.size:
                where = QPoint(40, 40)   # a cell, below the caption and the column labels
                QApplication.sendEvent(grid, QHelpEvent(QEvent.ToolTip, where, grid.mapToGlobal(where)))
        for rows in [*arith.findChildren(ContributionRows), *arith.findChildren(SortedBars)]:
            if rows.isVisible():
                QTest.mouseMove(rows, QPoint(10, 5))
    wb.inspector.setCurrentIndex(wb.inspector.count() - 1)   # the Model page: metadata, shapes, what-if
    qtbot.waitUntil(lambda: wb.shapes_view.table.rowCount() > 0, timeout=5000)

    # The other tabs: the runs history (one run, then two overlaid), Evaluate on real MNIST (class names in
    # the summary, the matrix and the gallery), My digits (a sample's source, a file that cannot be read).
    w.tabs.setCurrentWidget(w.training)
    history = w.training.history
    w.training.views.setCurrentWidget(history)
    qtbot.waitUntil(lambda: history.curves is not None and history.table.rowCount() >= 2, timeout=5000)
    history.table.selectRow(0)
    history.table.selectAll()
    w.evaluation.folder.setText(str(mnist_dir))
    with qtbot.waitSignal(w.evaluation.evaluated, timeout=30_000):
        w.tabs.setCurrentWidget(w.evaluation)
    w.evaluation.show_cell(1, 1)
    w.tabs.setCurrentWidget(w.my_digits)
    w.my_digits.refresh()
    assert w.my_digits.list.count() == 1

    # Dialogs: Manage models, About, the rename prompt and the delete question (answered at once).
    dialogs = [w.manage_models(), w.show_about()]
    prompts, boxes = [], []
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: prompts.append(a[2]) or ("", False))
    monkeypatch.setattr(QMessageBox, "exec", lambda box: boxes.append(box) or QMessageBox.Cancel)
    from digitpad.gui import run_actions

    run_actions.ask_name(w, hostile_model.stem)
    run_actions.confirm_delete(w, hostile_model)

    # Models that cannot be read, or whose metadata is refused: messages that quote the file.
    w.tabs.setCurrentWidget(wb)
    assert not w.controller.load(broken) and wb.banner.isVisible()
    assert w.controller.load(bad_meta) and w.controller.predictor.metadata_error
    wb.model_info.show_model(w.controller.predictor)

    QApplication.processEvents()
    assert pipe.opened() == 0, "a view rendered text from a file as HTML: Qt opened the FIFO it names"
    problems = unsafe_texts(w, *dialogs)
    problems += [f"input dialog prompt {p!r}" for p in prompts if _renders_markup(p, False)]
    problems += [f"message box {b.text()[:80]!r}" for b in boxes
                 if b.textFormat() != Qt.PlainText and _renders_markup(b.text(), b.textFormat() == Qt.RichText)]
    problems += [f"tooltip shown {QToolTip.text()[:80]!r}"] if _renders_markup(QToolTip.text(), False) else []
    assert prompts and boxes
    assert not problems, "\n".join(problems)
    for d in dialogs:
        d.close()
    w.close()


def test_the_app_starts_again_with_the_hostile_model_as_the_last_used(qtbot, pipe, hostile_model):
    """The model that was open is the one the next start loads first: that start must open too."""
    from digitpad.app import MainWindow

    first = open_window(qtbot, hostile_model)
    first.close()
    again = MainWindow()
    qtbot.addWidget(again)
    again.show()
    qtbot.waitExposed(again)
    qtbot.waitUntil(lambda: again.workbench.feature_maps is not None, timeout=5000)
    assert again.controller.predictor.path == hostile_model.resolve()
    assert pipe.name_markup in again.model_label.text()   # shown as written
    again.tabs.setCurrentWidget(again.training)   # builds the later tabs
    QApplication.processEvents()
    assert pipe.opened() == 0
    assert not unsafe_texts(again)
    again.close()
