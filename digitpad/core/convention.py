"""How a digit model from elsewhere wants its input, found by trying every usual convention.

A file without digitpad metadata says nothing of its input but the shape, which gives the layout
(``model_input.spec_from_graph``: NCHW, NHWC, flat, grey on three channels). What the values mean
depends on whoever exported it: 0..1, 0..255, -1..1, MNIST's mean and std; ink white on black
(MNIST) or dark on light. Fed the wrong way, a good model reads 95% of digits instead of 99%, or
guesses. So each candidate is scored on 200 MNIST test digits that ship with the app (package
data; MNIST's licence is in Help > About), and the best by accuracy, then by the mean probability
it gives the true class, is used; the scores of all are kept, so the user can see and pick another.
Which output holds the class scores (an extra output beside them, scores without softmax) is
found by the same scoring.

The search runs the model on 40 digits per candidate, then the front-runners (at most three, within
15 points of the best) and the plain reading on the other 160: 8 candidates cost 640 images at most,
usually about 500. The result
is remembered per file content (``ConventionStore``), so a known file is never searched again.
"""
from __future__ import annotations

import contextlib
import functools
import json
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from . import paths
from .contract import InputSpec
from .fileio import atomic_write_text
from .model_input import InputAdapter

# The value conventions, as the fields of InputSpec they set. MNIST's mean and std are the ones
# pytorch/examples normalises with; -1..1 is (x - 0.5) / 0.5, what torchvision's Normalize(0.5, 0.5) gives.
VALUES: dict[str, dict] = {
    "0..1": {"range": (0.0, 1.0), "mean": None, "std": None},
    "0..255": {"range": (0.0, 255.0), "mean": None, "std": None},
    "-1..1": {"range": (-1.0, 1.0), "mean": None, "std": None},
    "mnist-normalised": {"range": (0.0, 1.0), "mean": (0.1307,), "std": (0.3081,)},
}
VALUE_TEXT = {"0..1": "values 0..1", "0..255": "values 0..255", "-1..1": "values -1..1",
              "mnist-normalised": "MNIST mean/std normalised"}
POLARITY_TEXT = {"white-on-black": "ink white on black", "black-on-white": "ink black on white"}
FIRST_ROUND, FINALISTS = 40, 3
FINAL_MARGIN = 0.15   # candidates this far behind the best after round one do not go on
# Under this accuracy no convention reads digits (not a digit model, or an untrained one): the plain
# reading stays, rather than whichever candidate chance favoured.
READS_DIGITS = 0.5
STORE_FILE = "conventions.json"
MAX_REMEMBERED = 500


@dataclass(frozen=True)
class Convention:
    values: str                      # a key of VALUES
    polarity: str = "white-on-black"

    def apply(self, spec: InputSpec) -> InputSpec:
        return replace(spec, polarity=self.polarity, **VALUES[self.values])

    def describe(self) -> str:
        return f"{VALUE_TEXT[self.values]}, {POLARITY_TEXT[self.polarity]}"


CANDIDATES = [Convention(v, p) for v in VALUES for p in POLARITY_TEXT]
DEFAULT = CANDIDATES[0]    # what a file that says nothing is fed: 0..1, ink white on black (MNIST's own)


@dataclass(frozen=True)
class Score:
    convention: Convention
    output: str            # the graph output that held the class scores
    accuracy: float        # on the ``n`` reference digits
    confidence: float      # the mean probability given to the true class
    n: int

    @property
    def key(self) -> tuple[int, float, float]:
        return (self.n, self.accuracy, self.confidence)


@dataclass
class Found:
    """A search's result (or a remembered one): the scores of every candidate, best first."""

    scores: list[Score]
    seconds: float = 0.0
    chosen: Convention | None = None     # the user's choice, when it is not the best score

    @property
    def best(self) -> Score:
        return self.scores[0]

    @property
    def used(self) -> Score:
        """The candidate in use: the user's choice, else the best."""
        if self.chosen is not None:
            return next((s for s in self.scores if s.convention == self.chosen), self.best)
        return self.best

    def summary(self, layout: str) -> str:
        """One line for the Model page: what it expects and how well that reads the reference digits."""
        s = self.used
        where = {"NCHW": "", "NHWC": ", channels last", "flat": ", a flat vector"}.get(layout, "")
        how = "chosen by you" if self.chosen is not None else "found"
        return (f"Expects {s.convention.describe()}{where} ({how}): reads {s.accuracy:.0%} of "
                f"{s.n} reference digits")


