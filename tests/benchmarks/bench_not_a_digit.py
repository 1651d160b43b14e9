"""Not a digit: how often the model says "doesn't look like a digit", on non-digits and on real digits.

    .venv/bin/python tests/benchmarks/bench_not_a_digit.py [--model PATH ...] [--per-kind 300]
        [--renderer canvas|numpy] [--seed 0] [--json OUT.json] [--sheet OUT.png]

Both error rates of the answer, on drawings replayed through the real canvas (400 px, then
``to_model_input`` and ``Predictor``, as bench_drawn_digits.py does):

- **non-digits missed** (should be flagged): ``--per-kind`` drawings of each kind of
  ``nondigits.KINDS``, all from the benchmark split: turtle-walk scribbles, scattered marks,
  the shapes' bench variants (and house, smiley, sun, which training never draws), letters of
  the benchmark fonts (training/glyphs.py: Breip, Humor Sans, Rufscript, SteveHand; fonts
  training never saw), two or three held-out (dev) writers' digits side by side;
- **real digits flagged** (should not be): the held-out UNIPEN dev writers as
  bench_real_writers.py draws them, the MNIST test set (10,000 images as they are), and the
  drawn-digit benchmark (bench templates and MNIST test traces, bench_drawn_digits.py).

A model without a calibrated threshold flags nothing; its digit scores are still printed.
Targets (issue 13): >= 90 % of non-digits flagged, <= 1 % of real digits flagged.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OMP_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

from digitpad.core.handwriting import bench, nondigits, unipen  # noqa: E402


def nondigit_set(per_kind: int, seed: int, data_dir: Path) -> list:
    from training import glyphs

    letters = glyphs.render_letters("bench")
    if not letters:
        print(f"bench_not_a_digit: no benchmark fonts installed (apt-get install {glyphs.PACKAGES['bench']}): "
              "no letters", file=sys.stderr)
    dev = unipen.load(unipen.default_path(data_dir), splits=("dev",))
    digits = [(d.label, list(d.strokes)) for d in dev]
    kinds = nondigits.KINDS
    return nondigits.generate(per_kind * len(kinds), "bench", seed, "normal", kinds,
                              letters=nondigits.trace_letters(letters), digits=digits)


def rates(drawings, flagged, scores) -> dict:
    by_kind, by_style = defaultdict(list), defaultdict(list)
    for d, f, s in zip(drawings, flagged, scores):
        by_kind[d.meta["kind"]].append((f, s))
        by_style[d.style if d.meta["kind"] in ("shape", "scribble") else d.meta["kind"]].append((f, s))

    def agg(v):
        return {"flagged": float(np.mean([f for f, _ in v])), "n": len(v),
                "median_score": float(np.median([s for _, s in v]))}

    return {"overall": float(np.mean(flagged)), "n": len(flagged),
            "kind": {k: agg(v) for k, v in sorted(by_kind.items())},
            "style": {k: agg(v) for k, v in sorted(by_style.items())}}


def main(argv=None) -> int:
    from digitpad.core.library import shipped_model_path

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", action="append", type=Path, help="ONNX model (repeatable); default: the shipped model")
    ap.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "datasets")
    ap.add_argument("--per-kind", type=int, default=300, help="non-digits per kind")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--renderer", choices=("canvas", "numpy"), default="canvas")
    ap.add_argument("--no-drawn", action="store_true", help="skip the drawn-digit benchmark's digits (faster)")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--sheet", type=Path, help="PNG of non-digits the first model missed")
    args = ap.parse_args(argv)
    models = args.model or [shipped_model_path()]

    from bench_drawn_digits import mnist_test, replay_numpy, replay_through_canvas
    def replay(drawings):
        return (replay_through_canvas if args.renderer == "canvas" else replay_numpy)(drawings)["mnist"]

    t0 = time.perf_counter()
    nd = nondigit_set(args.per_kind, args.seed, args.data_dir)
    dev = unipen.bench_drawings(unipen.load(unipen.default_path(args.data_dir), splits=("dev",)), args.seed)
    test = mnist_test(args.data_dir)
    drawn = [] if args.no_drawn else (bench.template_drawings(args.seed, 8)
                                      + bench.mnist_drawings(test.images, test.labels, args.seed, 50))
    x_nd, x_dev, x_drawn = replay(nd), replay(dev), replay(drawn) if drawn else np.zeros((0, 1, 28, 28), np.float32)
    x_mnist = test.images.astype(np.float32)[:, None] / 255.0
    print(f"{len(nd)} non-digits, {len(dev)} dev-writer digits, {len(drawn)} drawn digits replayed "
          f"({args.renderer}) in {time.perf_counter() - t0:.1f} s", file=sys.stderr)

    from digitpad.core.inference import Predictor

    results = {}
    for k, path in enumerate(models):
        p = Predictor(path)
        out = {"calibrated": p.not_digit_rule is not None,
               "threshold": p.not_digit_rule.threshold if p.not_digit_rule else None}
        _, s_nd, f_nd = p.score_batch(x_nd)
        out["nondigits"] = rates(nd, f_nd, s_nd)
        for name, xs, labels in (("dev writers", x_dev, [d.label for d in dev]), ("MNIST test", x_mnist, test.labels),
                                 ("drawn digits", x_drawn, [d.label for d in drawn])):
            if not len(xs):
                continue
            probs, s, f = p.score_batch(xs)
            right = probs.argmax(1) == np.asarray(labels)
            out[name] = {"flagged": float(f.mean()), "n": len(f), "flagged_when_right": float(f[right].mean()),
                         "flagged_when_wrong": float(f[~right].mean()) if (~right).any() else float("nan"),
                         "score_q01": float(np.quantile(s, 0.01)), "score_median": float(np.median(s))}
        results[str(path)] = out
        thr = f"threshold {out['threshold']:.3f}" if out["calibrated"] else "no calibrated threshold: flags nothing"
        print(f"== {path}  ({thr})")
        n = out["nondigits"]
        print(f"non-digits flagged: {n['overall']:.2%} of {n['n']}  (missed {1 - n['overall']:.2%})")
        for kind, v in n["kind"].items():
            print(f"    {kind:<22} {v['flagged']:7.2%}  (n={v['n']}, median score {v['median_score']:.2f})")
        print("  per shape / scribble style:")
        for style, v in n["style"].items():
            if ":" in style:
                print(f"    {style:<22} {v['flagged']:7.2%}  (n={v['n']}, median score {v['median_score']:.2f})")
        for name in ("dev writers", "MNIST test", "drawn digits"):
            if name in out:
                v = out[name]
                print(f"real digits flagged, {name:<13} {v['flagged']:7.2%} of {v['n']}  (when read right "
                      f"{v['flagged_when_right']:.2%}, when misread {v['flagged_when_wrong']:.2%}; score 1st "
                      f"percentile {v['score_q01']:.2f}, median {v['score_median']:.2f})")
        if args.sheet and k == 0:
            save_missed(args.sheet, x_nd, nd, f_nd)
    if args.json:
        args.json.write_text(json.dumps({"per_kind": args.per_kind, "seed": args.seed, "renderer": args.renderer,
                                         "results": results}, indent=1))
    return 0


def save_missed(path: Path, xs, drawings, flagged, limit: int = 300) -> None:
    from PIL import Image

    bad = [i for i, f in enumerate(flagged) if not f][:limit]
    if not bad:
        return
    cols = 20
    rows = (len(bad) + cols - 1) // cols
    sheet = np.zeros((rows * 30, cols * 30), np.uint8)
    for k, i in enumerate(bad):
        r, c = divmod(k, cols)
        sheet[r * 30 + 1:r * 30 + 29, c * 30 + 1:c * 30 + 29] = np.rint(xs[i, 0] * 255)
    Image.fromarray(sheet).resize((sheet.shape[1] * 2, sheet.shape[0] * 2), Image.NEAREST).save(path)
    with open(path.with_suffix(".txt"), "w") as f:
        for k, i in enumerate(bad):
            f.write(f"{k:3d} {drawings[i].style}\n")


if __name__ == "__main__":
    raise SystemExit(main())
