"""A one-line label that cuts its text with "…" to the width it is given, the whole text in its tooltip:
for lines whose length depends on a model or a data set (a status, a count) in a pane whose width does
not (the window is designed for 1280x720: a longer line must neither widen the pane nor be cut blind)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSizePolicy

from .text import PlainLabel, set_tip


class ElidedLabel(PlainLabel):
    def __init__(self, text: str = "", object_name: str = "muted", parent=None):
        super().__init__("", parent)
        self.setObjectName(object_name)
        self.full = ""
        self.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Fixed)
        self.setFixedHeight(self.fontMetrics().height() + 4)
        self.set_text(text)

    def set_text(self, text: str, tip: str | None = None) -> None:
        """Show ``text`` (cut to fit); the tooltip says ``tip``, else the whole text when it was cut."""
        self.full = text
        self._tip = tip
        self._fit()

    def _fit(self) -> None:
        shown = self.fontMetrics().elidedText(self.full, Qt.ElideRight, max(0, self.width() - 2))
        super().setText(shown)
        set_tip(self, self._tip if self._tip is not None else (self.full if shown != self.full else ""))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()
