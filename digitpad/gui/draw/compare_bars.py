"""Two models' answers on the same input, as paired bars: per class, the first model's probability above
the second's, in the two models' colours; a headline names each model's answer.

Painted by hand, like the prediction panel: it repaints at 60 Hz while someone draws.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from .. import style

ROWS = 10            # up to 10 classes each have a row; with more, the 9 likeliest (for either model) and the rest
HEAD = 40.0


class CompareBars(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.names = ("", "")
        self.classes: list[str] = [str(d) for d in range(10)]
        self.probs: list[np.ndarray | None] = [None, None]
        self.why = ("", "")            # what to say in place of a model's answer (it cannot read this input)
        self.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Expanding)
        self.setMinimumSize(200, int(HEAD + ROWS * 13))

    def sizeHint(self) -> QSize:
        return QSize(230, int(HEAD + ROWS * 18))

    def set_models(self, first: str, second: str, classes: list[str]) -> None:
        self.names, self.classes = (first, second), list(classes)
        self.update()

    def show_answers(self, first: np.ndarray | None, second: np.ndarray | None, why: tuple[str, str] = ("", "")
                     ) -> None:
        self.probs = [None if first is None else np.asarray(first, np.float32),
                      None if second is None else np.asarray(second, np.float32)]
        self.why = why
        self.update()

    def rows(self) -> list[int]:
        """The classes shown, in order (all of them up to ROWS; else the likeliest for either model)."""
        k = len(self.classes)
        if k <= ROWS:
            return list(range(k))
        both = np.zeros(k, np.float32)
        for p in self.probs:
            if p is not None and len(p) == k:
                both = np.maximum(both, p)
        return [int(i) for i in np.argsort(-both, kind="stable")[:ROWS]]

    def _headline(self, p: QPainter, which: int, y: float, w: float) -> None:
        colour = QColor(style.FIRST_MODEL if which == 0 else style.SECOND_MODEL)
        p.setBrush(colour)
        p.setPen(Qt.NoPen)
        p.drawRoundedRect(QRectF(0, y + 5, 10, 10), 2, 2)
        probs = self.probs[which]
        if probs is None:
            said = self.why[which] or "–"
        else:
            top = int(np.argmax(probs))
            name = self.classes[top] if top < len(self.classes) else str(top)
            said = f"{name} ({probs[top] * 100:.1f} %)"
        p.setPen(QColor(style.TEXT))
        text = p.fontMetrics().elidedText(f"{self.names[which]}: {said}", Qt.ElideMiddle, int(w - 16))
        p.drawText(QRectF(16, y, w - 16, 20), Qt.AlignLeft | Qt.AlignVCenter, text)

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        w = float(self.width())
        p.setFont(style.title_font(9.5, QFont.Normal))
        self._headline(p, 0, 0, w)
        self._headline(p, 1, 18, w)
        shown = self.rows()
        row_h = max(12.0, min(26.0, (self.height() - HEAD - 2) / max(len(shown), 1)))
        long_names = max((len(self.classes[i]) for i in shown), default=1) > 2
        label_w = 70.0 if long_names else 18.0
        bar_x = label_w + 6
        bar_w = max(10.0, w - bar_x - 2)
        for r, k in enumerate(shown):
            y = HEAD + r * row_h
            p.setPen(QColor(style.MUTED))
            p.drawText(QRectF(0, y, label_w, row_h), Qt.AlignRight | Qt.AlignVCenter,
                       p.fontMetrics().elidedText(self.classes[k], Qt.ElideRight, int(label_w)))
            bar_h = min(6.0, (row_h - 3) / 2)
            for which, colour in enumerate((style.FIRST_MODEL, style.SECOND_MODEL)):
                by = y + row_h / 2 - bar_h - 0.5 + which * (bar_h + 1)
                p.setPen(Qt.NoPen)
                p.setBrush(QColor(style.TRACK))
                p.drawRect(QRectF(bar_x, by, bar_w, bar_h))
                probs = self.probs[which]
                if probs is not None and k < len(probs) and probs[k] > 0.002:
                    p.setBrush(QColor(colour))
                    p.drawRect(QRectF(bar_x, by, max(1.5, bar_w * float(probs[k])), bar_h))
        p.end()
