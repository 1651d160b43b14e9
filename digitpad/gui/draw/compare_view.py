"""The Compare inspector: the active model and a second one (``controller.second``, shared with the
Evaluate tab) on the same input, live: both answers as paired bars and a layer's maps of each; and the
disagreement finder, the test images where the two answer differently, surest first, one click to open
any in the canvas.

The second model reads the same drawing through its own preprocessing (an 8x8 model its 8x8 image), and
a test image or picture when it takes images of the same shape. Its prediction runs on the UI thread
while the tab is shown (one more ONNX Runtime call, ~0.3 ms for the shipped model: both answers are on
screen in the frame the drawing changed in); while the tab is hidden nothing runs. The disagreements
come from both models over the test set on a worker thread (``core.explore.jobs.compare_job``).
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from digitpad.core.explore import cannot_compare
from digitpad.core.explore.compare import BOTH, FIRST, SECOND, Comparison
from digitpad.core.explore.jobs import SharedTestSets, compare_job, locate_test_set

from .. import style
from ..elided import ElidedLabel
from ..images import thumbnail
from ..maps import MapGrid
from ..second_model import SecondModelPicker
from ..text import plain_label, rich, rich_label, set_tip
from ..threads import background
from ..widgets import JobStatus
from .compare_bars import CompareBars
from .inspector_parts import message_page

LISTED = 200         # disagreements listed (the count says how many there are)
THUMB = 40


def second_input(first, second, x: np.ndarray | None, drawing: np.ndarray | None) -> tuple[np.ndarray | None, str]:
    """What the second model reads of the input shown to the first: the same canonical image when both take
    it, else the drawing through its own preprocessing; (None, why) when it cannot read it."""
    same = tuple(first.input_shape) == tuple(second.input_shape)
    if x is None:
        return None, ""
    if same and (first.preprocessing == second.preprocessing or drawing is None):
        return x, ""
    if drawing is not None and second.input.drawn:
        made = second.input.from_drawing(drawing)
        return made, "" if made is not None else "no ink"
    c, s, _ = second.input_shape
    return None, f"takes {s}×{s}{' colour' if c == 3 else ''} images"


class _ModelMaps(QWidget):
    """One model's maps of a chosen layer, for the input shown."""

    def __init__(self, colour: str, parent=None):
        super().__init__(parent)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(2)
        row = QHBoxLayout()
        swatch = plain_label("■")
        swatch.setStyleSheet(f"color: {colour};")
        row.addWidget(swatch)
        self.layer = QComboBox()
        self.layer.setMinimumWidth(90)
        set_tip(self.layer, "Which layer's maps to show for this model")
        row.addWidget(self.layer, 1)
        col.addLayout(row)
        self.grid = MapGrid(bar=False)
        self.grid.setMinimumHeight(90)
        col.addWidget(self.grid, 1)
        self.acts: dict[str, np.ndarray] = {}
        self.layer.currentTextChanged.connect(lambda _t: self.show(self.acts))

    def set_layers(self, layers: list[str]) -> None:
        previous = self.layer.currentText()
        self.layer.blockSignals(True)
        self.layer.clear()
        self.layer.addItems(layers)
        if previous in layers:
            self.layer.setCurrentText(previous)
        self.layer.blockSignals(False)
        self.layer.setEnabled(bool(layers))

    def show(self, acts: dict[str, np.ndarray]) -> None:
        self.acts = acts
        a = acts.get(self.layer.currentText())
        if a is None:
            self.grid.clear_maps()
        else:
            self.grid.set_maps(a)


