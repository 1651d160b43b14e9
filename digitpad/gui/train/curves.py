"""Four live plots (pyqtgraph): training loss per step, test loss and accuracy per epoch,
learning rate. Several runs can be drawn at once (the history's overlay); hovering a plot
shows the values under the cursor. Imports pyqtgraph, so the tab builds it lazily.
"""
from __future__ import annotations

import bisect
import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QVBoxLayout, QWidget

from digitpad.client.state import Ema, smooth

from .. import style

SHORT = {"train_loss": "loss ", "test_loss": "test loss ", "test_accuracy": "accuracy ", "lr": "lr "}
PLOTS = [("train_loss", "Training loss (per step)", "step"),
         ("test_loss", "Test loss (per epoch)", "epoch"),
         ("test_accuracy", "Test accuracy (per epoch)", "epoch"),
         ("lr", "Learning rate", "step")]


def _fmt(key: str, v: float) -> str:
    if key == "test_accuracy":
        return f"{v * 100:.2f} %"
    if key == "lr":
        return f"{v:.2e}"
    return f"{v:.4f}"


class PercentAxis(pg.AxisItem):
    def tickStrings(self, values, scale, spacing):
        decimals = 0 if spacing * 100 >= 1 else 1 if spacing * 100 >= 0.1 else 2
        return [f"{v * 100:.{decimals}f} %" for v in values]


class EpochAxis(pg.AxisItem):
    """Whole epochs only: no tick at epoch 1.5."""

    def tickValues(self, minVal, maxVal, size):
        levels = super().tickValues(minVal, maxVal, size)
        out = []
        for spacing, values in levels:
            if spacing < 1:
                continue
            out.append((spacing, [v for v in values if abs(v - round(v)) < 1e-9]))
        if not out:
            out = [(1.0, [float(v) for v in range(int(np.ceil(minVal)), int(np.floor(maxVal)) + 1)])]
        return out


class _Plot:
    def __init__(self, item: pg.PlotItem, key: str, xlabel: str):
        self.item, self.key, self.xlabel = item, key, xlabel
        self.series: list[tuple[str, np.ndarray, np.ndarray, pg.PlotDataItem]] = []
        self.raw: list[pg.PlotDataItem] = []
        self.label = pg.TextItem("", color=style.TEXT, anchor=(1, 0), fill=pg.mkBrush(255, 255, 255, 220))
        self.label.setZValue(100)
        self.item.addItem(self.label, ignoreBounds=True)
        self.vline = pg.InfiniteLine(angle=90, pen=pg.mkPen(style.MUTED, width=1, style=Qt.DashLine))
        self.item.addItem(self.vline, ignoreBounds=True)
        self.vline.hide()
        self.label.hide()


