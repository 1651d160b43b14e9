"""The Draw tab's training timeline: a scrubber over the active model's run snapshots (core.timeline).

One row above the inspectors: play/pause, step back and forward, a slider over the snapshots, what
moment it is (step, epoch, the test accuracy known then) and a small curve of the run's loss and
accuracy with the moment marked. At the last snapshot (the model itself) nothing is changed: the tab
shows the model as always. At an earlier one, the answer's probabilities, the feature maps and the
kernels are snapshot k's, computed by the core's NumPy forward pass on a worker (newest request
wins; ``gui.threads.background``), for whatever is drawn now: drawing while scrubbing works, each new
drawing is sent again. The curve (pyqtgraph) is built only when a model has snapshots.

A model without snapshots says so in one line; an unusable snapshots file says why.
"""
from __future__ import annotations

import math
import os

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QSizePolicy, QSlider, QVBoxLayout, QWidget

from digitpad.core.timeline import Timeline

from ..elided import ElidedLabel
from ..text import set_tip
from ..threads import background
from ..widgets import set_enabled

PLAY_MS = 450           # one snapshot per tick while playing
CURVE_SIZE = (150, 44)


def open_timeline(_task, predictor):
    """(Timeline or None, a line for the user): on a worker (reads the file, builds the forward pass)."""
    from digitpad.core.snapshots import SnapshotError

    try:
        timeline = Timeline.open(predictor.path, predictor)
    except (SnapshotError, OSError) as e:
        return None, f"Training timeline unavailable: {e}"
    if timeline is None:
        return None, "This model has no training snapshots: retrain it here to watch it learn."
    return timeline, ""


def predict_at(_task, timeline: Timeline, x: np.ndarray, k: int):
    """Snapshot k's answer for ``x``, on a worker: (k, x, Prediction)."""
    return k, x, timeline.predict(x, k)


class SnapshotModel:
    """The active model as the kernels view and the arithmetic read it, with snapshot k's weights."""

    def __init__(self, predictor, timeline: Timeline, k: int):
        self._predictor, self._timeline, self._k = predictor, timeline, k

    @property
    def snapshot(self) -> int:
        return self._k

    def kernels(self, layer: str):
        return self._timeline.kernels(layer, self._k)

    def trace(self, x):
        return self._timeline.trace(x, self._k)

    def explain(self, x, layer: str, channel: int, row: int = 0, col: int = 0):
        return self._timeline.explain(x, layer, channel, row, col, self._k)

    def __getattr__(self, name):
        return getattr(self._predictor, name)


