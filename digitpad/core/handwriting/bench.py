"""The drawn-digit benchmark set and its scoring, and a simulated writer with an unusual hand
(Qt-free; the replay through the real canvas is in tests/benchmarks/bench_drawn_digits.py).

What is in it, and why it is apart from anything trained on:

- **style templates**: every style's ``"bench"`` variants (geometry no training variant
  has), drawn ``per_cell`` times under each condition in :data:`CONDITIONS` (normal,
  thin pen, thick pen, small, off-centre), from ``split_rng("bench", seed, crc32(style),
  condition)``;
- **MNIST test skeletons**: ``per_class`` digits per class picked from the MNIST *test*
  set (``split_rng("bench", seed, ...)``), thinned, traced and re-stroked with a uniform
  round pen, conditions in turn. Training uses MNIST's training set only.
"""
from __future__ import annotations

import zlib
from collections import Counter
from dataclasses import dataclass

import numpy as np

from . import skeleton
from .strokes import CANVAS_SIZE, CONDITIONS, C, Drawing, Hand, arc, draw, realise, split_rng, styles, variants

BENCH_CONDITIONS = tuple(CONDITIONS)   # normal, thin, thick, small, offcentre
MNIST_STYLE = "mnist-test skeleton"


def _key(text: str) -> int:
    return zlib.crc32(text.encode())


def template_drawings(seed: int = 0, per_cell: int = 16, canvas_size: int = CANVAS_SIZE) -> list[Drawing]:
    """Every style x every condition, ``per_cell`` drawings each, from the bench variants."""
    out = []
    for style in styles():
        nv = len(variants(style, "bench"))
        for cond in BENCH_CONDITIONS:
            rng = split_rng("bench", seed, _key(style), _key(cond))
            for k in range(per_cell):
                out.append(draw(style, rng, "bench", cond, canvas_size, variant=k % nv))
    return out


def mnist_drawings(images: np.ndarray, labels: np.ndarray, seed: int = 0, per_class: int = 100,
                   canvas_size: int = CANVAS_SIZE) -> list[Drawing]:
    """``per_class`` MNIST *test* digits per class, traced and placed under each condition in turn.
    Pass the test split: this is a benchmark set."""
    rng = split_rng("bench", seed, _key(MNIST_STYLE))
    labels = np.asarray(labels)
    picks = np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:per_class] for c in range(10)])
    traced = skeleton.polylines(np.asarray(images)[picks])
    out = []
    for i, (idx, paths) in enumerate(zip(picks, traced)):
        d = skeleton.digit_drawing(paths, int(labels[idx]), rng, BENCH_CONDITIONS[i % len(BENCH_CONDITIONS)],
                                   canvas_size, style=MNIST_STYLE)
        if d is not None:
            d.meta["mnist_test_index"] = int(idx)
            out.append(d)
    return out


@dataclass
class Score:
    correct: int = 0
    total: int = 0

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else float("nan")


def summarise(drawings: list[Drawing], preds: np.ndarray) -> dict:
    """Accuracy overall, per class, per style, per condition, per source; worst confusions."""
    preds = np.asarray(preds)
    groups: dict[str, dict[str, Score]] = {"class": {}, "style": {}, "condition": {}, "source": {}}
    overall = Score()
    confusions: Counter = Counter()
    for d, p in zip(drawings, preds):
        ok = int(p) == d.label
        source = "mnist-test skeletons" if d.style == MNIST_STYLE else "style templates"
        for group, key in (("class", str(d.label)), ("style", d.style), ("condition", d.condition),
                           ("source", source)):
            s = groups[group].setdefault(key, Score())
            s.correct += ok
            s.total += 1
        overall.correct += ok
        overall.total += 1
        if not ok:
            confusions[(d.label, int(p))] += 1
    per_class = [groups["class"][str(c)].accuracy for c in range(10) if str(c) in groups["class"]]
    return {
        "overall": overall.accuracy,
        "n": overall.total,
        "class_balanced": float(np.mean(per_class)) if per_class else float("nan"),
        "min_class": float(np.min(per_class)) if per_class else float("nan"),
        **{g: {k: {"accuracy": s.accuracy, "n": s.total} for k, s in sorted(v.items())} for g, v in groups.items()},
        "confusions": [{"true": t, "pred": p, "count": n} for (t, p), n in confusions.most_common()],
    }


def format_report(summary: dict, title: str = "", top_confusions: int = 12) -> str:
    lines = [title] if title else []
    lines.append(f"overall {summary['overall'] * 100:.2f}% of {summary['n']}   class-balanced "
                 f"{summary['class_balanced'] * 100:.2f}%   worst class {summary['min_class'] * 100:.2f}%")
    for group in ("source", "class", "condition", "style"):
        lines.append(f"  per {group}:")
        for key, v in summary[group].items():
            lines.append(f"    {key:<24} {v['accuracy'] * 100:6.2f}%  (n={v['n']})")
    conf = summary["confusions"][:top_confusions]
    if conf:
        lines.append("  worst confusions (true -> predicted: count): "
                     + ", ".join(f"{c['true']}->{c['pred']}: {c['count']}" for c in conf))
    return "\n".join(lines)


# -- a simulated writer (test and benchmark) ---------------------------------------------------
# One form per digit, as a real person writes each digit one way, in a heavy backhand slant
# (leaning left about 40 degrees: beyond the engine's augmentation and the templates' variation),
# wide letters and a thin pen. Five forms of this writer's own, which no template has: a
# slashed zero, a 1 with a long flag and a foot, a closed 4 with a flat top-left corner, a 7
# with a hook and a crossbar, a 9 with a g-like tail; the other digits use "bench" template
# variants (geometry no training data of the shipped model was drawn from).
UNUSUAL_FORMS = {0: "0 oval", 1: "1 european", 2: "2 loop", 3: "3 flat top", 4: "4 closed", 5: "5 one stroke",
                 6: "6 straight stem", 7: "7 crossbar", 8: "8 two loops", 9: "9 curved stem"}


def _unusual_templates() -> dict:
    return {
        0: [arc(.30, .5, .30, .5, 0, -370), [(.60, .05), (0, .95)]],
        1: [[(-.40, .40), C(.02, 0), (0, 1)], [(-.25, 1), (.25, 1)]],
        4: [[(.40, 0), C(0, .62), C(.62, .62)], [(.40, 0), (.40, 1)]],
        7: [[(0, .20), C(.02, 0), C(.60, .02), (.35, .50), (.25, 1)], [(.15, .52), (.58, .50)]],
        9: [[*arc(.28, .25, .26, .24, 20, -250), C(.54, .34), (.52, .75), (.40, .98), (.20, .95), (.10, .85)]],
    }


def unusual_hand():
    return Hand(stroke_shift=0.02, warp=0.035, aspect=(1.5, 1.7), slant=(-0.95, -0.85), rotate_deg=4.0,
                wobble=0.010)


def unusual_writer(per_digit: int, seed: int, canvas_size: int = 400, condition: str = "thin") -> list:
    """``per_digit`` drawings of each digit (strokes.Drawing, canvas pixels) by one simulated
    writer with an unusual style; different seeds give different drawings by the same writer."""
    hand, own = unusual_hand(), _unusual_templates()
    out = []
    for d in range(10):
        rng = split_rng("bench", 0x5717E, seed, d)
        for _ in range(per_digit):
            if d in own:
                out.append(realise(own[d], d, rng, condition, canvas_size, hand, style=f"writer {d}"))
            else:
                out.append(draw(UNUSUAL_FORMS[d], rng, "bench", condition, canvas_size, hand, variant=0))
    return out
