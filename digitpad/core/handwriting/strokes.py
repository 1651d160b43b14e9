"""Digits as pen strokes: style templates and the random variation of a human hand.

A *template* is a digit drawn in a unit box (height 1, y down, x right, width about
0.6) as a list of strokes; a stroke is a list of control points joined by smooth
Catmull-Rom curves, where a point written ``(x, y, 1)`` is a corner. Every *style*
(European 1, 7 with crossbar, one-stroke 4, ...) has several variants with different
geometry, each tagged with the split it belongs to:

- ``"train"`` variants may be used to make training data (``synth.py``);
- ``"bench"`` variants are used only by the drawn-digit benchmark.

``draw(style, rng, split, condition, ...)`` turns one of a style's ``split`` variants into a
:class:`Drawing`:
canvas-pixel polylines sampled like mouse events, after random per-stroke placement
error, a smooth warp, aspect, slant, rotation, wobble, size, position and pen width.
The random streams of the two splits never meet: :func:`split_rng` seeds from
``SeedSequence([SPLIT_TAG[split], seed])``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SPLITS = ("train", "bench")
SPLIT_TAG = {"train": 0x7A11, "bench": 0xBE4C}   # first word of every SeedSequence: streams never overlap
CANVAS_SIZE = 400  # the app's canvas (digitpad.workbench.CANVAS_SIZE); drawings scale with the size given


def split_rng(split: str, *seed: int) -> np.random.Generator:
    """The random stream for ``split``; no seed of one split can reproduce the other's."""
    if split not in SPLIT_TAG:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    return np.random.default_rng(np.random.SeedSequence([SPLIT_TAG[split], *[int(s) for s in seed]]))


# -- template geometry -------------------------------------------------------------------------
def arc(cx, cy, rx, ry, a0, a1, step=30.0, shrink=0.0):
    """Points on an ellipse from angle a0 to a1 (degrees; 0 = top, 90 = right, so a
    decreasing angle runs anticlockwise on screen). ``shrink`` spirals the radius in."""
    n = max(2, int(np.ceil(abs(a1 - a0) / step)) + 1)
    a = np.linspace(a0, a1, n)
    r = 1.0 - shrink * np.linspace(0, 1, n)
    t = np.radians(a)
    return [(float(cx + rx * ri * np.sin(ti)), float(cy - ry * ri * np.cos(ti))) for ti, ri in zip(t, r)]


def C(x, y):
    """A corner point."""
    return (x, y, 1)


