"""The building blocks of the arithmetic page (arithmetic.py, arithmetic_terms.py): labels, a
numbered section with its rule, and setters that touch a widget only on a real change.

A click refills the page's widgets rather than building new ones; every text or visibility set
re-lays it out, so the setters here skip the ones that change nothing.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

from .. import style
from ..text import Html, plain_label, rich_label

# Headings get their font directly, not from the style sheet's QLabel#heading: a style-sheet font
# is resolved again on every paint, and with a dozen headings that was ~20 ms of each click.
HEADING_FONT = style.title_font(11.5)


def make_label(rich: bool = True, muted: bool = False) -> QLabel:
    """A page label: rich ones take ``Html`` built with ``text.rich`` (stage and class names come
    from the model file and are escaped there), plain ones show any text as written."""
    label = (rich_label if rich else plain_label)("", "muted" if muted else "", wrap=True)
    label.setTextInteractionFlags(Qt.TextSelectableByMouse | Qt.LinksAccessibleByMouse)
    return label


def set_shown(widget: QWidget, on: bool) -> None:
    """Show or hide only on a real change: each change re-lays out the panel."""
    if widget.isHidden() == on:
        widget.setVisible(on)


def set_text(label: QLabel, text: Html | str) -> None:
    """Set a label's text only when it changed (rich text is laid out again on every set)."""
    if label.text() != text:
        label.setText(text)


class Section(QFrame):
    """A numbered block: a heading and a body."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.lay = QVBoxLayout(self)
        self.lay.setContentsMargins(0, 6, 0, 4)
        self.lay.setSpacing(5)
        self.heading = plain_label(wrap=True)
        self.heading.setFont(HEADING_FONT)
        self.lay.addWidget(self.heading)
        line = QWidget()   # a rule above the block (no per-widget style sheet: those slow every paint)
        line.setFixedHeight(1)
        line.setAutoFillBackground(True)
        pal = line.palette()
        pal.setColor(QPalette.Window, QColor(style.BORDER))
        line.setPalette(pal)
        self.lay.insertWidget(0, line)
