"""Drawn-digit benchmark: digits replayed as pen strokes through the real canvas.

    .venv/bin/python tests/benchmarks/bench_drawn_digits.py [--model PATH ...] [--seed 0]
        [--per-cell 8] [--per-class 100] [--renderer canvas|numpy] [--json OUT.json] [--failures OUT.png]

Each drawing takes the path a user's drawing takes: ``DrawingCanvas.draw_stroke`` on a
canvas of the app's size (400 px), ``canvas.to_array()``, the model's own preprocessing
(``preprocess.to_model_input`` for a 28x28 model, ``to_optdigits_input`` for an 8x8 one, as
``Predictor.to_model_input`` picks), ``inference.Predictor``. The set (see
digitpad/core/handwriting/bench.py) is 25 styles' held-out "bench" template variants x 5
conditions (normal, thin, thick, small, off-centre) plus MNIST *test* digits traced from
their skeletons and re-stroked with a round pen. Seeded:
the same arguments give the same drawings and the same figures.

Prints accuracy overall, per class, per condition and per style, and the worst
confusions; ``--json`` writes the same as JSON. Several ``--model``s share one replay.
Asserts nothing: it measures (the targets are >= 97% overall, no class below 90%).

Apart from that set, ``--short-sevens N`` (default 200) draws N sevens with a short top
(the bar 22-40 % of the height, the stem slanting back under it: the shipped model's most
common MNIST test error was such a 7 read as 1) from the benchmark's random stream, and
prints how many read as 7 and how many as 1; with a model that has a not-a-digit threshold,
how many of the whole set it calls not a digit.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OMP_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from digitpad.core.handwriting import bench  # noqa: E402
from digitpad.core.handwriting.strokes import CANVAS_SIZE  # noqa: E402


def short_top_sevens(n: int, seed: int = 0) -> list:
    """Sevens with a short, level top: (0, t) -> corner (w, 0) -> (w - s, 1), w in 0.22..0.40 of the
    height, drawn by a hand with little rotation, under the benchmark's conditions in turn."""
    from digitpad.core.handwriting.strokes import C, Hand, realise, split_rng

    rng = split_rng("bench", seed, bench._key("7 short top"))
    hand = Hand(slant=(-0.05, 0.25), rotate_deg=4.0)
    out = []
    for i in range(n):
        w = rng.uniform(0.22, 0.40)
        template = [[(0, rng.uniform(-0.02, 0.05)), C(w, 0), (w - rng.uniform(0.10, 0.35), 1)]]
        d = realise(template, 7, rng, bench.BENCH_CONDITIONS[i % len(bench.BENCH_CONDITIONS)], hand=hand,
                    style="7 short top")
        out.append(d)
    return out


def _inputs(images, n: int, preprocessings) -> dict[str, np.ndarray]:
    """{preprocessing name: [N, 1, size, size]} from an iterator of drawn canvas arrays."""
    from digitpad.core.contract import PREPROCESSING_SIZES
    from digitpad.core.preprocess import PREPROCESSINGS

    xs = {name: np.zeros((n, 1, PREPROCESSING_SIZES[name], PREPROCESSING_SIZES[name]), np.float32)
          for name in preprocessings}
    for i, img in enumerate(images):
        for name in preprocessings:
            x = PREPROCESSINGS[name](img)
            if x is not None:
                xs[name][i] = x[0]
    return xs


def replay_through_canvas(drawings, preprocessings=("mnist",)) -> dict[str, np.ndarray]:
    """Model inputs per preprocessing, each digit drawn stroke by stroke on the app's canvas widget."""
    from PySide6.QtWidgets import QApplication

    from digitpad.gui.canvas import DrawingCanvas

    app = QApplication.instance() or QApplication([])  # noqa: F841 (the canvas needs one)
    canvas = DrawingCanvas(size=CANVAS_SIZE)

    def drawn():
        for d in drawings:
            canvas.clear()
            for s in d.strokes:
                canvas.draw_stroke(s, width=d.width)
            yield canvas.to_array()

    return _inputs(drawn(), len(drawings), preprocessings)


def replay_numpy(drawings, preprocessings=("mnist",)) -> dict[str, np.ndarray]:
    from digitpad.core.handwriting.raster import render

    return _inputs((render(d) for d in drawings), len(drawings), preprocessings)


def mnist_test(data_dir: Path):
    from digitpad.core.datasets import load_split  # numpy-only IDX reader (no torch)

    return load_split(data_dir, "mnist", "test")


