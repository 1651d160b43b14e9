"""The answer: the top class large with its confidence, and a bar for each class; or, when
the model's calibrated rule says so, "doesn't look like a digit" with the score behind it
(``digitpad.core.not_digit``).

Painted by hand (no pyqtgraph): it is on screen from the first frame and repaints at
60 Hz while you draw, so it must be cheap to import and to paint.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from .. import style
from ..text import set_tip

CONFIDENT = 0.80   # below this the panel says it is not sure
RUNNER_UP = 0.15   # a second class above this is named in "not sure: 4 or 9?"
HEAD_H = 122.0     # the headline: the answer, its confidence, the verdict
ROW_MIN, ROW_MAX = 17.0, 30.0   # one bar per class: readable at 1280x720, not sparse on a large screen
ROWS = 10            # bars shown: every class up to 10; with more (up to 100), the 9 likeliest and the rest


NOT_A_DIGIT = "doesn't look like a digit"


def verdict_font() -> QFont:
    """The verdict line's font (made when asked: a QFont wants the application to exist)."""
    return style.title_font(10, QFont.Normal)


def score_text(score: float, threshold: float | None) -> str:
    """The digit score and the model's threshold, as the panel shows them."""
    if threshold is None or not np.isfinite(score):
        return ""
    # two decimals: one would show a flagged 2.27 against 2.31 as "2.3 < 2.3"
    return f"digit score {score:.2f} {'<' if score < threshold else '≥'} {threshold:.2f}"


def verdict(probs: np.ndarray, classes: list[str]) -> tuple[str, bool]:
    """(caption, sure) for the prediction panel; pure so it can be tested without Qt."""
    order = np.argsort(probs)[::-1]
    top, second = int(order[0]), int(order[1])
    if probs[top] >= CONFIDENT:
        return "confident", True
    if probs[second] >= RUNNER_UP:
        return f"not sure: {classes[top]} or {classes[second]}?", False
    return f"not sure: maybe {classes[top]}?", False


