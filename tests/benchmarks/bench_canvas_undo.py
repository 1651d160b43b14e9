"""Undo and redo on long drawings: the canvas pastes back what a stroke covered.

    .venv/bin/python tests/benchmarks/bench_canvas_undo.py [--strokes 50 1000 20000] [--points 40]

For each drawing length: the median time of an undo, of a redo, and of a full re-render of the
drawing (what every undo cost before the stroke history), on the app's 400 px canvas with
strokes of ``--points`` mouse samples. Asserts nothing: it measures (target: an undo of a
20,000-stroke drawing under 20 ms).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def strokes(n: int, points: int, size: int = 400, seed: int = 0) -> list[list[tuple[float, float]]]:
    import numpy as np

    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        start = rng.uniform(0.2 * size, 0.8 * size, 2)
        steps = rng.normal(0, size * 0.012, (points, 2)) + rng.normal(0, size * 0.01, 2)
        out.append([tuple(p) for p in start + np.cumsum(steps, axis=0)])
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--strokes", type=int, nargs="+", default=[50, 1000, 20000])
    ap.add_argument("--points", type=int, default=40)
    ap.add_argument("--repeat", type=int, default=15)
    a = ap.parse_args()
    from PySide6.QtWidgets import QApplication

    from digitpad.gui.canvas import DrawingCanvas

    app = QApplication.instance() or QApplication([])  # noqa: F841 (the canvas needs one)
    print(f"400 px canvas, strokes of {a.points} points, pen 30 px; load average {os.getloadavg()[0]:.1f}")
    for n in a.strokes:
        c = DrawingCanvas(size=400)
        t0 = time.perf_counter()
        for s in strokes(n, a.points):
            c.draw_stroke(s, width=30)
        drawn = time.perf_counter() - t0
        undo, redo = [], []
        for _ in range(a.repeat):
            t = time.perf_counter()
            c.undo()
            undo.append(time.perf_counter() - t)
            t = time.perf_counter()
            c.redo()
            redo.append(time.perf_counter() - t)
        full = []
        for _ in range(3 if n <= 1000 else 1):
            t = time.perf_counter()
            c._rerender()
            full.append(time.perf_counter() - t)
        print(f"{n:>6} strokes (drawn in {drawn:.1f} s): undo median {statistics.median(undo) * 1000:.2f} ms, "
              f"max {max(undo) * 1000:.2f} ms; redo median {statistics.median(redo) * 1000:.2f} ms; "
              f"full re-render (the old undo) {statistics.median(full) * 1000:.0f} ms", flush=True)


if __name__ == "__main__":
    main()
