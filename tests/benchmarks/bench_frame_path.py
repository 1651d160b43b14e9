"""The 60 Hz drawing path, one frame: Workbench.update_prediction (canvas -> preprocess -> ONNX
Runtime -> views) with the Feature maps grid and the 28x28 input repainted, median of 300.

    cd CHECKOUT && PYTHONPATH=. QT_QPA_PLATFORM=offscreen .venv/bin/python tests/benchmarks/bench_frame_path.py

Made for comparing two checkouts (a branch and main) alternately on the same machine: it only
uses names both have. Prints figures; asserts nothing.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "support"))

import numpy as np  # noqa: E402


def main() -> None:
    from drawing import draw, seven
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from digitpad.app import MainWindow
    from digitpad.core.paths import shipped_model_path

    w = MainWindow(model_path=sys.argv[1] if len(sys.argv) > 1 else shipped_model_path())
    w.resize(1400, 900)
    w.show()

    def settle(cond=lambda: True, seconds=15.0, at_least=0.3):
        t0 = time.time()
        while (time.time() - t0 < at_least) or (not cond() and time.time() - t0 < seconds):
            app.processEvents()
            time.sleep(0.005)

    settle(lambda: w.workbench.feature_maps is not None)
    wb = w.workbench
    settle(lambda: not getattr(getattr(wb, "stepwise", None), "loading", False))   # the graph, where read
    draw(wb.canvas, seven(wb.canvas.width()))
    settle()
    out = []
    for layer in ("conv1", "conv4"):
        wb.inspector.setCurrentWidget(wb.feature_maps)
        wb.feature_maps.chooser.combo.setCurrentText(layer)
        settle()
        ts = []
        for i in range(300):
            if i % 50 == 0:
                wb.canvas.draw_stroke([(150 + i % 7, 100), (160, 300)])
            t0 = time.perf_counter()
            wb.update_prediction()
            wb.feature_maps.grid.viewport().repaint()
            wb.input_view.repaint()
            ts.append(time.perf_counter() - t0)
        out.append(f"{layer} {np.median(ts) * 1e3:.2f} ms (p90 {np.percentile(ts, 90) * 1e3:.2f})")
    print(f"{REPO.name}: load {os.getloadavg()[0]:.1f}; update_prediction + maps and input repainted: "
          + " | ".join(out))
    w.close()


if __name__ == "__main__":
    main()
