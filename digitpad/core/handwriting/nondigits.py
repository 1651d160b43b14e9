"""Drawings that are not digits: for outlier exposure in training and for the not-a-digit benchmark.

Kinds (:data:`KINDS`), each drawn as pen strokes on the canvas like a digit (a random hand,
size, pen and position from strokes.CONDITIONS):

- ``scribble``: one tangled stroke, or back-and-forth hatching (ink no digit has);
- ``strokes``: several short, unrelated marks scattered about;
- ``shape``: geometric shapes from :data:`SHAPES`. Only shapes no one would read as a digit:
  no circle or upright oval (a 0), no vertical or slanted bar (a 1), no open hook;
- ``letter``: a letter's skeleton (:func:`trace_letters`) re-stroked with a round pen. The
  glyph bitmaps come from the caller (``training/glyphs.py`` renders handwriting fonts with Pillow, different fonts
  for training and for the benchmark); letters that are digits in disguise are not used
  (:data:`LETTERS` says which and why);
- ``digits``: two or three digits side by side, from single digits the caller gives.

Training and benchmark never share a drawing, in the spirit of the stroke templates'
split: every random stream comes from ``strokes.split_rng(split, ...)``; shapes have
separate "train" and "bench" variants (and the bench has shape families training never
draws); scribbles in the bench are turtle walks, in training curves through random points;
letters come from different fonts; the "digits" kind is given training writers' and
template digits for training and held-out writers' digits for the benchmark.

Non-digits carry the label :data:`NOT_DIGIT` (-1): the engine trains them towards a uniform
distribution over the 10 classes.
"""
from __future__ import annotations

import zlib

import numpy as np

from . import skeleton
from .strokes import CANVAS_SIZE, C, Drawing, Hand, arc, place, realise, split_rng

NOT_DIGIT = -1
KINDS = ("scribble", "strokes", "shape", "letter", "digits")

# Letters a reader would not take for a digit. Left out, as digits in disguise: O o Q D (a 0),
# I l i | J j (a 1, or a 1 with a hook), S s (5), Z z (2), B (8), b G (6), g q y (9 or 4), and a
# (single-storey, it is a closed loop with a stub in several fonts: a 0).
LETTERS = "ACEFHKLMNPRTUVWXY" + "cdefhkmnprtuvwx"

# Shape templates in the unit box (height 1, y down), as digit templates are (strokes.py):
# a stroke is a list of control points joined smoothly, C(x, y) marks a corner.
SHAPES: dict[str, dict[str, list]] = {
    "triangle": {
        "train": [[[C(.5, 0), C(1, .9), C(0, .9), C(.5, 0)]], [[C(0, 0), C(1, 0), C(.5, .9), C(0, 0)]]],
        "bench": [[[C(0, 0), C(0, 1), C(.9, 1), C(0, 0)]]],
    },
    "square": {
        "train": [[[C(0, 0), C(1, 0), C(1, 1), C(0, 1), C(0, 0)]],
                  [[C(0, 0), C(1, 0), C(1, 1)], [C(0, 0), C(0, 1), C(1, 1)]]],
        "bench": [[[C(.5, 0), C(1, .5), C(.5, 1), C(0, .5), C(.5, 0)]]],                  # a diamond
    },
    "polygon": {
        "train": [[[C(.5, 0), C(1, .38), C(.82, 1), C(.18, 1), C(0, .38), C(.5, 0)]],                  # pentagon
                  [[C(.25, 0), C(.75, 0), C(1, .5), C(.75, 1), C(.25, 1), C(0, .5), C(.25, 0)]],       # hexagon
                  [[C(.3, 0), C(1, 0), C(.7, 1), C(0, 1), C(.3, 0)]]],                                  # parallelogram
        "bench": [[[C(.25, 0), C(.75, 0), C(1, .8), C(0, .8), C(.25, 0)]]],    # a trapezoid (an octagon is a 0)
    },
    "star": {
        "train": [[[C(.5, 0), C(.8, 1), C(0, .35), C(1, .35), C(.2, 1), C(.5, 0)]]],
        "bench": [[[C(.5, 0), C(.95, .75), C(.05, .75), C(.5, 0)], [C(.5, 1), C(.05, .25), C(.95, .25), C(.5, 1)]]],
    },
    "cross": {
        "train": [[[(0, 0), (1, 1)], [(1, 0), (0, 1)]], [[(.5, 0), (.5, 1)], [(0, .5), (1, .5)]]],
        "bench": [[[(.1, 0), (.9, 1)], [(.9, 0), (.1, 1)], [(0, .5), (1, .5)]]],           # an asterisk
    },
    "hash": {
        "train": [[[(.3, 0), (.25, 1)], [(.7, 0), (.65, 1)], [(0, .3), (1, .3)], [(0, .7), (1, .7)]]],
        "bench": [[[(.35, 0), (.35, 1)], [(.65, 0), (.65, 1)], [(0, .35), (1, .35)], [(0, .65), (1, .65)]]],
    },
    "heart": {
        "train": [[[(.5, .25), (.3, 0), (.05, .1), (.08, .45), C(.5, 1), (.92, .45), (.95, .1), (.7, 0), (.5, .25)]]],
        "bench": [[[C(.5, .3), (.25, 0), (0, .25), C(.5, 1)], [C(.5, .3), (.75, 0), (1, .25), C(.5, 1)]]],
    },
    "arrow": {
        "train": [[[(0, .5), C(1, .5)], [(.7, .2), C(1, .5), (.7, .8)]]],
        "bench": [[[(.5, 1), C(.5, 0)], [(.2, .3), C(.5, 0), (.8, .3)]]],                   # pointing up
    },
    "zigzag": {
        "train": [[[C(0, .8), C(.2, .2), C(.4, .8), C(.6, .2), C(.8, .8), C(1, .2)]]],
        "bench": [[[(0, .5), (.12, .2), (.25, .5), (.37, .8), (.5, .5), (.62, .2), (.75, .5), (.87, .8), (1, .5)]]],
    },
    "lines": {
        "train": [[[(0, .5), (1, .5)]], [[(0, .35), (1, .35)], [(0, .65), (1, .65)]]],
        "bench": [[[(0, .3), (1, .3)], [(0, .5), (1, .5)], [(0, .7), (1, .7)]]],            # three bars
    },
    "spiral": {
        "train": [[arc(.5, .5, .5, .5, 0, -1000, shrink=.85)]],
        "bench": [[arc(.5, .5, .5, .5, 90, 1080, shrink=.8)]],
    },
    # Families only the benchmark draws: does the score generalise beyond what was trained?
    "house": {
        "bench": [[[C(0, .4), C(0, 1), C(1, 1), C(1, .4), C(0, .4), C(.5, 0), C(1, .4)]]],
    },
    "smiley": {
        "bench": [[arc(.5, .5, .5, .5, 0, 360), [(.33, .35), (.34, .38)], [(.66, .35), (.67, .38)],
                   arc(.5, .55, .25, .2, 120, 240)]],
    },
    "sun": {
        "bench": [[arc(.5, .5, .22, .22, 0, 360), [(.5, 0), (.5, .18)], [(.5, .82), (.5, 1)], [(0, .5), (.18, .5)],
                   [(.82, .5), (1, .5)], [(.15, .15), (.28, .28)], [(.72, .72), (.85, .85)],
                   [(.85, .15), (.72, .28)], [(.28, .72), (.15, .85)]]],
    },
}

