"""The "not a digit" answer: a score computed from a model's 10 logits, and a threshold
calibrated for that model on real digits it never trained on.

A network trained only on digits maps anything to some digit, often confidently (a
scribble read "8, 87.7%"). The engine trains the default model with *outlier exposure*
(Hendrycks et al., 2019): generated non-digits (scribbles, shapes, letters, several
digits side by side) with a uniform target over the 10 classes, so on ink unlike any
digit the logits come out low and flat. The score is the **logsumexp of the logits**
(the negative free energy of Liu et al., 2020): unlike the top probability it stays high
on a digit that is merely ambiguous between two classes (a 1 or a 7) and low on ink that
is no digit at all. The model's contract outputs stay the 10-class ``logits`` and ``probs``.

The threshold belongs to one model: logit scales differ between models and training runs,
so it is calibrated after training (``training/calibrate.py``: the score below which a
chosen small share of held-out real writers' digits falls) and stored in the model file's
metadata under ``not_digit``::

    "not_digit": {"score": "logsumexp", "threshold": 4.87, "calibration": {...how, on what, rates}}

A model without it (files from before, models from elsewhere, a field that does not
check out) gets no rule: ``not_digit`` is always False and the score is still reported.
Why not a default threshold: on a model not trained with outlier exposure the score
separates non-digits from digits poorly, and any fixed number would flag real digits on
one model and nothing on another; saying "not a digit" to a real digit is the worse error.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

METADATA_FIELD = "not_digit"
SCORE = "logsumexp"


def digit_score(logits: np.ndarray) -> np.ndarray:
    """logsumexp over the last axis of ``logits`` ([..., 10]): higher is more digit-like."""
    z = np.asarray(logits, dtype=np.float64)
    m = z.max(axis=-1, keepdims=True)
    return (m + np.log(np.exp(z - m).sum(axis=-1, keepdims=True)))[..., 0]


@dataclass(frozen=True)
class NotDigitRule:
    threshold: float
    score: str = SCORE
    calibration: dict[str, Any] | None = None

    def flags(self, scores):
        """True where the score is below the threshold (numpy arrays or one float)."""
        return np.asarray(scores) < self.threshold if not np.isscalar(scores) else bool(scores < self.threshold)

    def to_metadata(self) -> dict[str, Any]:
        return {"score": self.score, "threshold": float(self.threshold), "calibration": self.calibration or {}}


def calibrate(scores: np.ndarray, flag_rate: float) -> float:
    """The threshold that flags at most ``flag_rate`` of these (real digits') scores."""
    s = np.asarray(scores, dtype=np.float64)
    if s.size == 0 or not np.isfinite(s).all():
        raise ValueError("calibration needs finite scores of at least one real digit")
    if not 0 <= flag_rate < 1:
        raise ValueError(f"flag rate must be in [0, 1) (got {flag_rate})")
    # the k-th smallest score, k = floor(rate * n): exactly k scores lie below it (ties aside), never more
    return float(np.sort(s)[min(int(flag_rate * s.size), s.size - 1)])


def from_metadata(meta) -> NotDigitRule | None:
    """The rule a model file carries (``ModelMetadata`` or None), or None when it has none or the
    field does not check out (wrong types, an unknown score, a non-finite threshold)."""
    d = getattr(meta, METADATA_FIELD, None) if meta is not None else None
    if not isinstance(d, dict):
        return None
    threshold, score = d.get("threshold"), d.get("score")
    if score != SCORE or isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
        return None
    if not math.isfinite(threshold):
        return None
    calibration = d.get("calibration")
    return NotDigitRule(float(threshold), score, calibration if isinstance(calibration, dict) else None)
