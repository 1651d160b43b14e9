"""Where the network looks: occlusion sensitivity, computed with ONNX Runtime alone.

Slide a small black patch over the model's input (28x28, or the 8x8 block counts) and measure how much the predicted
class's log-odds drop with the patch in each place. Black is MNIST's background, so
occluding means "this ink was not there". Patches over pure background change nothing
and are skipped, which roughly halves the work for a typical digit; all remaining
occluded copies go through the model as one batch.

Log-odds rather than probability: a confident prediction sits at 99.99 % and a single
patch rarely moves that visibly, while its log-odds still shows which strokes matter.
"""
from __future__ import annotations

import time

import numpy as np

PATCH = 4
STRIDE = 2
# On the 8x8 block counts one pixel is a 4x4 block of the 32x32 bitmap: a 2x2 patch there hides
# about what a 4x4 patch hides of a 28x28 digit's 20x20 box.
SMALL_INPUT, SMALL_PATCH, SMALL_STRIDE = 16, 2, 1


def _log_odds(probs: np.ndarray, target: int) -> np.ndarray:
    p = np.clip(probs[:, target].astype(np.float64), 1e-7, 1 - 1e-7)
    return np.log(p) - np.log1p(-p)


def occlusion_saliency(predictor, x28: np.ndarray, target: int | None = None,
                       patch: int | None = None, stride: int | None = None) -> tuple[np.ndarray, int]:
    """Saliency map [size, size] (positive: this ink supports ``target``) and the target class.

    ``x28``: the model input, [size, size] or [1, 1, size, size] (28, or 8 for an 8x8 model).
    ``predictor`` needs ``predict_batch(xs [N,1,size,size]) -> probs [N,10]``.
    """
    x = np.asarray(x28, dtype=np.float32)
    side = int(round(np.sqrt(x.size)))
    x = x.reshape(side, side)
    small = side <= SMALL_INPUT
    patch = patch or (SMALL_PATCH if small else PATCH)
    stride = stride or (SMALL_STRIDE if small else STRIDE)
    base = predictor.predict_batch(x[None, None])
    if target is None:
        target = int(np.argmax(base[0]))
    starts = range(0, side - patch + 1, stride)
    positions = [(r, c) for r in starts for c in starts if x[r:r + patch, c:c + patch].sum() > 0.05]
    coverage = np.zeros((side, side), np.float64)
    for r in starts:
        for c in starts:
            coverage[r:r + patch, c:c + patch] += 1
    saliency = np.zeros((side, side), np.float64)
    if positions:
        batch = np.repeat(x[None], len(positions), axis=0)
        for i, (r, c) in enumerate(positions):
            batch[i, r:r + patch, c:c + patch] = 0.0
        probs = predictor.predict_batch(batch[:, None])
        drops = _log_odds(base, target)[0] - _log_odds(probs, target)
        for (r, c), d in zip(positions, drops):
            saliency[r:r + patch, c:c + patch] += d
    saliency /= np.maximum(coverage, 1)
    return saliency.astype(np.float32), target


def timed_saliency(task, predictor, x28: np.ndarray) -> tuple[np.ndarray, int, float]:
    """A background job (``digitpad.core.background``): (saliency, target, seconds)."""
    t0 = time.perf_counter()
    sal, target = occlusion_saliency(predictor, x28)
    return sal, target, time.perf_counter() - t0
