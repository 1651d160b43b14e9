"""Models from elsewhere: finding each file's input convention, and reading MNIST test digits through it.

For every convention the tests build (the shipped network behind another exporter's input: channels
last, 0..255, mean/std, -1..1, dark ink on light, flat, grey on three channels with a fixed batch of 1,
an extra output and no softmax), prints: the search's time (the target is <= 300 ms per file, on a
worker thread), the time to open the same file again (remembered: no search), the convention found,
and the MNIST test accuracy through the app's path (canonical digits in, Predictor.predict_batch)
beside the shipped model's own (the target: within 1.5 points of the file's best convention).

    .venv/bin/python tests/benchmarks/bench_convention.py [--data-dir ../shared/datasets] [--repeat 3]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "support"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=str(REPO.parent / "shared" / "datasets"))
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-convention-"))
    os.environ["DIGITPAD_DATA_DIR"] = str(work / "data")     # a fresh store: every file is searched once

    import numpy as np
    from foreign_conventions import CONVENTIONS, wrap

    from digitpad.core import convention
    from digitpad.core.datasets import load_split
    from digitpad.core.inference import Predictor
    from digitpad.core.paths import shipped_model_path

    test = load_split(args.data_dir, "mnist", "test")
    images, labels = test.images.astype(np.float32)[:, None] / 255, test.labels
    shipped = float((Predictor(shipped_model_path()).predict_batch(images).argmax(1) == labels).mean())
    print(f"load {os.getloadavg()[0]:.1f}; shipped model on the 10,000 MNIST test digits: {shipped:.2%}")
    print(f"{'convention':44s} {'search ms':>10s} {'reopen ms':>10s}  {'found':38s} {'MNIST':>7s} {'gap':>6s}")
    for name in CONVENTIONS:
        path = wrap(shipped_model_path(), work / f"{len(name)}-{abs(hash(name))}.onnx", name)
        searches, reopens = [], []
        for _ in range(args.repeat):
            convention.ConventionStore().path.unlink(missing_ok=True)
            p = Predictor(path)
            searches.append(p.convention.seconds * 1000)
            t0 = time.perf_counter()
            again = Predictor(path)
            reopens.append((time.perf_counter() - t0) * 1000)
            assert again.convention.used == p.convention.used
        acc = float((p.predict_batch(images).argmax(1) == labels).mean())
        print(f"{name:44s} {statistics.median(searches):10.0f} {statistics.median(reopens):10.0f}  "
              f"{p.convention.used.convention.describe():38s} {acc:7.2%} {100 * (shipped - acc):5.2f}p")


if __name__ == "__main__":
    main()