class TimelineView(QWidget):
    """``workbench``: the Draw tab (its controller, input, answer panel and inspectors)."""

    def __init__(self, workbench, parent=None):
        super().__init__(parent)
        self.wb = workbench
        self.timeline: Timeline | None = None
        self.predictor = None
        self.k = -1                  # the snapshot shown (len - 1: the model itself)
        self.shown = None            # the snapshot's Prediction now on screen
        self.curve = None
        self.marker = None
        self.jobs = background("timeline", self)
        self.opening = background("timeline-open", self)
        self.timer = QTimer(self)
        self.timer.setInterval(PLAY_MS)
        self.timer.timeout.connect(self._tick)

        self.kept_note = ""
        self.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Fixed)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 4)
        lay.setSpacing(2)
        self.note = ElidedLabel("", "muted")   # what this is, or the moment shown (``note.full``: all of it)
        lay.addWidget(self.note)
        self.bar = QWidget()
        row = QHBoxLayout(self.bar)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        self.play_button = QPushButton("Play")
        self.back_button = QPushButton("◀")
        self.next_button = QPushButton("▶")
        for button, tip in ((self.play_button, "Play the run's snapshots from here (again: pause)"),
                            (self.back_button, "The snapshot before"), (self.next_button, "The snapshot after")):
            set_tip(button, tip)
        for button in (self.back_button, self.next_button):
            button.setFixedWidth(34)
        self.play_button.setFixedWidth(self.play_button.fontMetrics().horizontalAdvance("Pause") + 28)
        self.play_button.clicked.connect(self.toggle_play)
        self.back_button.clicked.connect(lambda: self.set_snapshot(self.k - 1))
        self.next_button.clicked.connect(lambda: self.set_snapshot(self.k + 1))
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setMinimumWidth(80)
        set_tip(self.slider, "Training so far: the weights at this moment of the run compute the answer, the "
                             "feature maps and the kernels (the right end is the model itself)")
        self.slider.valueChanged.connect(self.set_snapshot)
        self.curve_box = QHBoxLayout()
        self.curve_box.setContentsMargins(0, 0, 0, 0)
        for w in (self.back_button, self.play_button, self.next_button):
            row.addWidget(w)
        row.addWidget(self.slider, 1)
        row.addLayout(self.curve_box)
        lay.addWidget(self.bar)
        self.bar.setVisible(False)
        workbench.predictionShown.connect(self._input_changed)
        workbench.controller.modelChanged.connect(self.set_model)

    # -- the model -----------------------------------------------------------------------------
    def set_model(self, predictor) -> None:
        """A new active model: back to showing it, then its timeline looked for (on a worker when found)."""
        self.pause()
        self.jobs.cancel()
        self.opening.cancel()
        self._leave()
        self.timeline, self.predictor, self.k = None, predictor, -1
        self.bar.setVisible(False)
        if predictor is None:
            self.note.set_text("")
            return
        if not os.path.lexists(Timeline.file_for(predictor.path)):
            self.note.set_text("This model has no training snapshots: retrain it here to watch it learn.")
            return
        self.note.set_text("Reading the training snapshots…")
        self.opening.submit(open_timeline, predictor, on_done=lambda r, p=predictor: self._opened(p, *r),
                            on_error=lambda e: self.note.set_text(f"Training timeline unavailable: {e}"))

    def _opened(self, predictor, timeline: Timeline | None, why: str) -> None:
        if predictor is not self.predictor:
            return   # another model since
        self.timeline = timeline
        if timeline is None:
            self.note.set_text(why)
            return
        self.kept_note = "" if timeline.complete else \
            f" (this run kept only its {timeline.kept}; the other weights are the final model's)"
        self._build_curve()
        self.slider.blockSignals(True)
        self.slider.setRange(0, len(timeline) - 1)
        self.slider.setValue(len(timeline) - 1)
        self.slider.blockSignals(False)
        self.k = len(timeline) - 1
        self.bar.setVisible(True)
        self._update_controls()

    # -- moving ---------------------------------------------------------------------------------
    @property
    def last(self) -> int:
        return len(self.timeline) - 1 if self.timeline is not None else -1

    @property
    def in_use(self) -> bool:
        """An earlier snapshot than the model is shown."""
        return self.timeline is not None and 0 <= self.k < self.last

    def set_snapshot(self, k: int) -> None:
        if self.timeline is None:
            return
        k = max(0, min(int(k), self.last))
        if self.slider.value() != k:
            self.slider.blockSignals(True)
            self.slider.setValue(k)
            self.slider.blockSignals(False)
        self.k = k
        self._update_controls()
        if k == self.last:
            self.jobs.cancel()
            self._leave()
        else:
            self._request()

    def toggle_play(self) -> None:
        if self.timer.isActive():
            self.pause()
            return
        if self.timeline is None:
            return
        if self.k >= self.last:
            self.set_snapshot(0)
        self.timer.start()
        self.play_button.setText("Pause")

    def pause(self) -> None:
        self.timer.stop()
        self.play_button.setText("Play")

    def _tick(self) -> None:
        if self.timeline is None or self.k >= self.last:
            self.pause()
            return
        self.set_snapshot(self.k + 1)

    def _update_controls(self) -> None:
        if self.timeline is None:
            return
        p = self.timeline.points[self.k]
        acc = "" if math.isnan(p["accuracy"]) else f" · test {p['accuracy']:.1%}"
        which = "the model" if self.k == self.last else "training"
        self.note.set_text(f"Snapshot {self.k + 1} of {len(self.timeline)} ({which}): step {p['step']:,} · "
                           f"epoch {p['epoch']:.2f}{acc}{self.kept_note}")
        set_enabled(self.back_button, self.k > 0, "This is the first snapshot: the initial weights.")
        set_enabled(self.next_button, self.k < self.last, "This is the last snapshot: the model itself.")
        if self.marker is not None:
            self.marker.setValue(p["epoch"])

    # -- what is shown --------------------------------------------------------------------------
    def _input_changed(self, _prediction) -> None:
        """The tab showed a new answer (the model's): while scrubbing, snapshot k's for the same input."""
        if self.in_use:
            self._request()

    def _request(self) -> None:
        x = self.wb.model_input
        if x is None or self.timeline is None:
            return
        self.jobs.submit(predict_at, self.timeline, x.copy(), self.k, on_done=self._show,
                         on_error=lambda e: self.note.set_text(f"Training timeline: {e}"))

    def _show(self, result) -> None:
        k, x, prediction = result
        if not self.in_use or k != self.k or self.wb.model_input is None \
                or not np.array_equal(x, self.wb.model_input):
            return   # moved on since
        self.shown = prediction
        self.wb.panel.show_prediction(prediction)
        inspectors = self.wb.inspectors
        if inspectors.feature_maps is not None:
            inspectors.feature_maps.show_prediction(prediction)
            model = SnapshotModel(self.predictor, self.timeline, k)
            self._kernels(model)
            if inspectors.arithmetic is not None:
                inspectors.arithmetic.show_weights(model)

    def _kernels(self, model) -> None:
        """The kernels view reads ``model``'s kernels, on the layer it shows."""
        view = self.wb.inspectors.kernels_view
        layer = view.chooser.combo.currentText()
        view.set_predictor(model)
        if layer and view.chooser.combo.findText(layer) >= 0:
            view.chooser.combo.setCurrentText(layer)

    def _leave(self) -> None:
        """Back to the model itself: its answer, maps and kernels."""
        if self.shown is None:
            return
        self.shown = None
        wb = self.wb
        if wb.prediction is not None:
            wb.panel.show_prediction(wb.prediction)
        if wb.inspectors.feature_maps is not None:
            wb.inspectors.feature_maps.show_prediction(wb.prediction)
            self._kernels(wb.controller.predictor)
        if wb.inspectors.arithmetic is not None:
            wb.inspectors.arithmetic.show_weights(None)

    # -- the curve -------------------------------------------------------------------------------
    def _build_curve(self) -> None:
        import pyqtgraph as pg

        from .. import style

        if self.curve is None:
            self.curve = pg.PlotWidget(background=style.CARD)
            self.curve.setFixedSize(*CURVE_SIZE)
            self.curve.hideAxis("left")
            self.curve.hideAxis("bottom")
            self.curve.setMouseEnabled(False, False)
            self.curve.hideButtons()
            self.curve.setMenuEnabled(False)
            set_tip(self.curve, "The run: training loss (orange, scaled to fit) and the test accuracy (blue) "
                                "over the epochs; the line marks the snapshot shown")
            self.curve_box.addWidget(self.curve)
        plot = self.curve.getPlotItem()
        plot.clear()
        pts = self.timeline.points
        epochs = np.array([p["epoch"] for p in pts])
        acc = np.array([p["accuracy"] for p in pts])
        loss = np.array([p["loss"] for p in pts])
        finite = np.isfinite(loss)
        if finite.any():
            top = float(np.nanmax(loss[finite])) or 1.0
            plot.plot(epochs[finite], loss[finite] / top, pen=pg.mkPen("#e8702a", width=1))
        ok = np.isfinite(acc)
        if ok.any():
            plot.plot(epochs[ok], acc[ok], pen=pg.mkPen(style.ACCENT, width=2))
        self.marker = pg.InfiniteLine(pos=pts[-1]["epoch"], angle=90, pen=pg.mkPen(style.TEXT, width=1))
        plot.addItem(self.marker)
        plot.setYRange(0, 1.05, padding=0)
        plot.setXRange(0, max(float(epochs[-1]), 1e-6), padding=0.02)

    def shutdown(self) -> None:
        self.timer.stop()
        self.jobs.shutdown()
        self.opening.shutdown()
