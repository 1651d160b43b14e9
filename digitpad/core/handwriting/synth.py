"""Synthetic drawn digits for training, in the collection format (see collection.py).

    python -m digitpad.handwriting.synth --out FILE.npz --n 20000 --seed S
        [--mnist-train K --data-dir DIR] [--workers 2] [--no-strokes]

Only the ``"train"`` split is reachable from here: template variants tagged "train",
random streams ``split_rng("train", seed, chunk)``, and (with ``--mnist-train``) digits
from MNIST's *training* set re-stroked along their skeletons with a uniform round pen.
Each image is rendered by the numpy rasteriser and then ``preprocess.to_model_input``,
exactly the path the app's canvas takes. Labels are balanced (sample i is digit i % 10);
styles of a digit are equally likely; conditions follow strokes.MIXED_WEIGHTS. The
result depends on (n, seed, mnist-train), not on the number of workers.
"""
from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from .. import paths
from ..datasets import load_split
from . import collection, skeleton
from .raster import model_input, to_uint8
from .strokes import Drawing, draw, split_rng, styles

CHUNK = 500
SPLIT = "train"


def _samples_from(drawings: list[Drawing], sources: list[str]) -> list[collection.Sample]:
    out = []
    for d, src in zip(drawings, sources):
        x = model_input(d)
        if x is None:
            continue
        strokes = [collection.Stroke(np.column_stack([s, np.ones(len(s))]).astype(np.float32), d.width)
                   for s in d.strokes]
        out.append(collection.Sample(label=d.label, image=to_uint8(x), strokes=strokes,
                                     canvas_size=float(d.canvas_size), source=src))
    return out


def template_chunk(seed: int, chunk: int, start: int, stop: int) -> list[collection.Sample]:
    """Samples start..stop-1 of the template part (sample i is digit i % 10)."""
    rng = split_rng(SPLIT, seed, 1, chunk)
    by_digit = [styles(d) for d in range(10)]
    drawings, sources = [], []
    for i in range(start, stop):
        options = by_digit[i % 10]
        style = options[int(rng.integers(len(options)))]
        d = draw(style, rng, SPLIT, "mixed")
        drawings.append(d)
        sources.append(f"synth:{style}/{d.condition}")
    return _samples_from(drawings, sources)


def mnist_chunk(seed: int, chunk: int, images: np.ndarray, labels: np.ndarray,
                indices: np.ndarray) -> list[collection.Sample]:
    """MNIST *training* digits re-stroked with a round pen under random conditions."""
    rng = split_rng(SPLIT, seed, 2, chunk)
    traced = skeleton.polylines(images)
    drawings, sources = [], []
    for polylines, label, idx in zip(traced, labels, indices):
        d = skeleton.digit_drawing(polylines, int(label), rng, "mixed", style="mnist-train skeleton")
        if d is not None:
            drawings.append(d)
            sources.append(f"mnist-train:{int(idx)}/{d.condition}")
    return _samples_from(drawings, sources)


def generate(n: int, seed: int = 0, mnist_train: int = 0, data_dir: str | Path | None = None,
             workers: int = 1, progress=None) -> list[collection.Sample]:
    """``n`` template drawings plus ``mnist_train`` re-stroked MNIST training digits."""
    jobs = []
    for c, start in enumerate(range(0, n, CHUNK)):
        jobs.append((template_chunk, (seed, c, start, min(n, start + CHUNK))))
    if mnist_train:
        train = load_split(Path(data_dir) if data_dir else paths.datasets_dir(), "mnist", "train")
        pick = split_rng(SPLIT, seed, 3).permutation(len(train.labels))[:mnist_train]
        for c, start in enumerate(range(0, len(pick), CHUNK)):
            idx = pick[start:start + CHUNK]
            jobs.append((mnist_chunk, (seed, c, train.images[idx], train.labels[idx], idx)))
    out: list[collection.Sample] = []
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(workers) as ex:
            futures = [ex.submit(fn, *a) for fn, a in jobs]
            for k, f in enumerate(futures):
                out += f.result()
                if progress:
                    progress(k + 1, len(jobs))
    else:
        for k, (fn, a) in enumerate(jobs):
            out += fn(*a)
            if progress:
                progress(k + 1, len(jobs))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m digitpad.handwriting.synth",
                                 description="Synthetic drawn digits (training split) as a collection .npz.")
    ap.add_argument("--out", required=True, type=Path, help="the .npz to write")
    ap.add_argument("--n", type=int, default=20000, help="template drawings (balanced over digits)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--mnist-train", type=int, default=0, metavar="K",
                    help="also re-stroke K MNIST training digits with a round pen")
    ap.add_argument("--data-dir", help="folder with MNIST/raw (for --mnist-train)")
    ap.add_argument("--workers", type=int, default=1, help="processes (the output does not depend on it)")
    ap.add_argument("--no-strokes", action="store_true", help="images and labels only (smaller file)")
    args = ap.parse_args(argv)
    if args.n < 0 or args.mnist_train < 0:
        ap.error("--n and --mnist-train must be >= 0")
    t0 = time.perf_counter()

    def progress(k, total):
        print(f"\r{k}/{total} chunks", end="", file=sys.stderr, flush=True)

    samples = generate(args.n, args.seed, args.mnist_train, args.data_dir, args.workers, progress)
    print(file=sys.stderr)
    arrays = collection.pack(samples)
    arrays.pop("timestamps")
    arrays.pop("ids")
    if args.no_strokes:
        for k in (*collection.STROKE_KEYS, "stroke_erasers"):
            arrays.pop(k, None)
    collection.save(args.out, arrays)
    counts = np.bincount(arrays["labels"], minlength=10)
    print(f"wrote {len(samples)} digits to {args.out} in {time.perf_counter() - t0:.1f} s "
          f"(per digit {counts.tolist()})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
