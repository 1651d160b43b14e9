"""Explore and compare, measured: the shipped model's map of the MNIST test set (10,000 images) and its
filters' responses, first made and then from the cache; a new input placed on the map; whether a placed
image lands among its own class; and the drawing's frame with the Map or Compare tab shown.

    cd CHECKOUT && PYTHONPATH=. QT_QPA_PLATFORM=offscreen .venv/bin/python tests/benchmarks/bench_explore.py \
        [--data-dir ../shared/datasets] [--second OTHER.onnx] [--no-gui]

The caches go to a temporary user folder, so the first figures are a first run. Prints figures and the
machine's load; asserts nothing (timings are not tests).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")   # as the app (digitpad/__main__.py)
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "support"))

import numpy as np  # noqa: E402


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f} (5 min {five:.2f}) on {os.cpu_count()} cores"


def ms(samples) -> str:
    a = np.asarray(samples) * 1e3
    return f"p50 {np.percentile(a, 50):.2f} ms, p90 {np.percentile(a, 90):.2f} ms, p99 {np.percentile(a, 99):.2f} ms"


def among_own(m, position, label) -> bool:
    return int((m.labels[m.nearest_points(position, 10)] == label).sum()) > 5


def core(data_dir: str, second: str | None) -> None:
    from digitpad.core.evaluation import load_split, load_test_set
    from digitpad.core.explore import TestSetMap, compare, layer_responses, top_of
    from digitpad.core.inference import Predictor
    from digitpad.core.paths import shipped_model_path

    p = Predictor(shipped_model_path())
    test = load_test_set(data_dir, "mnist")
    print(f"shipped model on the MNIST test set ({len(test):,} images); {load()}")
    t0 = time.perf_counter()
    first = TestSetMap.first(p, test.images, test.labels, full_scale=test.full_scale)
    t1 = time.perf_counter()
    m = first.refined()
    t2 = time.perf_counter()
    print(f"  map: PCA layout on screen after {t1 - t0:.2f} s (the model over the test set, PCA), neighbour "
          f"layout after {t2 - t0:.2f} s in all ({t2 - t1:.2f} s of layout); {load()}")
    t0 = time.perf_counter()
    TestSetMap(p, test.images, test.labels, full_scale=test.full_scale)
    print(f"  map from the cache: {(time.perf_counter() - t0) * 1e3:.0f} ms")

    train = load_split(data_dir, "mnist", "train")
    rng = np.random.default_rng(0)
    held = rng.choice(len(train.labels), 2000, replace=False)
    times, own = [], []
    for i in held:
        x = p.input.from_rows(train.images[i:i + 1])
        t = time.perf_counter()
        at = m.place(x)
        times.append(time.perf_counter() - t)
        own.append(among_own(m, at, train.labels[i]))
    inside = [among_own(m, m.place(p.input.from_rows(test.images[i:i + 1])), test.labels[i])
              for i in rng.choice(len(test), 2000, replace=False)]
    pca = [among_own(first, first.place(p.input.from_rows(test.images[i:i + 1])), test.labels[i])
           for i in range(0, len(test), 20)]
    print(f"  place (the model's hidden layer + 10 nearest of {len(m):,}): {ms(times)}")
    print(f"  among its own class (>= 6 of the 10 nearest map points share its label): {np.mean(inside):.1%} of "
          f"2,000 test images, {np.mean(own):.1%} of 2,000 MNIST training images (never in the map); on the "
          f"PCA layout {np.mean(pca):.1%} of 500 test images")

    t0 = time.perf_counter()
    found = layer_responses(p, test.images, full_scale=test.full_scale)
    t1 = time.perf_counter()
    top = top_of(p, found["conv2"], 3, 9)
    t2 = time.perf_counter()
    print(f"  responses of every layer (one pass): {t1 - t0:.2f} s; a channel's top and bottom 9 with patches: "
          f"{(t2 - t1) * 1e3:.0f} ms (first: reads the graph); {load()}")
    t0 = time.perf_counter()
    found = layer_responses(p, test.images, full_scale=test.full_scale)
    top_of(p, found["conv4"], 5, 9)
    print(f"  responses from the cache, another channel: {(time.perf_counter() - t0) * 1e3:.0f} ms "
          f"(top of conv2/3: {list(top)})")
    if second:
        q = Predictor(second)
        t0 = time.perf_counter()
        c = compare(p, q, test)
        print(f"  disagreements with {q.name}: {len(c.disagreements):,} images, {time.perf_counter() - t0:.2f} s "
              f"(both models over the test set); {load()}")


def gui(data_dir: str, second: str | None) -> None:
    from drawing import draw, seven
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from digitpad.app import MainWindow
    from digitpad.core.paths import shipped_model_path
    from digitpad.core.settings import SettingsStore

    SettingsStore().update(datasets_folder=data_dir)
    w = MainWindow(model_path=shipped_model_path())
    w.resize(1400, 900)
    w.show()

    def settle(cond=lambda: True, seconds=120.0, at_least=0.3):
        t0 = time.time()
        while (time.time() - t0 < at_least) or (not cond() and time.time() - t0 < seconds):
            app.processEvents()
            time.sleep(0.005)

    settle(lambda: w.workbench.inspectors.test_map is not None)
    wb = w.workbench
    draw(wb.canvas, seven(wb.canvas.width()))

    def frames(label: str) -> None:
        settle()
        ts = []
        for i in range(300):
            if i % 50 == 0:
                wb.canvas.draw_stroke([(150 + i % 7, 100), (160, 300)])
            t0 = time.perf_counter()
            wb.update_prediction()
            wb.inspector.currentWidget().repaint()
            ts.append(time.perf_counter() - t0)
        print(f"  frame (update_prediction + the tab repainted), {label}: {ms(ts)}")

    print(f"the drawing's frame, 300 changes; {load()}")
    wb.inspector.setCurrentWidget(wb.feature_maps)
    frames("Feature maps tab (exploring not in use)")
    tm = wb.inspectors.test_map
    wb.inspector.setCurrentWidget(tm)
    settle(lambda: tm.map is not None and tm.map.final)
    frames("Map tab, the live point placed every frame")
    if second:
        w.controller.second.load(second)
        cv = wb.inspectors.compare
        wb.inspector.setCurrentWidget(cv)
        settle(lambda: not cv.jobs.busy())
        frames(f"Compare tab, {Path(second).stem} answering too")
    w.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=str(REPO.parent / "shared" / "datasets"))
    ap.add_argument("--second", help="a second MNIST model for the comparison figures")
    ap.add_argument("--no-gui", action="store_true")
    args = ap.parse_args()
    os.environ["DIGITPAD_DATA_DIR"] = tempfile.mkdtemp(prefix="bench-explore-")
    core(args.data_dir, args.second)
    if not args.no_gui:
        gui(args.data_dir, args.second)


if __name__ == "__main__":
    main()
