"""The Draw tab's "Arithmetic" inspector: any unit of any stage, and how it was computed.

Every tensor of the forward pass is a stage here (digitpad.core.forward.Stage): the input and
its normalisation, each conv before and after batch norm and ReLU, the pools, the flattened
vector, dense layers, logits and softmax. Choose one (the first conv to start with; a pixel
clicked in the Feature maps tab's enlarged map opens it here), see its map or vector for the
current drawing with the unit outlined and what feeds nothing dimmed, hover for values (the
unit's receptive field is outlined on the model input), click for the arithmetic
(arithmetic.ArithmeticPanel).

Cost: a click on the same drawing is one ``Predictor.explain`` (~1 ms) and a paint. While
the drawing changes, the shown unit is recomputed only when this tab is visible, at most
every THROTTLE_MS: the 60 Hz drawing path only stores the new input.
"""
from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QBoxLayout,
    QComboBox,
    QHBoxLayout,
    QScrollArea,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from digitpad.core.inference import ExplainUnavailable

from ..maps import MapGrid, nice_ceil
from ..text import plain_label, set_tip
from ..widgets import muted
from .arithmetic import ArithmeticPanel
from .map_marks import MapMarks, hover_text

THROTTLE_MS = 100        # while drawing: at most 10 recomputations a second, only when shown
WIDE = 760               # px: map beside the arithmetic from here on, above it below