# style name -> (digit, {"train": [variant, ...], "bench": [variant, ...]}); variant = list of strokes
STYLES: dict[str, tuple[int, dict[str, list]]] = {
    # ---- 0
    "0 oval": (0, {
        "train": [[arc(.30, .5, .30, .5, 0, -370)],
                  [arc(.26, .5, .26, .5, -20, -380)],
                  [arc(.34, .5, .34, .5, 15, -370)]],
        "bench": [[arc(.29, .5, .29, .5, 35, -345)],
                  [arc(.32, .5, .32, .5, -35, -393)]],
    }),
    "0 narrow": (0, {
        "train": [[arc(.17, .5, .17, .5, 0, -365)], [arc(.20, .5, .20, .5, -10, -385)]],
        "bench": [[arc(.15, .5, .15, .5, 25, -345)]],
    }),
    "0 spiral": (0, {  # clockwise, overshooting inwards
        "train": [[arc(.28, .5, .28, .5, 0, 410, shrink=.15)]],
        "bench": [[arc(.30, .5, .30, .5, 20, 400, shrink=.10)]],
    }),
    # ---- 1
    "1 plain": (1, {
        "train": [[[(.05, 0), (.025, .5), (0, 1)]], [[(-.03, 0), (0, .5), (0, 1)]]],
        "bench": [[[(.08, 0), (.02, .5), (0, 1)]]],
    }),
    "1 flag": (1, {  # flag, no foot
        "train": [[[(-.22, .2), C(0, 0), (0, 1)]], [[(-.30, .15), C(.02, 0), (0, 1)]]],
        "bench": [[[(-.26, .24), C(.01, 0), (0, 1)]]],
    }),
    "1 european": (1, {  # long flag and a foot
        "train": [[[(-.30, .25), C(0, 0), (0, 1)], [(-.20, 1), (.20, 1)]],
                  [[(-.35, .30), C(.02, 0), (0, 1)], [(-.25, 1.01), (.25, .99)]]],
        "bench": [[[(-.32, .36), C(.02, 0), (0, 1)], [(-.18, 1), (.20, 1)]]],
    }),
    # ---- 2
    "2 plain": (2, {
        "train": [[[(.02, .22), (.15, .04), (.35, 0), (.55, .15), (.50, .40), (.25, .72), C(0, 1), (.60, .98)]],
                  [[(0, .30), (.10, .08), (.32, 0), (.56, .12), (.55, .35), (.30, .65), C(.02, 1), (.65, 1)]]],
        "bench": [[[(.05, .18), (.25, 0), (.50, .06), (.52, .30), (.20, .70), C(0, .98), (.55, .93)]]],
    }),
    "2 loop": (2, {
        "train": [[[(.02, .22), (.15, .03), (.38, 0), (.55, .17), (.45, .45), (.22, .75), (.08, .90), (.05, .98),
                    (.16, 1.0), (.22, .90), (.12, .84), (.07, .92), (.25, .99), (.62, .97)]]],
        "bench": [[[(.04, .16), (.25, 0), (.50, .08), (.50, .35), (.25, .70), (.10, .88), (.06, .99), (.20, .98),
                    (.20, .88), (.08, .90), (.20, 1.0), (.58, .96)]]],
    }),
    # ---- 3
    "3 round": (3, {
        "train": [[[(.02, .12), (.25, 0), (.50, .10), (.45, .35), C(.20, .47), (.50, .60), (.55, .82), (.30, 1),
                    (0, .90)]]],
        "bench": [[[(0, .18), (.20, .02), (.45, .05), (.50, .25), (.25, .45), (.18, .48), (.30, .50), (.55, .65),
                    (.50, .90), (.25, 1), (.02, .93)]]],
    }),
    "3 flat top": (3, {
        "train": [[[(.02, 0), C(.55, 0), C(.22, .38), (.45, .45), (.58, .70), (.40, .97), (.15, 1), (0, .88)]]],
        "bench": [[[(0, .02), C(.50, 0), C(.18, .42), (.48, .50), (.55, .75), (.30, 1), (.02, .92)]]],
    }),
    # ---- 4
    "4 closed": (4, {
        "train": [[[(.42, 0), C(0, .66), (.65, .66)], [(.44, 0), (.44, 1)]],
                  [[(.45, .02), C(.02, .62), (.62, .63)], [(.46, 0), (.45, 1)]]],
        "bench": [[[(.50, 0), C(.02, .62), (.70, .60)], [(.50, .05), (.48, 1)]]],
    }),
    "4 open": (4, {
        "train": [[[(.05, 0), C(0, .60), (.62, .58)], [(.48, .08), (.47, 1)]]],
        "bench": [[[(.12, 0), C(0, .55), (.65, .55)], [(.45, .15), (.45, 1)]]],
    }),
    "4 one stroke": (4, {
        "train": [[[(.08, 0), C(0, .60), C(.62, .60), C(.47, .02), (.47, 1)]]],
        "bench": [[[(.30, 0), C(0, .60), C(.65, .60), C(.45, .05), (.42, 1)]]],
    }),
    # ---- 5
    "5 two strokes": (5, {
        "train": [[[(.10, 0), C(.06, .45), (.30, .38), (.52, .50), (.56, .72), (.42, .93), (.18, 1), (0, .90)],
                   [(.10, .01), (.56, 0)]]],
        "bench": [[[(.12, .02), C(.08, .40), (.35, .36), (.55, .55), (.50, .85), (.30, 1), (.05, .95)],
                   [(.12, 0), (.50, -.02)]]],
    }),
    "5 one stroke": (5, {
        "train": [[[(.56, 0), C(.10, 0), C(.06, .45), (.30, .38), (.52, .50), (.56, .72), (.42, .93), (.18, 1),
                    (0, .90)]]],
        "bench": [[[(.52, .02), C(.12, 0), C(.05, .42), (.32, .40), (.55, .58), (.48, .88), (.25, 1), (.03, .92)]]],
    }),
    # ---- 6
    "6 curved": (6, {
        "train": [[[(.50, .03), (.30, .05), (.12, .30), (.02, .62), (.10, .92), (.30, 1), (.50, .88), (.50, .65),
                    (.30, .55), (.10, .62), (.03, .75)]]],
        "bench": [[[(.45, 0), (.20, .20), (.05, .55), (.08, .88), (.28, 1), (.48, .90), (.52, .70), (.35, .58),
                    (.15, .62), (.06, .72)]]],
    }),
    "6 straight stem": (6, {
        "train": [[[(.32, 0), (.08, .55), (.04, .75), (.15, .97), (.38, .98), (.50, .80), (.40, .60), (.18, .60),
                    (.05, .75)]]],
        "bench": [[[(.40, 0), (.10, .50), (.03, .78), (.18, 1), (.42, .95), (.48, .75), (.30, .62), (.08, .70)]]],
    }),
    # ---- 7
    "7 plain": (7, {
        "train": [[[(0, .03), C(.60, 0), (.38, .45), (.22, 1)]], [[(0, 0), C(.55, .02), (.25, 1)]]],
        "bench": [[[(.02, .05), (.35, 0), C(.62, .02), (.45, .35), (.30, .70), (.28, 1)]]],
    }),
    "7 crossbar": (7, {
        "train": [[[(0, .03), C(.60, 0), (.38, .45), (.22, 1)], [(.18, .50), (.55, .48)]]],
        "bench": [[[(.02, .05), (.35, 0), C(.62, .02), (.45, .35), (.30, .70), (.28, 1)], [(.25, .45), (.62, .44)]]],
    }),
    "7 short top": (7, {  # a short level bar, the stem slanting back under it (MNIST's 7s most read as 1)
        "train": [[[(0, .02), C(.28, 0), (.12, 1)]], [[(0, .04), C(.34, 0), (.20, .55), (.10, 1)]],
                  [[(0, 0), C(.22, .02), (.14, 1)]]],
        "bench": [[[(0, .03), C(.30, 0), (.20, .50), (.06, 1)]]],
    }),
    "7 hooked": (7, {  # a short tick down at the top left
        "train": [[[(0, .20), C(.02, 0), C(.60, .02), (.30, 1)]]],
        "bench": [[[(.03, .15), C(0, 0), (.30, -.01), C(.58, 0), (.40, .50), (.32, 1)]]],
    }),
    # ---- 8
    "8 one stroke": (8, {
        "train": [[[(.48, .12), (.30, 0), (.05, .12), (.10, .35), (.40, .55), (.55, .78), (.30, 1), (.03, .80),
                    (.15, .60), (.40, .40), (.52, .20), (.45, .08)]]],
        "bench": [[[(.42, .05), (.20, 0), (.06, .20), (.25, .42), (.50, .62), (.48, .92), (.22, .98), (.05, .80),
                    (.22, .55), (.45, .35), (.50, .12), (.35, 0)]]],
    }),
    "8 two loops": (8, {
        "train": [[arc(.28, .25, .22, .25, 90, -275), arc(.28, .72, .28, .28, 0, -365)]],
        "bench": [[arc(.30, .24, .20, .24, 0, 370), arc(.28, .74, .30, .26, -90, -455)]],
    }),
    # ---- 9
    "9 straight stem": (9, {
        "train": [[[*arc(.28, .25, .26, .24, 60, -270), C(.54, .25), (.52, 1)]],
                  [[*arc(.30, .22, .28, .22, 30, -270), C(.58, .22), (.55, 1)]]],
        "bench": [[[*arc(.27, .26, .25, .26, 80, -275), C(.52, .24), (.45, 1)]]],
    }),
    "9 curved stem": (9, {
        "train": [[[*arc(.28, .25, .26, .24, 60, -270), C(.54, .28), (.52, .70), (.38, .95), (.15, .98)]]],
        "bench": [[[*arc(.30, .25, .27, .25, 40, -272), C(.56, .30), (.50, .75), (.30, 1), (.10, .92)]]],
    }),
    "9 open top": (9, {  # the loop left open at the top right, like a q
        "train": [[[*arc(.28, .25, .26, .24, 20, -250), C(.54, .34), (.52, 1)]]],
        "bench": [[[*arc(.28, .27, .26, .26, 0, -255), C(.53, .36), (.50, .70), (.46, 1)]]],
    }),
}


