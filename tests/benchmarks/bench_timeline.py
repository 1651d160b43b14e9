"""The training timeline (issue 23): scrubbing time and what snapshots cost a run.

    .venv/bin/python tests/benchmarks/bench_timeline.py [--runs 3] [--limit 3000] [--skip-runs] [--engine torch]

1. ``Timeline.predict(x, k)`` for the shipped model (the drawing path's one BLAS thread): a new
   snapshot each call (its network built from the snapshot's weights, then the NumPy forward pass:
   new maps and probabilities), and the same snapshot again; the shipped model gets 25 synthetic
   snapshots (its own weights scaled), as a run of it keeps. Target: <= 50 ms to new maps + probs.
2. A short run of the shipped model's arch (``--arch digitpad``), and one of the NumPy engine,
   with snapshots and with the Recorder made a no-op, alternated (neither always first), median of ``--runs`` each, side
   by side; plus the Recorder's own time in the run. Target: snapshots <= 5% of a run's time.

Prints figures and the 1-minute load average; asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import REPO, ms  # noqa: E402 - first: BLAS on one thread before numpy loads

# isort: split
import numpy as np  # noqa: E402 - after _timing, which puts BLAS on one thread


def scrub(folder: Path, images: int = 30) -> None:
    from digitpad.core import snapshots as snapfile
    from digitpad.core.inference import Predictor
    from digitpad.core.paths import RunFiles, shipped_model_path
    from digitpad.core.timeline import Timeline

    model = folder / "shipped.onnx"
    shutil.copy(shipped_model_path(), model)
    p = Predictor(model)
    net = p.network
    names = [n for n in net.initializers if net.constants[n].dtype == np.float32 and net.constants[n].ndim]
    scales = np.linspace(0.1, 1.0, 25, dtype=np.float32)
    weights = {n: np.stack([net.constants[n] * s for s in scales]).astype(np.float32) for n in names}
    meta = {"engine": "torch", "run_id": p.metadata.training["run_id"], "planned_steps": 9380,
            "steps_per_epoch": 469, "kept": "all", "initializers": {n: n for n in names}}
    steps = np.round(np.geomspace(1, 9380, 25)).astype(np.int64)
    steps[0] = 0
    steps = np.maximum.accumulate(steps + np.arange(25))
    snapfile.write(RunFiles(model).snapshots, snapfile.Snapshots(
        meta, steps, steps / 469.0, np.full(25, np.nan), np.full(25, np.nan), weights))
    size = RunFiles(model).snapshots.stat().st_size
    t0 = time.perf_counter()
    timeline = Timeline.for_model(model, p)
    opened = time.perf_counter() - t0

    xs = _load_digits(images)
    new, same, ort = [], [], []
    for i, x in enumerate(xs):
        k = i % len(timeline)
        timeline._networks.clear()   # a snapshot not seen before: its network is built
        t0 = time.perf_counter()
        timeline.predict(x, k)
        new.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        timeline.predict(x, k)
        same.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        p.predict(x)
        ort.append(time.perf_counter() - t0)
    print(f"shipped model, 25 snapshots ({size / 2**20:.1f} MB file), {len(xs)} digits; "
          f"opened in {opened * 1e3:.0f} ms")
    print(f"  predict(x, k), a new snapshot:   median {ms(new):6.1f} ms   p90 {ms(new, 90):6.1f} ms   (target <= 50)")
    print(f"  predict(x, k), the same snapshot: median {ms(same):6.1f} ms   p90 {ms(same, 90):6.1f} ms")
    print(f"  Predictor.predict (ONNX Runtime): median {ms(ort):6.1f} ms")


def _data() -> str:
    return os.environ.get("DIGITPAD_TEST_DATA", str(REPO.parent / "shared" / "datasets"))


def _load_digits(n: int) -> np.ndarray:
    """Real MNIST test digits, canonical [1, 28, 28] each."""
    from digitpad.core.datasets import load_split

    test = load_split(_data(), "mnist", "test")
    return test.images[:n].astype(np.float32)[:, None] / 255


def runs(folder: Path, count: int, limit: int, engine: str = "both") -> None:
    import contextlib
    import io

    from training import snapshots
    from training.cli import main

    data = _data()
    real = snapshots.Recorder
    spent = [0.0]

    class Timed(real):   # the real Recorder, its own time added up
        def __getattribute__(self, name):
            attr = super().__getattribute__(name)
            if name in ("after_step", "save", "finish", "_take") and callable(attr):
                def timed(*a, **k):
                    t0 = time.perf_counter()
                    try:
                        return attr(*a, **k)
                    finally:
                        spent[0] += time.perf_counter() - t0
                return timed
            return attr

        def __init__(self, *a, **k):
            t0 = time.perf_counter()
            super().__init__(*a, **k)
            spent[0] += time.perf_counter() - t0

    class Off:   # no snapshots at all
        def __init__(self, *a, **k):
            pass

        def after_step(self, *a, **k):
            pass

        def save(self, history):
            return None

        def metadata(self, model):
            return {}

        def finish(self, model, step=None):
            return None

    recipes = {
        "torch, --arch digitpad": ["--arch", "digitpad", "--limit", str(limit), "--epochs", "2", "--batch-size", "64",
                                   "--threads", "1", "--data-dir", data],
        "numpy, seed004 optdigits": ["--engine", "numpy", "--dataset", "optdigits", "--epochs", "3",
                                     "--data-dir", data],
    }
    for name, args in recipes.items():
        if engine != "both" and not name.startswith(engine):
            continue
        times = {"with": [], "without": []}
        own = []
        for i in range(count):
            for mode in ("with", "without") if i % 2 == 0 else ("without", "with"):   # neither always first
                snapshots.Recorder = Timed if mode == "with" else Off
                out = folder / f"{mode}{i}-{len(own)}-{name[:5]}.onnx"
                spent[0] = 0.0
                t0 = time.perf_counter()
                with contextlib.redirect_stderr(io.StringIO()):
                    rc = main([*args, "--out", str(out), "--progress", "none"])
                times[mode].append(time.perf_counter() - t0)
                assert rc == 0, name
                if mode == "with":
                    own.append(spent[0])
        snapshots.Recorder = real
        w, wo = statistics.median(times["with"]), statistics.median(times["without"])
        print(f"{name}: run with snapshots {w:6.2f} s, without {wo:6.2f} s (median of {count}; difference "
              f"{(w - wo) / wo:+.1%}); the Recorder's own time {statistics.median(own) * 1e3:.0f} ms "
              f"= {statistics.median(own) / w:.2%} of the run")
        print(f"  each run, with: {', '.join(f'{t:.2f}' for t in times['with'])} s; without: "
              f"{', '.join(f'{t:.2f}' for t in times['without'])} s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--limit", type=int, default=3000)
    ap.add_argument("--skip-runs", action="store_true")
    ap.add_argument("--engine", choices=["torch", "numpy", "both"], default="both")
    args = ap.parse_args()
    print(f"load average (1 min) at start: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("DIGITPAD_DATA_DIR", tmp)
        scrub(Path(tmp))
        if not args.skip_runs:
            runs(Path(tmp), args.runs, args.limit, args.engine)
    print(f"load average (1 min) at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