def vector_layout(n: int) -> tuple[int, int]:
    """(rows, cols) for showing a vector of n values as a small image: one row up to 16."""
    cols = n if n <= 16 else 32
    return -(-n // cols), cols


def levels_of(values: np.ndarray) -> tuple[float, float]:
    """One colour scale for a whole stage, snapped like the feature maps' (maps.nice_ceil)."""
    finite = values[np.isfinite(values)]
    if not finite.size:
        return 0.0, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    lo = 0.0 if lo >= 0 else -nice_ceil(-lo)
    return lo, (nice_ceil(hi) if hi > 0 else lo + 1.0)


class ArithmeticTab(QWidget):
    """``show_unit(stage, index)`` explains a unit; ``set_input(x)`` follows the drawing."""

    unitHovered = Signal(str, object)    # stage, index (None: the pointer left)
    unitShown = Signal(str, object)      # the unit now explained

    def __init__(self, stepwise, parent=None):
        super().__init__(parent)
        self.stepwise = stepwise
        self.predictor = None
        self.weights_at = None   # a training snapshot's weights (timeline_view.SnapshotModel), or the model's
        self.x: np.ndarray | None = None
        self.stage: str | None = None
        self.index: tuple[int, ...] | None = None
        self.history: list[tuple[str, tuple[int, ...]]] = []
        self._layer_named = False   # self.stage is a layer's name, to be made a stage's when the graph is read
        self.values: np.ndarray | None = None      # the shown stage for the current drawing, no batch axis
        self._dirty = False
        self.last_seconds = 0.0                     # the last refresh: explain + fill the panel
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._refresh_now)
        self._build()
        stepwise.changed.connect(self._stepwise_changed)
        self._shown_ndim = None
        self.prompt = "Draw a digit"   # what to ask for while nothing is shown

    # -- layout ----------------------------------------------------------------------------------
    def _build(self) -> None:
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        lay.setSpacing(6)
        top = QHBoxLayout()
        self.back = QToolButton(text="← Back")
        set_tip(self.back, "The unit explained before this one")
        self.back.clicked.connect(self.go_back)
        top.addWidget(self.back)
        top.addWidget(plain_label("Stage"))
        self.combo = QComboBox()
        self.combo.setMinimumWidth(160)
        set_tip(self.combo, "Every tensor the forward pass computes, in order")
        self.combo.currentIndexChanged.connect(self._stage_chosen)
        top.addWidget(self.combo, 1)
        self.channel_label = plain_label("Map")
        top.addWidget(self.channel_label)
        self.channel = QSpinBox()
        self.channel.valueChanged.connect(self._channel_chosen)
        top.addWidget(self.channel)
        lay.addLayout(top)
        self.info = muted("", wrap=True)
        self.info.setFixedHeight(2 * self.info.fontMetrics().lineSpacing() + 4)   # hover text: the map stays put
        lay.addWidget(self.info)
        self.body = QBoxLayout(QBoxLayout.TopToBottom)
        self.body.setSpacing(8)
        self.grid = MapGrid(bar=False)
        self.grid.pixelClicked.connect(self._clicked)
        self.grid.hovered.connect(self._hovered)
        self.marks = MapMarks(self.grid)
        self.body.addWidget(self.grid, 0)
        self.panel = ArithmeticPanel()
        self.panel.navigate.connect(lambda stage, index: self.show_unit(stage, index, is_stage=True))
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(self.panel)
        self.body.addWidget(self.scroll, 1)
        lay.addLayout(self.body, 1)
        self._arrange(self.width())
        self._update_controls()

    def _arrange(self, width: int) -> None:
        wide = width >= WIDE
        self.body.setDirection(QBoxLayout.LeftToRight if wide else QBoxLayout.TopToBottom)
        if wide:   # a square beside the arithmetic, at the top
            side = int(width * 0.38)
            self.grid.setMinimumSize(150, 150)
            self.grid.setMaximumSize(side, side)
            self.body.setAlignment(self.grid, Qt.AlignTop)
        else:      # a strip above it; a short one for a vector (a row of 10 logits needs little height)
            vector = self.values is not None and self.values.ndim == 1
            rows = vector_layout(self.values.size)[0] if vector else 0
            height = min(160, 40 + 14 * rows) if vector else 160
            self.grid.setMinimumSize(150, min(height, 120))
            self.grid.setMaximumSize(16_777_215, height)
            self.body.setAlignment(self.grid, Qt.Alignment())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._arrange(event.size().width())
        if abs(event.size().width() - event.oldSize().width()) > 24:
            QTimer.singleShot(0, self.panel.refit)   # once the scroll area has its new width

    # -- model and drawing -----------------------------------------------------------------------
    def set_predictor(self, predictor) -> None:
        self.predictor = predictor
        self.weights_at = None
        self.stage, self.index, self.history, self.values = None, None, [], None
        self._layer_named = False
        self._fill_stages()

    def _stepwise_changed(self) -> None:
        if self.stepwise.predictor is self.predictor:
            self._fill_stages()
            if self.isVisible():
                self._refresh_now()
            else:
                self._dirty = True

    def _fill_stages(self) -> None:
        self.combo.blockSignals(True)
        self.combo.clear()
        ready = self.predictor is not None and self.stepwise.predictor is self.predictor and self.stepwise.ready
        if ready:
            for st in self.predictor.stages():
                shape = "×".join(str(d) for d in st.shape)
                self.combo.addItem(f"{st.title} ({shape})", st.name)
            if self.stage is None:   # a stage is always chosen: an empty box says nothing
                self.stage, self.index = self._first_stage(), None   # its unit: when there is an image
            self.combo.setCurrentIndex(max(0, self.combo.findData(self.stage)))
        self.combo.blockSignals(False)
        self._update_controls()

    def _first_stage(self) -> str:
        """Where the arithmetic starts: the first convolution (a window × kernel = products to read), else
        the first stage after the input."""
        stages = self.predictor.stages()
        return next((st.name for st in stages if st.op == "Conv"), stages[min(1, len(stages) - 1)].name)

    def _start_unit(self, stage: str) -> tuple[int, ...]:
        """A unit worth looking at in ``stage``: the strongest for the image shown (in the map already
        chosen, if any), else the middle of its first map."""
        shape = self.predictor.network.stage(stage).shape
        if self.x is not None:
            values = self.predictor.trace(self.x)[stage][0]
            channel = self.index[0] if self.index is not None and len(shape) == 3 and self.index[0] < shape[0] \
                else None
            if channel is not None:
                r, c = np.unravel_index(int(np.argmax(values[channel])), shape[1:])
                return channel, int(r), int(c)
            return tuple(int(k) for k in np.unravel_index(int(np.argmax(values)), shape))
        return (0, shape[1] // 2, shape[2] // 2) if len(shape) == 3 else (0,)

    def set_prompt(self, prompt: str, _pictures: bool = False) -> None:
        self.prompt = prompt
        if self.x is None and self.isVisible():
            self._refresh_now()

    def show_weights(self, model) -> None:
        """Explain with a training snapshot's weights (the timeline's ``SnapshotModel``), or with the model's
        own (None). The graph and the unit stay."""
        if model is self.weights_at:
            return
        self.weights_at = model
        self._dirty = True
        if self.isVisible() and not self._timer.isActive():
            self._timer.start(THROTTLE_MS)

    def set_input(self, x: np.ndarray | None) -> None:
        """The canonical image now shown ([1, C, S, S] or None). Cheap: the work waits for the timer,
        and for this tab to be shown."""
        self.x = None if x is None else x
        self._dirty = True
        if self.isVisible() and not self._timer.isActive():
            self._timer.start(THROTTLE_MS)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._dirty:
            self._refresh_now()

    # -- choosing a unit -----------------------------------------------------------------------
    def show_unit(self, stage: str, index, remember: bool = True, is_stage: bool = False) -> None:
        """Explain ``index`` of ``stage`` (a layer name such as 'conv3', or with ``is_stage`` a stage name)
        now. A name may be both: the 8x8 engine names its first Conv "conv1" like its layer (the ReLU after
        it), and the Stage box's "conv1 · Conv" opened the layer's ReLU."""
        if self.predictor is None or not self.stepwise.ready:
            self.stage, self.index = stage, tuple(int(i) for i in index)
            self._layer_named = not is_stage
            self._refresh_now()
            return
        try:
            stage = self.predictor.network.canonical(stage) if is_stage and stage in self.predictor.network \
                else self.predictor.stage_name(stage)
        except ExplainUnavailable as e:
            self.panel.show_message(str(e))
            return
        index = tuple(int(i) for i in index)
        previous = (self.stage, self.index)
        if remember and None not in previous and previous != (stage, index):
            self.history.append((self.stage, self.index))
            del self.history[:-50]
        self.stage, self.index = stage, index
        self.combo.blockSignals(True)
        self.combo.setCurrentIndex(max(0, self.combo.findData(stage)))
        self.combo.blockSignals(False)
        self._refresh_now()
        self.scroll.verticalScrollBar().setValue(0)   # a new unit reads from the top

    def go_back(self) -> None:
        if self.history:
            stage, index = self.history.pop()
            self.show_unit(stage, index, remember=False, is_stage=True)

    def _stage_chosen(self, i: int) -> None:
        stage = self.combo.itemData(i)
        if stage is None or stage == self.stage:
            return
        self.show_unit(stage, self._start_unit(stage), is_stage=True)   # its strongest unit: something to see

    def _channel_chosen(self, channel: int) -> None:
        if self.stage is None or self.index is None or len(self.index) != 3 or channel == self.index[0]:
            return
        self.show_unit(self.stage, (channel, *self.index[1:]), is_stage=True)

    def _clicked(self, _tile: int, row: int, col: int) -> None:
        if self.stage is None or self.values is None:
            return
        if self.values.ndim == 3:
            self.show_unit(self.stage, (self.index[0], row, col), is_stage=True)
        else:
            i = row * vector_layout(self.values.size)[1] + col
            if i < self.values.size:
                self.show_unit(self.stage, (i,), is_stage=True)

    def _hovered(self, tile: int, row: int, col: int) -> None:
        if tile < 0 or self.values is None or self.stage is None:
            self.unitHovered.emit(self.stage or "", None)
            self._show_info()
            return
        title = self.predictor.network.stage(self.stage).title
        if self.values.ndim == 3:
            index = (self.index[0], row, col)
            self.info.setText(hover_text(title, index[0], row, col, float(self.values[index]), self.marks))
        else:
            i = row * vector_layout(self.values.size)[1] + col
            if i >= self.values.size:
                return
            index = (i,)
            self.info.setText(hover_text(title, i, 0, 0, float(self.values[i]), None, vector=True))
        self.unitHovered.emit(self.stage, index)

    # -- showing ---------------------------------------------------------------------------------
    def _update_controls(self) -> None:
        ready = self.predictor is not None and self.stepwise.ready and self.stepwise.predictor is self.predictor
        self.combo.setEnabled(ready)
        self.back.setEnabled(bool(self.history))
        shape = self.predictor.network.stage(self.stage).shape if ready and self.stage else ()
        maps = len(shape) == 3
        self.channel_label.setVisible(maps)
        self.channel.setVisible(maps)
        if maps:
            self.channel.blockSignals(True)
            # Maps are numbered from 0 everywhere ("conv1 · map 5"): the range says so, rather than
            # "0 of 32" ... "31 of 32", which read as counting from 1.
            self.channel.setRange(0, shape[0] - 1)
            self.channel.setSuffix(f" (0–{shape[0] - 1})")
            self.channel.setValue(self.index[0] if self.index else 0)
            self.channel.blockSignals(False)

    def _show_info(self) -> None:
        status = self.stepwise.status() if self.stepwise.predictor is self.predictor else "No model loaded."
        if status is not None:
            self.info.setText(status)
        elif self.stage is None:
            self.info.setText(f"Choose a stage{self._or_maps()}.")
        elif self.values is None:
            self.info.setText(f"{self.prompt} to see the numbers.")
        else:
            st = self.predictor.network.stage(self.stage)
            what = (f"map {self.index[0]} of {st.shape[0]} · {st.shape[1]}×{st.shape[2]}" if self.values.ndim == 3
                    else f"a vector of {self.values.size}")
            reason = f" · dimmed: {self.marks.reason}" if self.marks.reason else ""
            self.info.setText(f"{st.title} ({st.op}): {what}. Hover for values, click a unit to explain it.{reason}")

    def _or_maps(self) -> str:
        """Where else a unit can be chosen: the Feature maps tab, when this model has maps to show."""
        return ", or click a pixel of an enlarged map in the Feature maps tab" if self.predictor is not None \
            and self.predictor.layers else ""

    def _refresh_now(self) -> None:
        """Show the stage and explain the unit for the current drawing (the timer's and the click's work)."""
        t0 = time.perf_counter()
        self._timer.stop()
        self._dirty = False
        self._update_controls()
        status = self.stepwise.status() if self.predictor is not None else "No model loaded."
        if self.stepwise.predictor is not self.predictor:
            status = "Reading the model…"
        if status is not None or self.stage is None or self.x is None:
            self.values = None
            self.grid.clear_maps()
            self.marks.sync()
            self.panel.show_message(status or (f"{self.prompt}, then click a unit to see how it was computed."
                                               if self.x is None else f"Choose a stage above{self._or_maps()}."))
            self._show_info()
            return
        p = self.predictor
        try:
            if self._layer_named:   # a layer name given before the graph was read
                self.stage, self._layer_named = p.stage_name(self.stage), False
            if self.index is None:
                self.index = self._start_unit(self.stage)
                self._update_controls()   # the map spinner shows the unit's map
            weights = self.weights_at or p
            values = weights.trace(self.x)[self.stage][0]
            e = weights.explain(self.x, self.stage, *self.index)
            # ONNX Runtime runs the model's final weights: a snapshot's numbers have nothing to agree with there
            if e.onnxruntime is None and self.stepwise.probe is not None and self.weights_at is None:
                e.onnxruntime = self.stepwise.probe.value(self.x, self.stage, self.index)
        except (ExplainUnavailable, KeyError, IndexError, ValueError) as err:
            self.panel.show_message(str(err).strip("'\""))
            return
        self.values = values
        if values.ndim == 3:
            c = self.index[0]
            self.grid.set_maps(values[c], levels=levels_of(values))
            self.marks.set_used(p.used_map(self.stage))
            self.marks.set_unit((0, self.index[1], self.index[2]))
        else:
            rows, cols = vector_layout(values.size)
            grid = np.full(rows * cols, np.nan, np.float32)
            grid[:values.size] = values
            self.grid.set_maps(grid.reshape(rows, cols), levels=levels_of(values))
            self.marks.set_used(None)
            self.marks.set_unit((0, self.index[0] // cols, self.index[0] % cols))
        self.marks.sync()
        if values.ndim != self._shown_ndim:   # a vector takes less room than a map
            self._shown_ndim = values.ndim
            self._arrange(self.width())
        self.panel.show_explanation(e, p.network, p.classes, p.input.channel_names)
        self._show_info()
        self.unitShown.emit(self.stage, self.index)
        self.last_seconds = time.perf_counter() - t0