def styles(digit: int | None = None) -> list[str]:
    return [name for name, (d, _) in STYLES.items() if digit is None or d == digit]


def variants(style: str, split: str) -> list:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    return STYLES[style][1][split]


# -- curves -----------------------------------------------------------------------------------
def _catmull_rom(pts: np.ndarray, per_span: int = 8) -> np.ndarray:
    if len(pts) < 3:
        return pts
    p = np.vstack([2 * pts[0] - pts[1], pts, 2 * pts[-1] - pts[-2]])
    t = np.linspace(0, 1, per_span, endpoint=False)[:, None]
    out = []
    for i in range(1, len(p) - 2):
        p0, p1, p2, p3 = p[i - 1], p[i], p[i + 1], p[i + 2]
        out.append(0.5 * ((2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t ** 2
                          + (-p0 + 3 * p1 - 3 * p2 + p3) * t ** 3))
    out.append(pts[-1:])
    return np.vstack(out)


def stroke_polyline(stroke) -> np.ndarray:
    """A template stroke (control points, corners marked) as a dense [n, 2] polyline."""
    pieces, cur = [], []
    for pt in stroke:
        cur.append(pt[:2])
        if len(pt) > 2 and pt[2]:   # corner: end this smooth piece here, start the next one here
            pieces.append(cur)
            cur = [pt[:2]]
    pieces.append(cur)
    out = []
    for piece in pieces:
        if len(piece) < 2:
            continue
        seg = _catmull_rom(np.asarray(piece, dtype=np.float64))
        out.append(seg if not out else seg[1:])
    return np.vstack(out) if out else np.asarray([stroke[0][:2]], dtype=np.float64)


def resample(poly: np.ndarray, spacing: float) -> np.ndarray:
    """Points every ``spacing`` along the polyline (first and last kept)."""
    if len(poly) < 2:
        return poly.copy()
    d = np.r_[0, np.cumsum(np.hypot(*np.diff(poly, axis=0).T))]
    if d[-1] <= spacing:
        return poly[[0, -1]].copy()
    s = np.r_[np.arange(0, d[-1], spacing), d[-1]]
    return np.column_stack([np.interp(s, d, poly[:, 0]), np.interp(s, d, poly[:, 1])])


# -- a drawing ------------------------------------------------------------------------------
@dataclass
class Drawing:
    """One digit as the canvas would receive it: polylines in canvas pixels and a pen."""

    label: int
    strokes: list[np.ndarray]          # each float [n, 2], (x, y) canvas pixels
    width: float                       # pen width, canvas pixels
    canvas_size: int = CANVAS_SIZE
    style: str = ""
    condition: str = "normal"
    meta: dict = field(default_factory=dict)

    def bbox(self) -> tuple[float, float, float, float]:
        p = np.vstack(self.strokes)
        return float(p[:, 0].min()), float(p[:, 1].min()), float(p[:, 0].max()), float(p[:, 1].max())


# Drawing conditions: digit height (fraction of the canvas), pen width (px at a 400 px canvas),
# how far off the centre. "mixed" draws one of the others at random (training data).
CONDITIONS = {
    "normal": dict(height=(0.50, 0.80), pen=(20, 36), offcentre=False),
    "thin": dict(height=(0.50, 0.80), pen=(6, 14), offcentre=False),
    "thick": dict(height=(0.50, 0.75), pen=(40, 56), offcentre=False),
    "small": dict(height=(0.15, 0.30), pen=(6, 18), offcentre=False),
    "offcentre": dict(height=(0.30, 0.60), pen=(16, 34), offcentre=True),
}
MIXED_WEIGHTS = {"normal": 0.4, "thin": 0.15, "thick": 0.15, "small": 0.15, "offcentre": 0.15}


@dataclass(frozen=True)
class Hand:
    """How strongly a writer deviates from the template (all in units of the digit height)."""

    stroke_shift: float = 0.025    # placement error of each stroke after the first
    warp: float = 0.045            # amplitude of a smooth random deformation
    aspect: tuple[float, float] = (0.80, 1.25)
    slant: tuple[float, float] = (-0.15, 0.40)   # shear; positive leans right
    rotate_deg: float = 6.0
    wobble: float = 0.010          # hand tremor along the path
    spacing_px: tuple[float, float] = (3.0, 10.0)  # distance between mouse samples (400 px canvas)


def _warp(p: np.ndarray, rng: np.random.Generator, amp: float) -> np.ndarray:
    """A smooth random displacement: two sinusoids per axis with random direction and phase."""
    out = p.copy()
    for axis in (0, 1):
        for _ in range(2):
            k = rng.uniform(1.5, 4.0) * np.array([np.cos(th := rng.uniform(0, np.pi)), np.sin(th)])
            out[:, axis] += rng.uniform(0, amp) * np.sin(2 * np.pi * (p @ k) / 2 + rng.uniform(0, 2 * np.pi))
    return out


def _wobble(poly: np.ndarray, rng: np.random.Generator, amp: float) -> np.ndarray:
    if amp <= 0 or len(poly) < 3:
        return poly
    dense = resample(poly, 0.01)
    if len(dense) < 9:   # shorter than the 9-tap smoothing below (a dot, a tick): it would come back longer
        return poly
    noise = rng.normal(0, 1, dense.shape)
    k = np.hanning(9)
    k /= k.sum()
    noise = np.column_stack([np.convolve(noise[:, i], k, mode="same") for i in (0, 1)])
    noise *= amp / max(noise.std(), 1e-9)
    return dense + noise


def realise(template, label: int, rng: np.random.Generator, condition: str = "normal",
            canvas_size: int = CANVAS_SIZE, hand: Hand = Hand(), style: str = "", fit: str = "height") -> Drawing:
    """One random rendition of a template as canvas strokes."""
    polys = [stroke_polyline(s) for s in template]
    # each stroke after the first lands a little off where it was meant to
    for i in range(1, len(polys)):
        c = polys[i].mean(axis=0)
        polys[i] = (polys[i] - c) * (1 + rng.normal(0, 0.06)) + c + rng.normal(0, hand.stroke_shift, 2)
    allp = np.vstack(polys)
    centre = (allp.min(0) + allp.max(0)) / 2
    polys = [p - centre for p in polys]
    # one warp, aspect, slant and rotation for the whole digit (a writer's hand)
    seed = rng.integers(2 ** 63)
    polys = [_warp(p, np.random.default_rng(seed), hand.warp) for p in polys]
    sx = rng.uniform(*hand.aspect)
    shear = rng.uniform(*hand.slant)
    th = np.radians(rng.normal(0, hand.rotate_deg / 2))
    rot = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    m = rot @ np.array([[sx, -shear], [0.0, 1.0]])  # y down: x -= shear * y leans the top to the right
    polys = [_wobble(p @ m.T, rng, rng.uniform(0.3, 1.0) * hand.wobble) for p in polys]
    return place(polys, label, rng, condition, canvas_size, hand, style, fit)


def place(polys: list[np.ndarray], label: int, rng: np.random.Generator, condition: str = "normal",
          canvas_size: int = CANVAS_SIZE, hand: Hand = Hand(), style: str = "", fit: str = "height") -> Drawing:
    """Put a digit's polylines (any units, y down) on the canvas for a drawing condition:
    size, pen width and position, then sample them like mouse events. The condition's size is
    the drawing's height (``fit="height"``, digits) or its longer side (``fit="longer"``: a
    flat drawing such as a dash would otherwise be blown up, then shrunk to fit, pen and all)."""
    if condition == "mixed":
        names = list(MIXED_WEIGHTS)
        condition = names[rng.choice(len(names), p=np.array(list(MIXED_WEIGHTS.values())))]
    cond = CONDITIONS[condition]
    s = canvas_size / CANVAS_SIZE
    allp = np.vstack(polys)
    h = max(float(np.ptp(allp[:, 1])), float(np.ptp(allp[:, 0])) if fit == "longer" else 0.0, 1e-6)
    scale = rng.uniform(*cond["height"]) * canvas_size / h
    width = rng.uniform(*cond["pen"]) * s
    polys = [p * scale for p in polys]
    allp = np.vstack(polys)
    lo, hi = allp.min(0) - width / 2, allp.max(0) + width / 2
    size = hi - lo
    if np.any(size > canvas_size):   # a wide template at the top of the size range: shrink to fit
        f = (canvas_size - 2) / size.max()
        polys, width = [p * f for p in polys], width * f
        allp = np.vstack(polys)
        lo, hi = allp.min(0) - width / 2, allp.max(0) + width / 2
        size = hi - lo
    room = canvas_size - size                      # free space around the digit, per axis
    if cond["offcentre"]:
        # push towards a random side or corner, leaving 2-8 % of the canvas as margin
        frac = np.array([rng.choice([0.0, 1.0, rng.uniform(0, 1)]) for _ in range(2)])
        margin = rng.uniform(0.02, 0.08, 2) * canvas_size
        start = np.clip(frac * room, np.minimum(margin, room / 2), np.maximum(room - margin, room / 2))
    else:
        start = np.clip(room / 2 + rng.normal(0, 0.05 * canvas_size, 2), 0, room)
    offset = start - lo
    spacing = rng.uniform(*hand.spacing_px) * s
    out = []
    for p in polys:
        p = resample(p + offset, spacing)
        p[1:-1] += rng.normal(0, 0.3 * s, p[1:-1].shape)   # mouse quantisation and jitter
        out.append(p)
    return Drawing(label=label, strokes=out, width=float(width), canvas_size=canvas_size, style=style,
                   condition=condition)


def draw(style: str, rng: np.random.Generator, split: str, condition: str = "normal",
         canvas_size: int = CANVAS_SIZE, hand: Hand = Hand(), variant: int | None = None) -> Drawing:
    """A random drawing of ``style`` from one of its ``split`` variants."""
    digit, _ = STYLES[style]
    vs = variants(style, split)
    vi = int(rng.integers(len(vs))) if variant is None else variant
    d = realise(vs[vi], digit, rng, condition, canvas_size, hand, style)
    d.meta["variant"] = f"{split}:{vi}"
    return d