class CurvesView(QWidget):
    """``set_runs([(label, curves)])`` draws finished runs; ``show_live(state)`` follows one."""

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.glw = pg.GraphicsLayoutWidget()
        self.glw.setBackground(style.CARD)
        lay.addWidget(self.glw)
        self.plots: dict[str, _Plot] = {}
        for i, (key, title, xlabel) in enumerate(PLOTS):
            axes = {"bottom": EpochAxis(orientation="bottom")} if xlabel == "epoch" else {}
            if key == "test_accuracy":
                axes["left"] = PercentAxis(orientation="left")
            item = self.glw.addPlot(row=i // 2, col=i % 2, axisItems=axes)
            item.setTitle(title, color=style.TEXT, size="10pt")
            # No grid: in software rendering its lines cost ~4x the rest of the plot's paint.
            item.setLabel("bottom", xlabel, color=style.MUTED)
            item.setMenuEnabled(False)
            item.hideButtons()
            for ax in ("left", "bottom"):
                item.getAxis(ax).setPen(pg.mkPen(style.BORDER))
                item.getAxis(ax).setTextPen(pg.mkPen(style.MUTED))
            if key == "lr":
                item.getAxis("left").enableAutoSIPrefix(False)
            # A single epoch's point must not autoscale the axis to a negative loss or 140 %.
            item.setLimits(yMin=0, **({"yMax": 1.0} if key == "test_accuracy" else {}))

            self.plots[key] = _Plot(item, key, xlabel)
        self.glw.scene().sigMouseMoved.connect(self._hover)
        self._live_len = -1
        self._live_epochs = -1
        self._smoothed, self._ema = [], Ema()
        self._x_span = None
        self._live_items = False

    # -- drawing ---------------------------------------------------------------------------
    def clear(self) -> None:
        self._live_items = False
        for p in self.plots.values():
            for *_rest, item in p.series:
                p.item.removeItem(item)
            for item in p.raw:
                p.item.removeItem(item)
            p.series, p.raw = [], []
            p.label.hide()
            p.vline.hide()
        self._live_len = self._live_epochs = -1
        self._smoothed, self._ema = [], Ema()
        self._x_span = None
        for p in self.plots.values():
            p.item.enableAutoRange()

    def _add(self, key: str, label: str, xs, ys, colour: str, symbol: bool, raw=None) -> None:
        p = self.plots[key]
        xs, ys = np.asarray(xs, float), np.asarray(ys, float)
        if raw is not None:
            faint = pg.mkColor(colour)
            faint.setAlpha(60)
            r = p.item.plot(xs, np.asarray(raw, float), pen=pg.mkPen(faint, width=1))
            r.setDownsampling(auto=True, method="peak")
            r.setClipToView(True)
            p.raw.append(r)
        kw = dict(symbol="o", symbolSize=6, symbolBrush=colour, symbolPen=None) if symbol else {}
        item = p.item.plot(xs, ys, pen=pg.mkPen(colour, width=2), name=label, **kw)
        if not symbol:
            item.setDownsampling(auto=True, method="mean")
            item.setClipToView(True)
        p.series.append((label, xs, ys, item))

    def set_runs(self, runs: list[tuple[str, dict]]) -> None:
        """runs: (label, curves) with curves as RunRecord.curves(): name -> (x, y)."""
        self.clear()
        for i, (label, curves) in enumerate(runs):
            colour = style.SERIES[i % len(style.SERIES)]
            for key in self.plots:
                if key not in curves:
                    continue
                xs, ys = curves[key]
                many = len(xs) > 30
                if key == "train_loss" and many:
                    self._add(key, label, xs, smooth(ys), colour, False, raw=ys)
                else:
                    self._add(key, label, xs, ys, colour, not many)
        for p in self.plots.values():
            p.item.enableAutoRange()

    def reset_live(self) -> None:
        """Empty curves for a new run; the plot items are made once and reused, so pressing
        Start costs the UI thread no item construction."""
        if not self._live_items:
            self.clear()
            colour = style.SERIES[0]
            self._add("train_loss", "run", [], [], colour, False, raw=[])
            self._add("lr", "run", [], [], colour, False)
            self._add("test_loss", "run", [], [], colour, True)
            self._add("test_accuracy", "run", [], [], colour, True)
            self._live_items = True
        for key in self.plots:
            self._set(key, np.zeros(0), np.zeros(0), raw=np.zeros(0) if key == "train_loss" else None)
        self._live_len = self._live_epochs = -1
        self._smoothed, self._ema = [], Ema()
        self._x_span = None
        for p in self.plots.values():
            p.item.enableAutoRange()

    def show_live(self, state) -> None:
        """Redraw from a RunState; cheap when nothing changed (call it from a timer)."""
        n, e = len(state.steps), len(state.history)
        if n == self._live_len and e == self._live_epochs:
            return
        if not self._live_items:
            self.reset_live()
        self._live_len, self._live_epochs = n, e
        if state.total_steps and self._x_span != (state.total_steps, state.epochs):
            # The x axes span the whole run: the curves grow from the left, and the axes
            # do not re-tick on every update.
            self._x_span = (state.total_steps, state.epochs)
            for key in ("train_loss", "lr"):
                self.plots[key].item.setXRange(0, state.total_steps, padding=0.01)
            for key in ("test_loss", "test_accuracy"):
                self.plots[key].item.setXRange(0.5, max(state.epochs, 1) + 0.5, padding=0)
        steps = np.asarray(state.steps, float)
        losses = np.asarray(state.losses, float)
        if n < len(self._smoothed):
            self._smoothed, self._ema = [], Ema()
        self._smoothed += [self._ema.add(v) for v in state.losses[len(self._smoothed):]]
        self._set("train_loss", steps, np.asarray(self._smoothed, float), raw=losses)
        self._set("lr", steps, np.asarray(state.lrs, float))
        ep = np.asarray([h["epoch"] for h in state.history], float)
        self._set("test_loss", ep, np.asarray([h.get("test_loss", math.nan) for h in state.history], float))
        self._set("test_accuracy", ep, np.asarray([h.get("test_accuracy", math.nan) for h in state.history], float))

    def _set(self, key: str, xs, ys, raw=None) -> None:
        p = self.plots[key]
        label, _x, _y, item = p.series[0]
        item.setData(xs, ys)
        p.series[0] = (label, xs, ys, item)
        if raw is not None and p.raw:
            p.raw[0].setData(xs, raw)

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
            for label, xs, ys, _item in p.series:
                if len(xs) == 0:
                    continue
                i = bisect.bisect_left(xs.tolist(), x)
                i = min(range(max(0, i - 1), min(len(xs), i + 1)), key=lambda j: abs(xs[j] - x))
                snap = xs[i] if snap is None else snap
                name = f"{label}: " if len(p.series) > 1 else SHORT[p.key]
                lines.append(f"{name}{_fmt(p.key, float(ys[i]))}")
            if not lines:
                p.label.hide()
                continue
            p.vline.setPos(snap)
            p.vline.show()
            p.label.setText(f"{p.xlabel} {snap:,.0f}\n" + "\n".join(lines))
            (x0, x1), (y0, y1) = vb.viewRange()
            p.label.setPos(x1, y1)
            p.label.show()
