"""The drawn-digit benchmark set and its scoring (Qt-free; the replay through the real
canvas is in tests/benchmarks/bench_drawn_digits.py).

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
from .strokes import CANVAS_SIZE, CONDITIONS, Drawing, draw, split_rng, styles, variants

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
