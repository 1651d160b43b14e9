"""Two models on the same test set: where their answers differ, and how sure each was.

A disagreement where both models are sure is the interesting one (one of them is confidently wrong,
or the label is); where both hesitate, the image is simply hard. So the list comes sorted by the
smaller of the two confidences, highest first; ``sorted_by`` sorts it by one model's confidence.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..evaluation import EvalResult, TestSet, check_fits, evaluate

BOTH, FIRST, SECOND = "both", "first", "second"


def cannot_compare(first, second) -> str | None:
    """Why two models cannot be run on the same test images, in one sentence; None when they can."""
    if first is None or second is None:
        return "Pick a second model to compare with."
    if tuple(first.input_shape) != tuple(second.input_shape):
        c1, s1, _ = first.input_shape
        c2, s2, _ = second.input_shape
        return (f"{first.name} takes {s1}×{s1}{' colour' if c1 == 3 else ''} images and {second.name} "
                f"{s2}×{s2}{' colour' if c2 == 3 else ''}: they have no test images in common.")
    if list(first.classes) != list(second.classes):
        return f"{first.name} and {second.name} tell different classes apart: their answers cannot be compared."
    return None


@dataclass
class Disagreements:
    """The test images two models answer differently. Per listed image (``indices``, into the test set):
    the true ``labels``, each model's answer and its confidence in it."""

    indices: np.ndarray
    labels: np.ndarray
    first: np.ndarray
    second: np.ndarray
    first_confidence: np.ndarray
    second_confidence: np.ndarray
    total: int                      # test images compared

    def __len__(self) -> int:
        return len(self.indices)

    @property
    def first_right(self) -> int:
        """Of the disagreements, how many the first model gets right (the second: ``second_right``)."""
        return int((self.first == self.labels).sum())

    @property
    def second_right(self) -> int:
        return int((self.second == self.labels).sum())

    def sorted_by(self, key: str = BOTH) -> Disagreements:
        """Sorted by how sure both were (the smaller confidence, ``BOTH``), or one model (``FIRST``,
        ``SECOND``), surest first; ties by test index."""
        sure = {BOTH: np.minimum(self.first_confidence, self.second_confidence), FIRST: self.first_confidence,
                SECOND: self.second_confidence}[key]
        order = np.lexsort((self.indices, -sure))
        return Disagreements(self.indices[order], self.labels[order], self.first[order], self.second[order],
                             self.first_confidence[order], self.second_confidence[order], self.total)


def disagreements(first_probs: np.ndarray, second_probs: np.ndarray, labels: np.ndarray) -> Disagreements:
    """Where the answers (the most probable class) of two models' probabilities [N, K] differ, sorted by
    how sure both were, surest first."""
    a, b = np.asarray(first_probs), np.asarray(second_probs)
    if a.shape != b.shape or len(a) != len(labels):
        raise ValueError(f"probabilities of shapes {list(a.shape)} and {list(b.shape)} for {len(labels)} labels")
    pa, pb = a.argmax(axis=1), b.argmax(axis=1)
    idx = np.flatnonzero(pa != pb)
    rows = np.arange(len(a))
    ca, cb = a[rows, pa], b[rows, pb]
    found = Disagreements(idx, np.asarray(labels, np.int64)[idx], pa[idx], pb[idx], ca[idx].astype(np.float32),
                          cb[idx].astype(np.float32), len(a))
    return found.sorted_by(BOTH)


@dataclass
class Comparison:
    """Both models' results on one test set, and where they disagree."""

    first: EvalResult
    second: EvalResult
    disagreements: Disagreements
    test: TestSet


def compare(first, second, test: TestSet, progress=None, cancelled=None) -> Comparison | None:
    """Both models over ``test`` (``evaluation.evaluate``: batch sessions of their class scores). None when
    cancelled; ``evaluation.TestSetError`` when the set is not one of theirs."""
    why = cannot_compare(first, second)
    if why is not None:
        raise ValueError(why)
    check_fits(first, test)
    check_fits(second, test)
    n = len(test)

    def half(offset):
        return None if progress is None else (lambda done, _total: progress(offset + done, 2 * n))

    a = evaluate(first, test, progress=half(0), cancelled=cancelled)
    b = evaluate(second, test, progress=half(n), cancelled=cancelled) if a is not None else None
    if a is None or b is None:
        return None
    return Comparison(a, b, disagreements(a.probs, b.probs, test.labels), test)
