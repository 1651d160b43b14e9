"""Evaluating a model on the 10,000 MNIST test images with the evaluation view's code path.

    .venv/bin/python tests/benchmarks/bench_evaluation.py [MODEL.onnx] [--data-dir D] [--repeat 5]

The model: the argument, else the shipped digitpad/assets/models/default.onnx, else a throwaway
model of the shipped architecture (``digitpad``) trained for a few seconds (speed does not
depend on the weights). Prints each run's wall and CPU time and the median. Target: <= 2 s.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from digitpad.core.evaluation import evaluate, load_test_set  # noqa: E402
from digitpad.core.inference import Predictor  # noqa: E402
from digitpad.core.library import shipped_model_path  # noqa: E402


def model_path(arg: str | None, data_dir: Path) -> Path:
    if arg:
        return Path(arg)
    if shipped_model_path().is_file():
        return shipped_model_path()
    out = Path(tempfile.mkdtemp()) / "digitpad-arch.onnx"
    print(f"no shipped model: training a throwaway 'digitpad' model into {out} ...", flush=True)
    subprocess.run([sys.executable, "-m", "training", "--arch", "digitpad", "--limit", "1000", "--epochs", "1",
                    "--data-dir", str(data_dir), "--out", str(out), "--progress", "none"], cwd=REPO, check=True)
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("model", nargs="?")
    p.add_argument("--data-dir", default=str(REPO.parent / "shared" / "datasets"))
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--threads", type=int, default=None)
    a = p.parse_args()
    path = model_path(a.model, Path(a.data_dir))
    predictor = Predictor(path)
    t0 = time.perf_counter()
    test = load_test_set(a.data_dir, "mnist")
    print(f"model {path} ({predictor.metadata.arch if predictor.metadata else '?'}); test set read in "
          f"{time.perf_counter() - t0:.3f} s; cores {os.cpu_count()}; load average {os.getloadavg()[0]:.1f}")
    walls = []
    for i in range(a.repeat):
        c0 = time.process_time()
        r = evaluate(predictor, test, threads=a.threads)   # includes building the evaluation session
        cpu = time.process_time() - c0
        walls.append(r.seconds)
        print(f"run {i + 1}: {r.seconds:.3f} s wall, {cpu:.3f} s CPU, accuracy {r.accuracy:.4f} on {r.n} images")
    print(f"MEDIAN evaluation of {r.n} images: {statistics.median(walls):.3f} s  (best {min(walls):.3f} s; "
          f"target <= 2 s)")


if __name__ == "__main__":
    main()