# Shapes are drawn by the same kind of hand as digits, a little less wobbly.
SHAPE_HAND = Hand(stroke_shift=0.02, warp=0.035, aspect=(0.8, 1.25), slant=(-0.15, 0.15), rotate_deg=10.0)
LETTER_HAND = Hand(stroke_shift=0.0, warp=0.02, aspect=(0.85, 1.15), slant=(-0.1, 0.2), rotate_deg=6.0,
                   wobble=0.005)


def _key(text: str) -> int:
    return zlib.crc32(text.encode())


def shape_names(split: str) -> list[str]:
    return [name for name, v in SHAPES.items() if v.get(split)]


# -- the kinds, each as polylines in a box about 1 high (y down) --------------------------------
def scribble(rng: np.random.Generator, split: str) -> tuple[str, list]:
    """A tangled stroke, or hatching. Training: a smooth curve through random points; the
    benchmark: a turtle walk that keeps turning. Hatching in both, in different proportions."""
    if rng.uniform() < 0.3:
        rows = int(rng.integers(6, 11) if split == "train" else rng.integers(7, 13))  # 4-5 rows draw a Z or a 3
        w = rng.uniform(0.6, 1.4)
        ys = np.linspace(0, 1, rows)
        pts = [(w * (i % 2) + rng.normal(0, 0.04), y) for i, y in enumerate(ys)]
        return "hatch", [[C(x, y) for x, y in pts]]
    if split == "train":
        n = int(rng.integers(6, 16))
        pts = rng.uniform(0, 1, (n, 2)) * [rng.uniform(0.6, 1.4), 1]
        return "tangle", [[tuple(p) for p in pts]]
    n = int(rng.integers(80, 200))
    turn = np.cumsum(rng.normal(0, rng.uniform(0.4, 0.9), n))   # a random walk of the heading: it wanders
    steps = np.column_stack([np.cos(turn), np.sin(turn)]) * 0.04
    pts = np.cumsum(steps, axis=0)
    return "walk", [[tuple(p) for p in pts[::3]]]


def random_strokes(rng: np.random.Generator, split: str) -> tuple[str, list]:
    """3 to 7 short marks (lines and small arcs) scattered over a box."""
    k = int(rng.integers(3, 8))
    out = []
    for _ in range(k):
        c = rng.uniform(0, 1, 2) * [1.3, 1]
        if rng.uniform() < 0.5:
            d = rng.normal(0, 1, 2)
            d *= rng.uniform(0.1, 0.35) / max(np.hypot(*d), 1e-9)
            out.append([tuple(c - d), tuple(c + d)])
        else:
            r = rng.uniform(0.05, 0.18)
            a0 = rng.uniform(0, 360)
            out.append(arc(c[0], c[1], r, r, a0, a0 + rng.uniform(90, 240) * rng.choice([-1, 1])))
    return "marks", out


