"""Four live plots (pyqtgraph): training loss per step, test loss per epoch, accuracy per epoch
(test; train too, dashed, when the engine measures it), learning rate. Several runs can be
drawn at once (the history's overlay, with a legend); hovering a plot shows the values under
the cursor; the x axes show steps and epochs, or the time since the run started (TensorBoard's
"relative" axis). Imports pyqtgraph, so the tab builds it lazily.
"""
from __future__ import annotations

import bisect
import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QRadioButton, QVBoxLayout, QWidget

from digitpad.client.state import Ema, smooth

from .. import style
from ..text import Html, axis_label, plain_label, plot_title, rich, rich_label, set_tip

SHORT = {"train_loss": "loss ", "test_loss": "test loss ", "test_accuracy": "test ", "train_accuracy": "train ",
         "lr": "lr "}
PLOTS = [("train_loss", "Training loss (per step)", "step"),
         ("test_loss", "Test loss (per epoch)", "epoch"),
         ("test_accuracy", "Accuracy (per epoch)", "epoch"),
         ("lr", "Learning rate", "step")]
# Series drawn in another series' plot: train accuracy beside test accuracy, dashed.
SHARED = {"train_accuracy": "test_accuracy"}
EPOCH_KEYS = ("test_loss", "test_accuracy", "train_accuracy")
EMPTY_RANGE = (0.0, 1.0)


def _fmt(key: str, v: float) -> str:
    if key in ("test_accuracy", "train_accuracy"):
        return f"{v * 100:.2f} %"
    if key == "lr":
        return f"{v:.2e}"
    return f"{v:.4f}"


def elide(name: str, most: int = 44) -> str:
    """A long run name cut in the middle: its start (network, data) and end (date) both stay."""
    if len(name) <= most:
        return name
    keep = (most - 1) // 2
    return name[:keep] + "…" + name[-keep:]


def format_seconds(t: float) -> str:
    t = max(0.0, float(t))
    if t < 60:
        return f"{t:.0f} s"
    if t < 3600:
        return f"{int(t // 60)}:{int(t % 60):02d}"
    return f"{int(t // 3600)} h {int(t % 3600 // 60):02d}"


class PercentAxis(pg.AxisItem):
    def tickStrings(self, values, scale, spacing):
        decimals = 0 if spacing * 100 >= 1 else 1 if spacing * 100 >= 0.1 else 2
        return [f"{v * 100:.{decimals}f} %" for v in values]


class StepAxis(pg.AxisItem):
    """Steps and epochs: whole numbers only (no tick at epoch 1.5); seconds as m:ss in time mode."""

    mode = "step"

    def tickValues(self, minVal, maxVal, size):
        levels = super().tickValues(minVal, maxVal, size)
        if self.mode != "epoch":
            return levels
        out = []
        for spacing, values in levels:
            if spacing < 1:
                continue
            out.append((spacing, [v for v in values if abs(v - round(v)) < 1e-9]))
        if not out:
            out = [(1.0, [float(v) for v in range(int(np.ceil(minVal)), int(np.floor(maxVal)) + 1)])]
        return out

    def tickStrings(self, values, scale, spacing):
        if self.mode == "time":
            return [format_seconds(v) for v in values]
        return super().tickStrings(values, scale, spacing)


class _Plot:
    def __init__(self, item: pg.PlotItem, key: str, xlabel: str, axis: StepAxis):
        self.item, self.key, self.xlabel, self.axis = item, key, xlabel, axis
        self.series: list[tuple[str, np.ndarray, np.ndarray, pg.PlotDataItem]] = []
        self.keys: list[str] = []   # the series' keys (train accuracy shares the accuracy plot)
        self.raw: list[pg.PlotDataItem] = []
        self.flat_at: float | None = None   # the value of a curve that never changes (see _fit_flat)
        self.label = pg.TextItem("", color=style.TEXT, anchor=(1, 0), fill=pg.mkBrush(255, 255, 255, 220))
        self.label.setZValue(100)
        self.item.addItem(self.label, ignoreBounds=True)
        self.vline = pg.InfiniteLine(angle=90, pen=pg.mkPen(style.MUTED, width=1, style=Qt.DashLine))
        self.item.addItem(self.vline, ignoreBounds=True)
        self.vline.hide()
        self.label.hide()
        self.note = pg.TextItem("", color=style.MUTED, anchor=(0.5, 0.5))
        self.item.addItem(self.note, ignoreBounds=True)
        self.note.setPos(0.5, 0.5)
        self.note.hide()


