"""The Arithmetic tab, timed: a click on a unit until the explanation is painted, and the cost
of keeping it up to date while drawing (issue 11).

    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python tests/benchmarks/bench_arithmetic_gui.py \
        [--model F.onnx] [--clicks 100]

(or QT_QPA_PLATFORM=offscreen). Real mouse clicks (QTest, dispatched synchronously) on the
pyqtgraph views of the shipped model, a digit drawn on the canvas; each timing runs from
the click until every handler has run and the tab has been repainted (``repaint()``:
synchronous, to the window's backing store). Prints medians and p90; asserts nothing.
Target: click -> explanation shown <= 50 ms. Also: drawing at 60 Hz with the Feature maps
tab shown and with the Arithmetic tab shown (a conv3 unit followed live, throttled).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import REPO, ms  # noqa: E402 - first: BLAS on one thread (as the app runs) before numpy loads

sys.path.insert(0, str(REPO / "tests" / "support"))
# isort: split
import numpy as np  # noqa: E402


def line(what: str, samples) -> str:
    return f"{what}: median {ms(samples):.1f} ms, p90 {ms(samples, 90):.1f} ms ({len(samples)} clicks)"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", type=Path)
    ap.add_argument("--clicks", type=int, default=100)
    args = ap.parse_args()

    from drawing import draw, seven
    from PySide6.QtCore import QEvent, QPointF, Qt, QTimer
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from digitpad.app import MainWindow
    from digitpad.core.paths import shipped_model_path

    model = args.model or shipped_model_path()
    w = MainWindow(model_path=model)
    w.resize(1920, 1000)
    w.show()

    def settle(cond=lambda: True, seconds=20.0, at_least=0.2):
        t0 = time.time()
        while (time.time() - t0 < at_least) or (not cond() and time.time() - t0 < seconds):
            app.processEvents()
            time.sleep(0.005)

    settle(lambda: w.workbench.feature_maps is not None)
    wb = w.workbench
    t0 = time.perf_counter()
    settle(lambda: not wb.stepwise.loading, at_least=0)
    print(f"model {model.name}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; "
          f"platform {app.platformName()}")
    print(f"graph read on the worker after the first frame (onnx import, network, used maps, shapes, probe): "
          f"ready {(time.perf_counter() - t0) * 1e3:.0f} ms after the inspectors were built")
    draw(wb.canvas, seven(wb.canvas.width()))
    settle()
    fm, tab = wb.feature_maps, wb.arithmetic
    p = wb.controller.predictor
    rng = np.random.default_rng(0)

    def pos(grid, tile, row, col):
        x, y = grid.tile_origin(tile)
        return grid.mapFromScene(grid.view.mapViewToScene(QPointF(x + col + 0.5, y + row + 0.5)))

    def timed_click(grid, tile, row, col) -> float:
        where = pos(grid, tile, row, col)
        t0 = time.perf_counter()
        QTest.mouseClick(grid.viewport(), Qt.LeftButton, Qt.NoModifier, where)
        tab.repaint()
        return time.perf_counter() - t0

    # 1. Feature maps grid -> Arithmetic tab (the tab switch is part of it)
    for layer in [name for name in ("conv1", "conv3") if name in p.layers] or p.layers[:1]:
        samples = []
        for i in range(args.clicks):
            wb.inspector.setCurrentWidget(fm)
            if fm.layer != layer:
                fm.chooser.combo.setCurrentText(layer)
            settle(at_least=0.01 if i else 0.2)
            acts = wb.prediction.activations[layer]
            c, r, col = (int(rng.integers(n)) for n in acts.shape)
            samples.append(timed_click(fm.grid, c, r, col))
            assert tab.index == (c, r, col)
        print(line(f"click a {layer} pixel in Feature maps -> Arithmetic tab painted", samples))

    # 2. Clicks on the Arithmetic tab's own map (neighbours of the unit), same drawing
    wb.inspector.setCurrentWidget(tab)
    settle()
    samples = []
    for _ in range(args.clicks):
        h, wd = tab.values.shape[1:]
        samples.append(timed_click(tab.grid, 0, int(rng.integers(h)), int(rng.integers(wd))))
        settle(at_least=0.005)
    print(line(f"click on the Arithmetic tab's map ({p.network.stage(tab.stage).title})", samples))

    # 3. Vectors: the logits (dense: top contributions sorted) and a pooled stage
    for stage in ("logits", next(s.name for s in p.stages() if s.op == "MaxPool")):
        tab.show_unit(stage, (0,) if stage == "logits" else (0, 0, 0))
        settle()
        samples = []
        for _ in range(args.clicks):
            if tab.values.ndim == 1:
                samples.append(timed_click(tab.grid, 0, 0, int(rng.integers(tab.values.size))))
            else:
                h, wd = tab.values.shape[1:]
                samples.append(timed_click(tab.grid, 0, int(rng.integers(h)), int(rng.integers(wd))))
            settle(at_least=0.005)
        print(line(f"click a unit of {p.network.stage(stage).title}", samples))

    # 4. A new drawing, then a click: the forward pass, ONNX Runtime and the probe run first
    wb.inspector.setCurrentWidget(fm)
    fm.chooser.combo.setCurrentText("conv3" if "conv3" in p.layers else p.layers[-1])
    settle()
    samples = []
    for i in range(max(10, args.clicks // 4)):
        wb.inspector.setCurrentWidget(fm)
        wb.canvas.draw_stroke([(100 + i % 50, 300), (300, 120 + i % 40)])
        settle(at_least=0.01)
        acts = wb.prediction.activations[fm.layer]
        c, r, col = (int(rng.integers(n)) for n in acts.shape)
        samples.append(timed_click(fm.grid, c, r, col))
        wb.canvas.undo()
    print(line("first click after the drawing changed (forward pass + ORT + probe + terms)", samples))

    # 5. Drawing at 60 Hz: move -> prediction on screen, Feature maps tab vs Arithmetic tab following a unit
    def drawing(which: str, seconds: float = 3.0, hz: float = 60.0) -> None:
        wb.canvas.clear()
        draw(wb.canvas, seven(wb.canvas.width()))
        if which == "arithmetic":
            fm.chooser.combo.setCurrentText("conv3" if "conv3" in p.layers else p.layers[-1])
            wb.arithmetic_link.explain_unit(fm.layer, 0, 5, 5)
        else:
            wb.inspector.setCurrentWidget(fm)
        settle()
        refreshes = []
        tab_refresh = tab._refresh_now

        def counted():
            tab_refresh()
            refreshes.append(tab.last_seconds)

        tab._timer.timeout.disconnect()
        tab._timer.timeout.connect(counted)
        latencies, posted, handled = [], [], [0]
        canvas = wb.canvas

        def shown(_prediction):
            for widget in (canvas, wb.panel, wb.input_view):
                widget.repaint()
            now = time.perf_counter()
            for t in posted[handled[0]:]:
                latencies.append(now - t)
            handled[0] = len(posted)

        wb.predictionShown.connect(shown)
        n = int(hz * seconds)
        t = np.linspace(0, 4 * np.pi, n)
        pts = np.stack([200 + 110 * np.sin(t * 1.3), 200 + 140 * np.cos(t)], 1)
        state = {"i": 0}

        def send(kind, pt, buttons):
            posted.append(time.perf_counter())
            QApplication.postEvent(canvas, QMouseEvent(kind, QPointF(*pt), QPointF(*pt), Qt.LeftButton, buttons,
                                                       Qt.NoModifier))

        def tick():
            i = state["i"]
            if i == 0:
                send(QEvent.MouseButtonPress, pts[0], Qt.LeftButton)
            elif i < n:
                send(QEvent.MouseMove, pts[i], Qt.LeftButton)
            else:
                timer.stop()
                send(QEvent.MouseButtonRelease, pts[-1], Qt.NoButton)
            state["i"] += 1

        timer = QTimer()
        timer.setTimerType(Qt.PreciseTimer)
        timer.timeout.connect(tick)
        timer.start(int(1000 / hz))
        started = time.perf_counter()
        settle(lambda: state["i"] > n, seconds=seconds * 3, at_least=seconds)
        seconds = time.perf_counter() - started
        settle(at_least=0.3)
        wb.predictionShown.disconnect(shown)
        tab._timer.timeout.disconnect()
        tab._timer.timeout.connect(tab._refresh_now)
        lat = np.asarray(latencies) * 1e3
        extra = (f"; the explanation was recomputed {len(refreshes)} times ({len(refreshes) / seconds:.1f}/s), "
                 f"median {ms(refreshes):.1f} ms each" if refreshes else "")
        print(f"drawing at {hz:.0f} Hz, {which} tab shown: move -> prediction painted "
              f"p50 {np.percentile(lat, 50):.1f} ms, p99 {np.percentile(lat, 99):.1f} ms ({len(lat)} moves){extra}")

    drawing("feature maps")
    drawing("arithmetic")
    w.close()


if __name__ == "__main__":
    main()