class CompareView(QWidget):
    """``testChosen(image, caption)``: a test image to open. ``controller``: the model controller (its
    ``second`` model, shared with the Evaluate tab; its library and settings)."""

    testChosen = Signal(object, str)

    def __init__(self, controller, sets: SharedTestSets, parent=None):
        super().__init__(parent)
        self.controller = controller
        self.second, self.settings, self.sets = controller.second, controller.settings, sets
        self.predictor = None
        self.prediction = None
        self.x = self.drawing = None
        self.comparison: Comparison | None = None
        self.listed = None
        self.title = ""
        self._key = None
        self.jobs = background("comparison", self)
        self._build()
        self.second.changed.connect(lambda _p: self._models_changed())
        self.second.failed.connect(self._failed_to_open)

    # -- layout ----------------------------------------------------------------------------------------
    def _build(self) -> None:
        col = QVBoxLayout(self)
        col.setContentsMargins(8, 8, 8, 8)
        col.setSpacing(6)
        head = QHBoxLayout()
        head.addWidget(plain_label("Compare with"))
        self.picker = SecondModelPicker(self.controller)
        set_tip(self.picker, "A second model: its answer and maps beside the active model's, on the same input, "
                             "and the test images where the two disagree (the Evaluate tab shows its accuracy too)")
        head.addWidget(self.picker, 1)
        col.addLayout(head)
        self.stack = QStackedWidget()
        empty, self.empty_text = message_page()
        self.stack.addWidget(empty)
        col.addWidget(self.stack, 1)

        split = QSplitter(Qt.Vertical)
        split.setChildrenCollapsible(False)
        top = QWidget()
        top_row = QHBoxLayout(top)
        top_row.setContentsMargins(0, 0, 0, 0)
        self.bars = CompareBars()
        self.bars.setFixedWidth(230)
        top_row.addWidget(self.bars)
        self.maps = (_ModelMaps(style.FIRST_MODEL), _ModelMaps(style.SECOND_MODEL))
        for m in self.maps:
            top_row.addWidget(m, 1)
        split.addWidget(top)

        bottom = QWidget()
        bl = QVBoxLayout(bottom)
        bl.setContentsMargins(0, 4, 0, 0)
        bl.setSpacing(4)
        row = QHBoxLayout()
        self.found = ElidedLabel()
        row.addWidget(self.found, 1)
        self.order = QComboBox()
        self.order.addItem("both surest first", BOTH)
        self.order.addItem("first surest first", FIRST)
        self.order.addItem("second surest first", SECOND)
        set_tip(self.order, "How the disagreements are sorted: by the smaller of the two confidences (both sure "
                            "and still disagreeing: one of them is confidently wrong), or by one model's")
        self.order.currentIndexChanged.connect(lambda _i: self._fill_list())
        row.addWidget(self.order)
        bl.addLayout(row)
        self.legend = rich_label("", "muted")
        self.legend.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Fixed)   # long model names: cut, never wider
        bl.addWidget(self.legend)
        self.job = JobStatus(self.found)
        self.progress = self.job.bar
        bl.addWidget(self.progress)
        self.list = QListWidget()
        self.list.setViewMode(QListWidget.IconMode)
        self.list.setMovement(QListWidget.Static)
        self.list.setResizeMode(QListWidget.Adjust)
        self.list.setUniformItemSizes(True)
        self.list.setIconSize(QSize(THUMB, THUMB))
        self.list.setGridSize(QSize(THUMB + 34, THUMB + 2 * self.fontMetrics().height() + 8))
        self.list.setStyleSheet("QListWidget { border: none; }")
        self.list.itemClicked.connect(lambda item: self.open_index(int(item.data(Qt.UserRole))))
        bl.addWidget(self.list, 1)
        split.addWidget(bottom)
        split.setSizes([220, 260])
        self.stack.addWidget(split)
        self._say("")

    def _say(self, text: str, busy: bool = False) -> None:
        self.job.say(text, busy)

    def _failed_to_open(self, text: str) -> None:
        self.empty_text.setText(text)
        if self.second.predictor is None:
            self.stack.setCurrentIndex(0)

    # -- models ----------------------------------------------------------------------------------------
    def set_predictor(self, predictor) -> None:
        self.predictor = predictor
        self._models_changed()

    def _models_changed(self) -> None:
        first, second = self.predictor, self.second.predictor
        self.stack.setCurrentIndex(1 if second is not None else 0)
        if second is None:
            self.empty_text.setText("Pick a second model above: its answer and maps appear beside this model's on "
                                    "the same drawing, with the test images where the two disagree.")
        self.bars.set_models(first.name if first else "–", second.name if second else "–",
                             list(first.classes) if first else [])
        for i, name in enumerate((first.name if first else "first", second.name if second else "second"), 1):
            self.order.setItemText(i, f"{name} surest first")
        self.legend.setText(rich("Under each image: its class, then <span style='color:{}'>■</span> {}'s answer · "
                                 "<span style='color:{}'>■</span> {}'s", style.FIRST_MODEL,
                                 first.name if first else "", style.SECOND_MODEL, second.name if second else ""))
        self.maps[0].set_layers(first.layers if first else [])
        self.maps[1].set_layers(second.layers if second else [])
        self._key = None
        self.jobs.cancel()             # a comparison of models no longer shown never lands
        self.comparison = None
        self.list.clear()
        if self.isVisible():
            self._compare()
            self._show_live()

    # -- live: both answers on the input shown ------------------------------------------------------------
    def show_input(self, prediction, x: np.ndarray | None, drawing: np.ndarray | None = None) -> None:
        """The active model's answer on the input now shown, and that input (canonical; ``drawing``: the
        canvas's image when it is a drawing)."""
        self.prediction, self.x, self.drawing = prediction, x, drawing
        if self.isVisible():
            self._show_live()

    def _show_live(self) -> None:
        first, second = self.predictor, self.second.predictor
        a = self.prediction
        b, why = None, ""
        if a is not None and tuple(self.x.shape[1:]) != tuple(first.input_shape):
            a = None                   # an input of the model before (the new one's comes next)
        if second is not None and first is not None and a is not None:
            xb, why = second_input(first, second, self.x, self.drawing)
            b = second.predict(xb) if xb is not None else None
        self.bars.show_answers(a.probs if a is not None else None, b.probs if b is not None else None, ("", why))
        self.maps[0].show(a.activations if a is not None else {})
        self.maps[1].show(b.activations if b is not None else {})

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._compare()
        self._show_live()

    # -- the disagreement finder --------------------------------------------------------------------------
    def _compare(self) -> None:
        first, second = self.predictor, self.second.predictor
        why = cannot_compare(first, second)
        if why is not None:
            self._key = None
            self.jobs.cancel()
            self._say(why)
            return
        where = locate_test_set(first, self.settings.values.datasets_folder)
        if isinstance(where, str):
            self._say(where)
            return
        dataset, folder, self.title = where
        key = (first.digest, second.digest, folder, dataset)
        if key == self._key:
            return
        self._key = key
        self._say(f"Running both models over the {self.title} test set…", busy=True)
        self.jobs.submit(compare_job, first, second, folder, dataset, self.sets, on_done=self._compared,
                         on_error=self._failed, on_progress=self.job.progress)

    def _failed(self, error: BaseException) -> None:
        self._key = None
        self._say(f"The two models cannot be compared on the test set: {error}")

    def _compared(self, comparison: Comparison | None) -> None:
        if comparison is None:
            return
        self.comparison = comparison
        self._fill_list()

    def _fill_list(self) -> None:
        c = self.comparison
        if c is None:
            return
        d = c.disagreements.sorted_by(self.order.currentData())
        self.listed = d
        names = c.first.classes
        a, b = self.predictor.name, self.second.predictor.name
        self.progress.setVisible(False)
        listed = f" (the first {LISTED})" if len(d) > LISTED else ""
        self.found.set_text(f"{len(d):,} of {d.total:,} test images answered differently{listed} · {a} right on "
                            f"{d.first_right:,}, {b} on {d.second_right:,}",
                            f"Of the {d.total:,} {self.title} test images, {len(d):,} get different answers from the "
                            f"two models: {a} is right on {d.first_right:,} of them, {b} on {d.second_right:,}. "
                            f"Overall: {a} {c.first.accuracy * 100:.2f} %, {b} {c.second.accuracy * 100:.2f} %.")
        self.list.clear()
        for row in range(min(len(d), LISTED)):
            i = int(d.indices[row])
            t, pa, pb = names[d.labels[row]], names[d.first[row]], names[d.second[row]]
            item = QListWidgetItem(QIcon(thumbnail(c.test.image(i), THUMB)), f"{t}\n{pa} · {pb}")   # the legend
            item.setData(Qt.UserRole, i)
            item.setForeground(QColor(style.TEXT))
            set_tip(item, f"Test image {i:,}: true {t}\n{a} says {pa} ({d.first_confidence[row] * 100:.1f} %)\n"
                          f"{b} says {pb} ({d.second_confidence[row] * 100:.1f} %)\nClick to open it.")
            self.list.addItem(item)

    def open_index(self, i: int) -> None:
        c = self.comparison
        if c is None or not 0 <= i < len(c.test):
            return
        names = c.first.classes
        t = names[int(c.test.labels[i])]
        pa, pb = names[int(c.first.preds[i])], names[int(c.second.preds[i])]
        self.testChosen.emit(c.test.image(i), f"{self.title} test image {i:,} · {t}: {self.predictor.name} says "
                                              f"{pa}, {self.second.predictor.name} says {pb}")

    def shutdown(self) -> None:
        self.jobs.shutdown()
