"""The line under the Draw tab's canvas: what is worth knowing about the drawing now.

In order of precedence: a hint about the drawing ("Very small drawing: draw the digit
larger."), else what the last action did ("Saved as 7: …", or why a picture could not be
opened; it stays only until the drawing or the model changes), else how to draw (or, on the
image bench, how to choose a picture). Its height is fixed (two lines; the tooltip has
what does not fit), so a hint
appearing while you draw never moves or squeezes anything (a QLabel that changes size
makes Qt lay out the whole window again).
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSizePolicy

from .. import style
from ..text import PlainLabel, set_tip

TIPS = "Draw one digit, large. Esc clears; Ctrl+Z or a right-click undoes a stroke, Ctrl+Shift+Z redoes."
LINES = 2   # at 1280x720 the Draw tab has room for two lines and a one-line banner above it


class MessageLine(PlainLabel):
    """Plain text: statuses quote captions and errors that come from files (gui.text)."""

    def __init__(self, tips: str = TIPS, parent=None):
        super().__init__("", parent)
        self.tips = tips
        self.hints: list[str] = []
        self.status = ""
        self.problem = False
        self.kind = ""
        self.setWordWrap(True)
        self.setAlignment(Qt.AlignLeft | Qt.AlignTop)
        self.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Fixed)
        self.fix_height()
        self._render()

    def fix_height(self) -> None:
        """``LINES`` lines of the current font, plus the hint look's padding (style.py)."""
        self.setFixedHeight(LINES * self.fontMetrics().lineSpacing() + 18)   # 2 x 6 px padding, and descenders

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.fix_height()

    def set_hints(self, hints: list[str]) -> None:
        if hints != self.hints:
            self.hints = list(hints)
            self._render()

    def set_status(self, text: str, problem: bool = False) -> None:
        """What an action did; shown until :meth:`drawing_changed` (or a hint takes the line).
        ``problem``: it did not work (a damaged file), shown in the hint's look."""
        self.status = text
        self.problem = problem and bool(text)
        self._render()

    def refresh(self) -> None:
        """Show the line again (its ``tips`` changed: another model asks for something else)."""
        self._render()

    def drawing_changed(self) -> None:
        """The drawing or the model changed: what the last action said is no longer about it.
        Cheap when there is nothing to clear (it runs on every canvas update)."""
        if self.status:
            self.status = ""
            self._render()

    def _render(self) -> None:
        if self.hints:
            kind, text = "hint", " ".join(self.hints)
        elif self.status:
            kind, text = ("hint" if self.problem else "status"), self.status
        else:
            kind, text = "tips", self.tips
        if text != self.text():
            self.setText(text)
            set_tip(self, text)
        if kind != self.kind:
            self.kind = kind
            self.setObjectName("hint" if kind == "hint" else "muted")
            style.set_kind(self, kind)