class PredictionPanel(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.probs: np.ndarray | None = None
        self.not_digit = False
        self.score = float("nan")
        self.threshold: float | None = None   # the model's not-a-digit threshold; None: it has none
        self.digits = True                    # a digit model (its score and threshold are about digits)
        self.classes = [str(d) for d in range(10)]
        self.empty_text = "Draw a digit on the canvas"
        self.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Expanding)
        self.setMinimumSize(240, int(HEAD_H + 8 + ROWS * ROW_MIN + 4))
        self.setMaximumHeight(int(HEAD_H + 8 + ROWS * ROW_MAX + 4))

    def sizeHint(self) -> QSize:
        return QSize(270, int(HEAD_H + 8 + ROWS * 22 + 4))

    def set_classes(self, classes: list[str]) -> None:
        self.classes = list(classes)
        self.update()

    def set_threshold(self, threshold: float | None, digits: bool = True) -> None:
        """The active model's not-a-digit threshold (None: the model has no calibrated rule);
        ``digits``: whether it reads digits at all (a photo model has no digit score to explain)."""
        self.threshold = threshold
        self.digits = digits

    def show_probs(self, probs: np.ndarray | None, not_digit: bool = False, score: float = float("nan")) -> None:
        self.probs = None if probs is None else np.asarray(probs, dtype=np.float32)
        self.not_digit = bool(not_digit) and self.probs is not None
        self.score = float(score)
        set_tip(self, self._tooltip())
        self.update()

    def show_prediction(self, prediction) -> None:
        """A ``Prediction`` (or None): its probabilities, its not-a-digit verdict and score."""
        if prediction is None:
            self.show_probs(None)
        else:
            self.show_probs(prediction.probs, prediction.not_digit, prediction.digit_score)

    def rows(self) -> list[tuple[str, int]]:
        """(name, class) of each bar, top to bottom: every class in order when there are up to ROWS,
        else the ROWS - 1 likeliest and a last bar for the others together (class -1)."""
        k = len(self.classes)
        if k <= ROWS:
            return [(name, i) for i, name in enumerate(self.classes)]
        top = (list(np.argsort(-self.probs, kind="stable")[:ROWS - 1]) if self.probs is not None
               else list(range(ROWS - 1)))
        return [(self.classes[int(i)], int(i)) for i in top] + [(f"{k - ROWS + 1} others", -1)]

    def _value(self, i: int) -> float:
        if self.probs is None:
            return 0.0
        if i >= 0:
            return float(self.probs[i])
        top = np.argsort(-self.probs, kind="stable")[:ROWS - 1]
        return float(max(0.0, 1.0 - self.probs[top].sum()))

    @property
    def caption(self) -> str:
        if self.probs is None:
            return self.empty_text
        if self.not_digit:
            return NOT_A_DIGIT
        return verdict(self.probs, self.classes)[0]

    def _tooltip(self) -> str:
        if self.probs is None or not np.isfinite(self.score) or not self.digits:
            return ""
        if self.threshold is None:
            names = "a digit" if self.classes == [str(d) for d in range(10)] else "one of its classes"
            return (f"Digit score {self.score:.2f} (logsumexp of the logits). This model has no calibrated "
                    f"not-a-digit threshold, so it always names {names}.")
        return (f"Digit score {self.score:.2f} (logsumexp of the logits; higher looks more like a digit). "
                f"Below {self.threshold:.2f}, this model's threshold calibrated on real writers' digits, "
                f"it says it does not look like a digit.")

    def verdict_line(self, width: float) -> str:
        """The line under the answer's percentage, as it fits ``width`` px: the verdict and the digit score;
        without the score when both do not fit (it is in the tooltip), the verdict elided at its end.
        Drawn centred, a line wider than the panel lost both its ends ("ot sure: maybe 1? · digit sco")."""
        metrics = QFontMetrics(verdict_font())
        caption = verdict(self.probs, self.classes)[0]
        scored = score_text(self.score, self.threshold)
        both = f"{caption} · {scored}" if scored else caption
        room = int(width) - 8
        if metrics.horizontalAdvance(both) <= room:
            return both
        return metrics.elidedText(caption, Qt.ElideRight, room)

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        w = self.width()
        head_h = HEAD_H
        # -- headline -----------------------------------------------------------------
        if self.probs is None:
            p.setPen(QColor(style.BAR_IDLE))
            p.setFont(style.title_font(54, QFont.Light))
            p.drawText(QRectF(0, 0, w, 90), Qt.AlignHCenter | Qt.AlignVCenter, "–")
            p.setPen(QColor(style.MUTED))
            p.setFont(style.title_font(10.5, QFont.Normal))
            p.drawText(QRectF(0, 88, w, 30), Qt.AlignHCenter | Qt.AlignTop, self.empty_text)
        elif self.not_digit:
            p.setPen(QColor(style.WARN_TEXT))
            p.setFont(style.title_font(54, QFont.DemiBold))
            p.drawText(QRectF(0, 0, w, 80), Qt.AlignHCenter | Qt.AlignVCenter, "?")
            p.setFont(style.title_font(13, QFont.DemiBold))
            p.drawText(QRectF(0, 76, w, 24), Qt.AlignHCenter | Qt.AlignVCenter, NOT_A_DIGIT)
            p.setFont(style.title_font(10, QFont.Normal))
            p.drawText(QRectF(0, 100, w, 20), Qt.AlignHCenter | Qt.AlignVCenter,
                       score_text(self.score, self.threshold))
        else:
            top = int(np.argmax(self.probs))
            caption, sure = verdict(self.probs, self.classes)
            label = self.classes[top]
            p.setPen(QColor(style.TEXT if sure else style.WARN_TEXT))
            p.setFont(style.title_font(54 if len(label) <= 2 else 20, QFont.DemiBold))
            p.drawText(QRectF(0, 0, w, 80), Qt.AlignHCenter | Qt.AlignVCenter,
                       p.fontMetrics().elidedText(label, Qt.ElideRight, int(w) - 8))
            p.setFont(style.title_font(15, QFont.DemiBold))
            p.setPen(QColor(style.ACCENT if sure else style.WARN_TEXT))
            p.drawText(QRectF(0, 76, w, 24), Qt.AlignHCenter | Qt.AlignVCenter, f"{self.probs[top] * 100:.1f} %")
            p.setFont(verdict_font())
            p.setPen(QColor(style.MUTED if sure else style.WARN_TEXT))
            p.drawText(QRectF(0, 100, w, 20), Qt.AlignHCenter | Qt.AlignVCenter, self.verdict_line(w))
        # -- one bar per class --------------------------------------------------------------
        shown = self.rows()
        top_y = head_h + 8
        row_h = min(ROW_MAX, max(ROW_MIN, (self.height() - top_y - 4) / len(shown)))
        names_long = max(len(name) for name, _ in shown) > 2
        label_w = 84.0 if names_long else 22.0
        pct_w = 58.0   # "100.0%" at the row font
        bar_x = label_w + 8
        bar_w = max(10.0, w - bar_x - pct_w - 4)
        best = int(np.argmax(self.probs)) if self.probs is not None and not self.not_digit else -1
        small = style.title_font(9.5 if names_long else 11, QFont.Normal)
        p.setFont(small)
        for row, (name, i) in enumerate(shown):
            y = top_y + row * row_h
            bar_h = min(12.0, row_h * 0.55)
            by = y + (row_h - bar_h) / 2
            value = self._value(i)
            p.setPen(QColor(style.TEXT if i == best else style.MUTED))
            p.drawText(QRectF(0, y, label_w, row_h), Qt.AlignRight | Qt.AlignVCenter,
                       p.fontMetrics().elidedText(name, Qt.ElideRight, int(label_w)))
            p.setPen(Qt.NoPen)
            p.setBrush(QColor("#eef0f5"))
            p.drawRoundedRect(QRectF(bar_x, by, bar_w, bar_h), bar_h / 2, bar_h / 2)
            if value > 0.002:
                p.setBrush(QColor(style.ACCENT if i == best else style.BAR_IDLE))
                p.drawRoundedRect(QRectF(bar_x, by, max(bar_h, bar_w * value), bar_h), bar_h / 2, bar_h / 2)
            if self.probs is not None:
                p.setPen(QColor(style.TEXT if i == best else style.MUTED))
                text = f"{value * 100:.1f}%" if value >= 0.001 else "<0.1%"
                p.drawText(QRectF(w - pct_w, y, pct_w, row_h), Qt.AlignRight | Qt.AlignVCenter, text)
        p.end()
