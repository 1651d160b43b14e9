"""What the micro-benchmarks share: BLAS on one thread, as in the app (set before numpy loads, so
import this first), the repository on the path, and percentiles of timings in milliseconds."""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402 - after the thread variables above, which BLAS reads when numpy loads


def ms(samples, q=50) -> float:
    """The ``q``-th percentile of ``samples`` (seconds), in milliseconds."""
    return float(np.percentile(np.asarray(samples) * 1e3, q))


def timed(fn, inputs) -> list[float]:
    """Seconds of ``fn(x)`` for each of ``inputs``."""
    out = []
    for x in inputs:
        t0 = time.perf_counter()
        fn(x)
        out.append(time.perf_counter() - t0)
    return out
