"""Where the network looks: occlusion sensitivity, computed with ONNX Runtime alone.

Slide a small patch over the model's canonical image and measure how much the predicted class's
log-odds drop with the patch in each place. For a drawing the patch is black, the background, so
occluding means "this ink was not there", and patches over pure background change nothing and are
skipped (roughly half the work for a typical digit). For a picture (a photo, a clothes image) the
patch is the picture's mean colour: black would be a dark object of its own. All occluded copies
go through the model as one batch.

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


def occlusion_saliency(predictor, x: np.ndarray, target: int | None = None,
                       patch: int | None = None, stride: int | None = None) -> tuple[np.ndarray, int]:
    """Saliency map [S, S] (positive: this part supports ``target``) and the target class.

    ``x``: one canonical image of the predictor's model ([1, C, S, S], [C, S, S], or [S, S] when grey).
    ``predictor``: a Predictor (``input``: its InputAdapter; ``predict_batch``: canonical images -> probs).
    """
    adapter = predictor.input
    image = adapter.canonical(x)[0]                     # [C, S, S]
    side = image.shape[-1]
    small = side <= SMALL_INPUT
    patch = patch or (SMALL_PATCH if small else PATCH)
    stride = stride or (SMALL_STRIDE if small else STRIDE)
    base = predictor.predict_batch(image[None])
    if target is None:
        target = int(np.argmax(base[0]))
    starts = range(0, side - patch + 1, stride)
    fill = adapter.occluder(image)
    if adapter.drawn:   # a patch over background hides nothing
        positions = [(r, c) for r in starts for c in starts if image[:, r:r + patch, c:c + patch].sum() > 0.05]
    else:
        positions = [(r, c) for r in starts for c in starts]
    coverage = np.zeros((side, side), np.float64)
    for r in starts:
        for c in starts:
            coverage[r:r + patch, c:c + patch] += 1
    saliency = np.zeros((side, side), np.float64)
    if positions:
        batch = np.repeat(image[None], len(positions), axis=0)
        for i, (r, c) in enumerate(positions):
            batch[i, :, r:r + patch, c:c + patch] = fill
        probs = predictor.predict_batch(batch)
        drops = _log_odds(base, target)[0] - _log_odds(probs, target)
        for (r, c), d in zip(positions, drops):
            saliency[r:r + patch, c:c + patch] += d
    saliency /= np.maximum(coverage, 1)
    return saliency.astype(np.float32), target


def timed_saliency(task, predictor, x: np.ndarray) -> tuple[np.ndarray, int, float]:
    """A background job (``digitpad.core.background``): (saliency, target, seconds)."""
    t0 = time.perf_counter()
    sal, target = occlusion_saliency(predictor, x)
    return sal, target, time.perf_counter() - t0