def save_failures(path: Path, xs, drawings, preds, limit: int = 200) -> None:
    from PySide6.QtGui import QImage

    bad = [i for i, (d, p) in enumerate(zip(drawings, preds)) if d.label != p][:limit]
    if not bad:
        return
    cols, side = 20, xs.shape[-1]
    zoom = max(1, 28 // side)      # 8x8 inputs drawn as 24x24 blocks
    cell = side * zoom + 2
    rows = (len(bad) + cols - 1) // cols
    sheet = np.zeros((rows * cell, cols * cell), np.uint8)
    for k, i in enumerate(bad):
        r, c = divmod(k, cols)
        big = np.kron(xs[i, 0], np.ones((zoom, zoom), np.float32))
        sheet[r * cell + 1:r * cell + cell - 1, c * cell + 1:c * cell + cell - 1] = np.rint(big * 255)
    img = QImage(sheet.data, sheet.shape[1], sheet.shape[0], sheet.shape[1], QImage.Format_Grayscale8)
    img.scaled(sheet.shape[1] * 3, sheet.shape[0] * 3).save(str(path))
    with open(path.with_suffix(".txt"), "w") as f:
        for k, i in enumerate(bad):
            d = drawings[i]
            f.write(f"{k:3d} true {d.label} pred {preds[i]}  {d.style} / {d.condition} / {d.meta}\n")


def main(argv=None) -> int:
    from digitpad.core.library import shipped_model_path

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", action="append", type=Path, help="ONNX model (repeatable); default: the shipped model")
    ap.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "datasets",
                    help="folder with MNIST/raw (the test split is traced)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--per-cell", type=int, default=16, help="drawings per style and condition")
    ap.add_argument("--per-class", type=int, default=100, help="MNIST test digits traced per class (0: none)")
    ap.add_argument("--renderer", choices=("canvas", "numpy"), default="canvas",
                    help="canvas: the real DrawingCanvas (default); numpy: handwriting.raster (faster)")
    ap.add_argument("--json", type=Path, help="write the figures here")
    ap.add_argument("--failures", type=Path, help="PNG sheet of misread inputs (first model), with a .txt index")
    ap.add_argument("--short-sevens", type=int, default=200, help="sevens with a short top to draw apart (0: none)")
    args = ap.parse_args(argv)
    models = args.model or [shipped_model_path()]
    from digitpad.core.inference import Predictor

    predictors = [Predictor(path) for path in models]
    preprocessings = sorted({p.preprocessing for p in predictors})

    t0 = time.perf_counter()
    drawings = bench.template_drawings(args.seed, args.per_cell)
    if args.per_class:
        test = mnist_test(args.data_dir)
        drawings += bench.mnist_drawings(test.images, test.labels, args.seed, args.per_class)
    t1 = time.perf_counter()
    inputs = (replay_through_canvas if args.renderer == "canvas" else replay_numpy)(drawings, preprocessings)
    t2 = time.perf_counter()
    print(f"{len(drawings)} drawings: built in {t1 - t0:.1f} s, replayed ({args.renderer}; "
          f"{', '.join(preprocessings)} preprocessing) in {t2 - t1:.1f} s", file=sys.stderr)
    sevens = short_top_sevens(args.short_sevens, args.seed) if args.short_sevens else []
    x7 = (replay_through_canvas if args.renderer == "canvas" else replay_numpy)(sevens)["mnist"] if sevens else None

    from digitpad.core.inference import Predictor

    results = {}
    for k, (path, p) in enumerate(zip(models, predictors)):
        xs = inputs[p.preprocessing]
        preds = np.concatenate([p.predict_batch(xs[i:i + 512]).argmax(1) for i in range(0, len(xs), 512)])
        summary = bench.summarise(drawings, preds)
        summary["model"] = str(path)
        summary["preprocessing"] = p.preprocessing
        if p.metadata and p.metadata.metrics:
            summary["model_test_accuracy"] = p.metadata.metrics.get("test_accuracy")
        if p.not_digit_rule is not None:
            flagged = np.concatenate([p.score_batch(xs[i:i + 512])[2] for i in range(0, len(xs), 512)])
            summary["not_digit"] = float(flagged.mean())
        if x7 is not None:
            p7 = p.predict_batch(x7).argmax(1)
            summary["short_top_sevens"] = {"as_7": float((p7 == 7).mean()), "as_1": float((p7 == 1).mean()),
                                           "n": len(p7)}
        results[str(path)] = summary
        mt = summary.get("model_test_accuracy")
        dataset = p.metadata.dataset if p.metadata else "its"
        title = (f"== {path} ({p.input_size}x{p.input_size}, {p.preprocessing} preprocessing)"
                 + (f"  ({dataset} test accuracy in its metadata: {mt * 100:.2f}%)" if mt else ""))
        print(bench.format_report(summary, title))
        if "not_digit" in summary:
            print(f"  called not a digit: {summary['not_digit']:.2%} of these {len(xs)} digits")
        if x7 is not None:
            s7 = summary["short_top_sevens"]
            print(f"  sevens with a short top: {s7['as_7']:.1%} read as 7, {s7['as_1']:.1%} as 1 (n={s7['n']})")
        if args.failures and k == 0:
            save_failures(args.failures, xs, drawings, preds)
    if args.json:
        args.json.write_text(json.dumps({"seed": args.seed, "per_cell": args.per_cell, "per_class": args.per_class,
                                         "renderer": args.renderer, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
