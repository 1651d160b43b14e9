"""Weight snapshots for a model without training it (no torch): its own weights scaled, named by its
initializers, the last one the model itself (core.snapshots' format, as the engines write it)."""
from __future__ import annotations

import numpy as np

from digitpad.core import snapshots as snapfile


def scaled_snapshots(predictor, scales=(0.0, 0.5, 1.0)) -> snapfile.Snapshots:
    """Snapshot i: the model's weights (``*weight`` initializers) times ``scales[i]``, the rest as they are."""
    net = predictor.network
    names = [n for n in net.initializers if net.constants[n].dtype == np.float32 and net.constants[n].ndim]
    weights = {n: np.stack([net.constants[n] * np.float32(s) if n.endswith("weight") else net.constants[n]
                            for s in scales]).astype(np.float32) for n in names}
    n = len(scales)
    meta = {"engine": "torch", "run_id": predictor.metadata.training["run_id"], "planned_steps": 50 * (n - 1) or 1,
            "steps_per_epoch": 10, "kept": "all", "initializers": {k: k for k in names}}
    return snapfile.Snapshots(meta, np.arange(n, dtype=np.int64) * 50, np.arange(n, dtype=np.float64) * 5,
                              np.array([np.nan] + [0.9] * (n - 1)), np.array([np.nan] + [0.3] * (n - 1)), weights)