class CurvesView(QWidget):
    """``set_runs(records)`` draws finished runs (``client.history.RunRecord``); ``show_live(state)``
    follows one (``client.state.RunState``). ``set_x_mode("step" | "time")``."""

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        head = QHBoxLayout()
        head.setContentsMargins(8, 2, 8, 0)
        # Coloured marks and run names (from the files: escaped); two long names: two lines, never a wider window.
        self.legend = rich_label("", "muted", wrap=True)
        head.addWidget(self.legend, 1)
        head.addWidget(plain_label("x axis:", "muted"))
        self.by_step = QRadioButton("steps and epochs")
        self.by_time = QRadioButton("time")
        set_tip(self.by_step, "Training steps for the per-step curves, epochs for the per-epoch ones")
        set_tip(self.by_time, "Wall-clock time since the run started (compare a fast and a slow network fairly)")
        self.by_step.setChecked(True)
        group = QButtonGroup(self)
        for b in (self.by_step, self.by_time):
            group.addButton(b)
            head.addWidget(b)
        self.by_time.toggled.connect(lambda on: self.set_x_mode("time" if on else "step"))
        lay.addLayout(head)
        self.glw = pg.GraphicsLayoutWidget()
        self.glw.setBackground(style.CARD)
        lay.addWidget(self.glw, 1)
        self.plots: dict[str, _Plot] = {}
        for i, (key, title, xlabel) in enumerate(PLOTS):
            bottom = StepAxis(orientation="bottom")
            bottom.mode = xlabel
            axes = {"bottom": bottom}
            if key == "test_accuracy":
                axes["left"] = PercentAxis(orientation="left")
            item = self.glw.addPlot(row=i // 2, col=i % 2, axisItems=axes)
            plot_title(item, title, color=style.TEXT, size="10pt")
            # No grid: in software rendering its lines cost ~4x the rest of the plot's paint.
            axis_label(item, "bottom", xlabel, color=style.MUTED)
            item.setMenuEnabled(False)
            item.hideButtons()
            for ax in ("left", "bottom"):
                item.getAxis(ax).setPen(pg.mkPen(style.BORDER))
                item.getAxis(ax).setTextPen(pg.mkPen(style.MUTED))
            # Values only at the major ticks: a chart 70 px high (1280x720, an outcome above it) got a label
            # at every minor one, "93 % 92 % 91 % 90 %" touching.
            item.getAxis("left").setStyle(maxTextLevel=1)
            if key == "lr":
                item.getAxis("left").enableAutoSIPrefix(False)
            # A single epoch's point must not autoscale the axis to a negative loss or 140 %.
            item.setLimits(yMin=0, **({"yMax": 1.0} if key == "test_accuracy" else {}))
            self.plots[key] = _Plot(item, key, xlabel, bottom)
        self.glw.scene().sigMouseMoved.connect(self._hover)
        self.x_mode = "step"
        self.records: list = []
        self._state = None
        self._live_len = -1
        self._live_epochs = -1
        self._smoothed, self._ema = [], Ema()
        self._x_span = None
        self._live_items = False
        self._empty_axes()

    # -- the x axis ------------------------------------------------------------------------
    def set_x_mode(self, mode: str) -> None:
        if mode == self.x_mode:
            return
        self.x_mode = mode
        with_time = mode == "time"
        for p in self.plots.values():
            p.axis.mode = "time" if with_time else p.xlabel
            axis_label(p.item, "bottom", "time since the start" if with_time else p.xlabel, color=style.MUTED)
            p.axis.picture = None   # re-tick
            p.axis.update()
        (self.by_time if with_time else self.by_step).setChecked(True)
        if self._state is not None:
            state, self._state = self._state, None
            self._live_items = False
            self.reset_live()
            self.show_live(state)
        else:
            self.set_runs(self.records)

    # -- drawing ---------------------------------------------------------------------------
    def clear(self) -> None:
        self._live_items = False
        for p in self.plots.values():
            for *_rest, item in p.series:
                p.item.removeItem(item)
            for item in p.raw:
                p.item.removeItem(item)
            p.series, p.keys, p.raw = [], [], []
            p.flat_at = None
            p.label.hide()
            p.vline.hide()
            p.note.hide()
        self._live_len = self._live_epochs = -1
        self._smoothed, self._ema = [], Ema()
        self._x_span = None
        self.legend.setText("")
        self._empty_axes()

    def _empty_axes(self) -> None:
        """Plain 0..1 axes: an empty chart never keeps the scale of the run drawn before it."""
        for p in self.plots.values():
            p.item.getViewBox().enableAutoRange(enable=False)
            p.item.setRange(xRange=EMPTY_RANGE, yRange=EMPTY_RANGE, padding=0)

    def _autorange(self) -> None:
        for p in self.plots.values():
            p.item.enableAutoRange()

    def _add(self, key: str, label: str, xs, ys, colour: str, symbol: bool, raw=None, dashed=False) -> None:
        p = self.plots[SHARED.get(key, key)]
        xs, ys = np.asarray(xs, float), np.asarray(ys, float)
        if raw is not None:
            faint = pg.mkColor(colour)
            faint.setAlpha(60)
            r = p.item.plot(xs, np.asarray(raw, float), pen=pg.mkPen(faint, width=1))
            r.setDownsampling(auto=True, method="peak")
            r.setClipToView(True)
            p.raw.append(r)
        pen = pg.mkPen(colour, width=2, style=Qt.DashLine if dashed else Qt.SolidLine)
        kw = dict(symbol="o", symbolSize=6, symbolBrush=None if dashed else colour,
                  symbolPen=pg.mkPen(colour) if dashed else None) if symbol else {}
        item = p.item.plot(xs, ys, pen=pen, name=label, **kw)
        if not symbol:
            item.setDownsampling(auto=True, method="mean")
            item.setClipToView(True)
        p.series.append((label, xs, ys, item))
        p.keys.append(key)

    def set_runs(self, records: list) -> None:
        """Finished runs (at most a few: each gets a colour of ``style.SERIES``), with a legend."""
        self.clear()
        self._state = None
        self.records = list(records)
        legend = []
        for i, record in enumerate(self.records):
            colour = style.SERIES[i % len(style.SERIES)]
            curves = record.curves(self.x_mode)
            for key in [k for k, *_ in PLOTS] + list(SHARED):
                if key not in curves:
                    continue
                xs, ys = curves[key]
                many = len(xs) > 30
                if key == "train_loss" and many:
                    self._add(key, record.stem, xs, smooth(ys), colour, False, raw=ys)
                else:
                    self._add(key, record.stem, xs, ys, colour, not many, dashed=key in SHARED)
            legend.append(rich("<span style='color:{}; font-size:14px'>━</span> {}", colour, elide(record.stem)))
        if len(self.records) > 1:
            self.legend.setText(Html("&nbsp;&nbsp;&nbsp; ").join(legend))
            set_tip(self.legend, "\n".join(r.stem for r in self.records))
        self._say_what_is_missing()
        if self.records:
            self._autorange()
            self._fit_flat()

    def _say_what_is_missing(self) -> None:
        """A plot left empty by the runs shown says why (a run from a shell has no step curve)."""
        for key, p in self.plots.items():
            if self.records and not any(len(xs) for _l, xs, _y, _i in p.series):
                what = ("no step curve: only runs watched in the app keep one" if key in ("train_loss", "lr")
                        else "no time recorded" if self.x_mode == "time" else "no epoch finished")
                p.note.setText(what)
                p.note.setPos(0.5, 0.5)
                p.note.show()
        self._accuracy_title()

    def _accuracy_title(self) -> None:
        """"Test accuracy", or both when an epoch record carried the train accuracy too."""
        p = self.plots["test_accuracy"]
        train = any(k == "train_accuracy" and np.isfinite(ys).any() for k, (_l, _x, ys, _i) in zip(p.keys, p.series))
        text = "Accuracy (per epoch): test ━, train ╌" if train else "Test accuracy (per epoch)"
        if text != getattr(p, "title_text", None):
            p.title_text = text
            plot_title(p.item, text, color=style.TEXT, size="10pt")

    def reset_live(self) -> None:
        """Empty curves for a new run; the plot items are made once and reused, so pressing
        Start costs the UI thread no item construction. The axes go back to 0..1."""
        if not self._live_items:
            self.clear()
            colour = style.SERIES[0]
            self._add("train_loss", "run", [], [], colour, False, raw=[])
            self._add("lr", "run", [], [], colour, False)
            self._add("test_loss", "run", [], [], colour, True)
            self._add("test_accuracy", "test", [], [], colour, True)
            self._add("train_accuracy", "train", [], [], colour, True, dashed=True)
            self._live_items = True
        self.records = []
        self._state = None
        for p in self.plots.values():
            for i in range(len(p.series)):
                self._set(p.key, i, np.zeros(0), np.zeros(0), raw=np.zeros(0) if p.key == "train_loss" else None)
        self._live_len = self._live_epochs = -1
        self._smoothed, self._ema = [], Ema()
        self._x_span = None
        self._empty_axes()
        self._say_what_is_missing()

    def show_live(self, state) -> None:
        """Redraw from a RunState; cheap when nothing changed (call it from a timer)."""
        n, e = len(state.steps), len(state.history)
        if state is self._state and n == self._live_len and e == self._live_epochs:
            return
        if not self._live_items:
            self.reset_live()
        first = self._live_len <= 0 and self._live_epochs <= 0 and (n or e)
        self._state = state
        self._live_len, self._live_epochs = n, e
        if first:
            for p in self.plots.values():
                p.item.enableAutoRange(axis="y")
                if self.x_mode == "time":
                    p.item.enableAutoRange(axis="x")
        if self.x_mode == "step" and state.total_steps and self._x_span != (state.total_steps, state.epochs):
            # The x axes span the whole run: the curves grow from the left, and the axes
            # do not re-tick on every update.
            self._x_span = (state.total_steps, state.epochs)
            for key in ("train_loss", "lr"):
                self.plots[key].item.setXRange(0, state.total_steps, padding=0.01)
            for key in ("test_loss", "test_accuracy"):
                self.plots[key].item.setXRange(0.5, max(state.epochs, 1) + 0.5, padding=0)
        steps = np.asarray(state.steps, float)
        if self.x_mode == "time":
            steps = np.asarray(state.times, float) if len(state.times) == n else np.full(n, math.nan)
        losses = np.asarray(state.losses, float)
        if n < len(self._smoothed):
            self._smoothed, self._ema = [], Ema()
        self._smoothed += [self._ema.add(v) for v in state.losses[len(self._smoothed):]]
        self._set("train_loss", 0, steps, np.asarray(self._smoothed, float), raw=losses)
        self._set("lr", 0, steps, np.asarray(state.lrs, float))
        hist = state.history
        for key, index in (("test_loss", 0), ("test_accuracy", 0), ("train_accuracy", 1)):
            have = [h for h in hist if key in h]   # no NaN points: an engine without train accuracy draws nothing
            xs = [h["epoch"] if self.x_mode == "step" else h.get("elapsed_s", math.nan) for h in have]
            self._set(SHARED.get(key, key), index, np.asarray(xs, float), np.asarray([h[key] for h in have], float))
        self._accuracy_title()
        self._fit_flat()

    def _fit_flat(self) -> None:
        """A curve that never changes (a constant learning rate, one point so far) is drawn at
        mid-height on 0..2x its value. Left to pyqtgraph, a zero-height range becomes +-0.5, and
        a learning rate of 0.001 lies on the floor of a 0..1 axis, looking like zero."""
        for p in self.plots.values():
            ys = [y[np.isfinite(y)] for _l, _x, y, _i in p.series if len(y)]
            ys = np.concatenate(ys) if ys else np.zeros(0)
            value = float(ys[0]) if ys.size and ys[0] > 0 and ys.min() == ys.max() else None
            if value is not None and value != p.flat_at:
                p.item.setYRange(0, 2 * value, padding=0)
            elif value is None and p.flat_at is not None:
                p.item.enableAutoRange(axis="y")
            p.flat_at = value

    def _set(self, key: str, index: int, xs, ys, raw=None) -> None:
        p = self.plots[key]
        if index >= len(p.series):
            return
        label, _x, _y, item = p.series[index]
        item.setData(xs, ys)
        p.series[index] = (label, xs, ys, item)
        if raw is not None and p.raw:
            p.raw[0].setData(xs, raw)
        if len(xs):
            p.note.hide()

    # -- hover -----------------------------------------------------------------------------
    def _hover(self, pos) -> None:
        for p in self.plots.values():
            vb = p.item.getViewBox()
            if not p.item.sceneBoundingRect().contains(pos) or not p.series:
                p.label.hide()
                p.vline.hide()
                continue
            x = vb.mapSceneToView(pos).x()
            lines, snap = [], None
            several_runs = len(self.records) > 1
            for (label, xs, ys, _item), key in zip(p.series, p.keys):
                finite = np.isfinite(xs) & np.isfinite(ys)
                if not finite.any():
                    continue
                fx, fy = xs[finite], ys[finite]
                i = bisect.bisect_left(fx.tolist(), x)
                i = min(range(max(0, i - 1), min(len(fx), i + 1)), key=lambda j: abs(fx[j] - x))
                snap = fx[i] if snap is None else snap
                name = f"{label}: " if several_runs else SHORT[key]
                lines.append(f"{name}{_fmt(key, float(fy[i]))}")
            if not lines:
                p.label.hide()
                continue
            p.vline.setPos(snap)
            p.vline.show()
            where = format_seconds(snap) if self.x_mode == "time" else f"{p.xlabel} {snap:,.0f}"
            p.label.setText(f"{where}\n" + "\n".join(lines))
            (x0, x1), (y0, y1) = vb.viewRange()
            p.label.setPos(x1, y1)
            p.label.show()