@functools.cache
def reference_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 200 labelled MNIST test digits shipped with the app: canonical [200, 1, 28, 28], labels [200]."""
    with np.load(paths.reference_digits_path(), allow_pickle=False) as z:
        images, labels = z["images"], z["labels"].astype(np.int64)
    return (images.astype(np.float32) / 255.0)[:, None], labels


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _as_probs(scores: np.ndarray) -> np.ndarray:
    """Scores [N, K] as probabilities: kept when they already are (a softmax output), else softmaxed."""
    scores = np.asarray(scores, np.float64).reshape(len(scores), -1)
    if np.all(scores >= 0) and np.all(np.abs(scores.sum(axis=1) - 1) < 1e-3):
        return scores
    return _softmax(scores)


def search(run, base: InputSpec, graph_shape, outputs: list[str], classes: int = 10) -> Found:
    """Score every candidate convention. ``run(tensor, outputs) -> list of arrays`` runs the model
    (a batch session, or image by image for a fixed batch of 1); ``outputs``: the graph outputs that
    may hold the class scores. Candidates whose tensor the model refuses are left out."""
    t0 = time.perf_counter()
    images, labels = reference_digits()

    def run_on(conv: Convention, lo: int, hi: int) -> dict[str, np.ndarray]:
        """Probabilities [hi - lo, classes] per score output for reference digits lo..hi; {} when refused."""
        tensor = InputAdapter(conv.apply(base), graph_shape).to_tensor(images[lo:hi])
        try:
            values = run(tensor, outputs)
        except Exception:  # noqa: BLE001  a convention the graph cannot take (NaN checks, shape asserts)
            return {}
        found = {}
        for name, v in zip(outputs, values):
            v = np.asarray(v)
            if v.ndim == 2 and v.shape == (hi - lo, classes) and np.isfinite(v).all():
                found[name] = _as_probs(v)
        return found

    def scores(conv: Convention, probs: dict[str, np.ndarray]) -> list[Score]:
        out = []
        for name, p in probs.items():
            n = len(p)
            out.append(Score(conv, name, float((p.argmax(1) == labels[:n]).mean()),
                             float(p[np.arange(n), labels[:n]].mean()), n))
        return out

    # Round one: every candidate on the first digits. The final: the front-runners (and the plain
    # reading) on the rest too, their first-round outputs kept: no digit is run twice.
    round_one = {conv: run_on(conv, 0, FIRST_ROUND) for conv in CANDIDATES}
    first = [s for conv, probs in round_one.items() for s in scores(conv, probs)]
    if not first:
        raise ValueError("no convention gives finite 10-class scores for the reference digits")
    first.sort(key=lambda s: s.key, reverse=True)
    lead = first[0].accuracy
    ahead = [s.convention for s in first if s.accuracy >= lead - FINAL_MARGIN]
    finalists = list(dict.fromkeys(ahead[:FINALISTS] + [DEFAULT]))
    final = []
    for conv in finalists:
        rest = run_on(conv, FIRST_ROUND, len(labels))
        joined = {name: np.concatenate([p, rest[name]]) for name, p in round_one[conv].items() if name in rest}
        final += scores(conv, joined)
    best_per_conv: dict[Convention, Score] = {}
    for s in sorted(final + first, key=lambda s: s.key, reverse=True):
        best_per_conv.setdefault(s.convention, s)
    scores = list(best_per_conv.values())
    if scores[0].accuracy < READS_DIGITS and DEFAULT in best_per_conv:
        scores.remove(best_per_conv[DEFAULT])
        scores.insert(0, best_per_conv[DEFAULT])
    return Found(scores, time.perf_counter() - t0)


# -- remembered per file content -------------------------------------------------------------------------
class ConventionStore:
    """What was found (and chosen) for each model file, by the sha256 of its bytes, in one JSON file in
    the user's data folder. A damaged store is an empty one: the search runs again."""

    def __init__(self, path: Path | None = None):
        self.path = path or paths.data_dir() / STORE_FILE

    def _read(self) -> dict:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, digest: str) -> Found | None:
        entry = self._read().get(digest)
        try:
            return _found_from_json(entry) if entry is not None else None
        except (KeyError, TypeError, ValueError):
            return None

    def put(self, digest: str, found: Found) -> None:
        data = self._read()
        data.pop(digest, None)
        data[digest] = _found_to_json(found)
        for old in list(data)[:-MAX_REMEMBERED]:
            del data[old]
        with contextlib.suppress(OSError):   # not remembered on a read-only disk: searched again next time
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.path, json.dumps(data))


def _found_to_json(found: Found) -> dict:
    return {"scores": [[s.convention.values, s.convention.polarity, s.output, s.accuracy, s.confidence, s.n]
                       for s in found.scores],
            "chosen": None if found.chosen is None else [found.chosen.values, found.chosen.polarity],
            "seconds": found.seconds}


def _convention(values, polarity) -> Convention:
    if values not in VALUES or polarity not in POLARITY_TEXT:
        raise ValueError("unknown convention")
    return Convention(values, polarity)


def _found_from_json(entry) -> Found:
    scores = []
    for values, polarity, output, accuracy, confidence, n in entry["scores"]:
        if not (isinstance(output, str) and all(isinstance(v, (int, float)) and 0 <= v <= 1
                                                for v in (accuracy, confidence)) and isinstance(n, int)):
            raise ValueError("bad score")
        scores.append(Score(_convention(values, polarity), output, float(accuracy), float(confidence), n))
    if not scores:
        raise ValueError("no scores")
    chosen = entry.get("chosen")
    return Found(scores, float(entry.get("seconds", 0.0)), None if chosen is None else _convention(*chosen))