def shape(rng: np.random.Generator, split: str) -> tuple[str, list]:
    names = shape_names(split)
    name = names[int(rng.integers(len(names)))]
    vs = SHAPES[name][split]
    return name, vs[int(rng.integers(len(vs)))]


def trace_letters(glyphs: list[tuple[str, np.ndarray]]) -> list[tuple[str, list[np.ndarray]]]:
    """Letter bitmaps (name, 28x28 white on black) -> (name, skeleton strokes in bitmap pixels,
    y down), traced once: tracing costs ~20x drawing. Letters that trace to nothing are dropped."""
    if not glyphs:
        return []
    traced = skeleton.polylines(np.stack([np.asarray(g, dtype=np.float64) for _, g in glyphs]))
    return [(name, paths) for (name, _), paths in zip(glyphs, traced) if paths]


def side_by_side(digits: list[list[np.ndarray]], rng: np.random.Generator) -> list[np.ndarray]:
    """Digits (each a list of polylines, any units, y down) written left to right on one line:
    each scaled to about the same height, a gap of 5-60 % of that height, a little up and down."""
    out, x = [], 0.0
    for strokes in digits:
        allp = np.vstack(strokes)
        h = max(float(np.ptp(allp[:, 1])), 1e-9)
        s = rng.uniform(0.85, 1.15) / h
        pts = [(p - allp.min(0)) * s for p in strokes]
        width = float(np.ptp(allp[:, 0])) * s
        dy = rng.normal(0, 0.06)
        out += [p + [x, dy] for p in pts]
        x += width + rng.uniform(0.05, 0.6)
    return out


# -- drawings ---------------------------------------------------------------------------------
def _as_template(polys) -> list:
    """Traced polylines (bitmap pixels) as a template about 1 high, the unit the hand's warp
    and tremor are measured in."""
    h = max(float(np.ptp(np.vstack(polys)[:, 1])), 1e-9)
    return [[tuple(p) for p in np.asarray(poly, dtype=np.float64) / h] for poly in polys]


def drawing(kind: str, rng: np.random.Generator, split: str, condition: str = "mixed",
            letters: list[tuple[str, list[np.ndarray]]] | None = None,
            digits: list[tuple[int, list[np.ndarray]]] | None = None,
            canvas_size: int = CANVAS_SIZE) -> Drawing | None:
    """One non-digit of ``kind``. ``letters``: (name, strokes) traced letters to pick from (kind
    "letter", see :func:`trace_letters`); ``digits``: (label, polylines) single digits to put side
    by side (kind "digits"). None when the kind needs material that was not given."""
    if kind == "scribble":
        name, template = scribble(rng, split)
        d = realise(template, NOT_DIGIT, rng, condition, canvas_size, Hand(stroke_shift=0.0), fit="longer")
    elif kind == "strokes":
        name, template = random_strokes(rng, split)
        d = realise(template, NOT_DIGIT, rng, condition, canvas_size, Hand(stroke_shift=0.0, warp=0.02), fit="longer")
    elif kind == "shape":
        name, template = shape(rng, split)
        d = realise(template, NOT_DIGIT, rng, condition, canvas_size, SHAPE_HAND, fit="longer")
    elif kind == "letter":
        if not letters:
            return None
        name, paths = letters[int(rng.integers(len(letters)))]
        d = realise(_as_template(paths), NOT_DIGIT, rng, condition, canvas_size, LETTER_HAND, fit="longer")
    elif kind == "digits":
        if not digits:
            return None
        k = 2 if rng.uniform() < 0.8 else 3
        picks = [digits[int(i)] for i in rng.integers(len(digits), size=k)]
        name = "".join(str(label) for label, _ in picks)
        d = place(side_by_side([p for _, p in picks], rng), NOT_DIGIT, rng, condition, canvas_size, fit="longer")
    else:
        raise ValueError(f"unknown kind {kind!r}; expected one of {KINDS}")
    d.style, d.label = f"{kind}:{name}", NOT_DIGIT
    d.meta["kind"] = kind
    return d


def generate(n: int, split: str, seed: int = 0, condition: str = "mixed", kinds: tuple[str, ...] = KINDS,
             letters=None, digits=None, canvas_size: int = CANVAS_SIZE, start: int = 0) -> list[Drawing]:
    """Drawings ``start .. start + n - 1`` of a sequence that cycles through ``kinds``; drawing i
    comes from its own stream ``split_rng(split, seed, crc32("nondigit"), i)``, so any slice of
    the sequence can be made alone (in parallel) and gives the same drawings. Kinds that lack
    their material (no letters, no digits) are skipped."""
    usable = [k for k in kinds if (k != "letter" or letters) and (k != "digits" or digits)]
    out = []
    for i in range(start, start + n):
        rng = split_rng(split, seed, _key("nondigit"), i)
        d = drawing(usable[i % len(usable)], rng, split, condition, letters, digits, canvas_size)
        if d is not None:
            out.append(d)
    return out
