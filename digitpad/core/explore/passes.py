"""A model run over a whole test set in batches, handing over the tensors the explore views need.

Images come as canonical images (float32 [N, C, S, S], 0..1) or as the data set's rows (uint8, full
value ``full_scale``); rows are made canonical a batch at a time by the model's input adapter, so a
CIFAR-10 test set is never held as 123 MB of floats.

Threads: all cores but one, not spinning. A map or a layer's responses is made while someone draws;
the drawing's own session keeps the last core (on 2 cores the pass takes ~1.6x as long as with
both, and the window does not stutter).
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import numpy as np

from .graph import model_bytes, session_with
from .layout import Cancelled

BATCH = 250


def threads() -> int:
    return max(1, min(4, (os.cpu_count() or 2) - 1))


def canonical_batches(predictor, images: np.ndarray, full_scale: float = 255, batch: int = BATCH
                      ) -> Iterator[tuple[int, np.ndarray]]:
    """(start, canonical images [n, C, S, S]) of ``images``, ``batch`` at a time."""
    images = np.asarray(images)
    rows = images.dtype == np.uint8
    for start in range(0, len(images), batch):
        part = images[start:start + batch]
        yield start, predictor.input.from_rows(part, full_scale) if rows else predictor.input.canonical(part)


def run_over(predictor, images: np.ndarray, outputs: list[str], *, full_scale: float = 255, batch: int = BATCH,
             progress: Callable[[int, int], None] | None = None, cancelled: Callable[[], bool] | None = None,
             data: bytes | None = None) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
    """(start, {output name: array}) per batch of ``images``, for graph tensors ``outputs`` (any tensor of
    the graph). ``data``: the model's bytes when already read. Raises layout.Cancelled when asked to stop."""
    session, names = session_with(data if data is not None else model_bytes(predictor), outputs, threads(),
                                  spinning=False)
    n = len(images)
    for start, x in canonical_batches(predictor, images, full_scale, batch):
        if cancelled is not None and cancelled():
            raise Cancelled
        values = predictor.run_outputs(session, names, predictor.input.to_tensor(x))
        yield start, dict(zip(names, values))
        if progress is not None:
            progress(min(start + batch, n), n)
