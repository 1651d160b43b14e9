"""Small widgets every tab uses, so each looks and behaves the same."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from . import style


class Card(QFrame):
    """A white rounded panel with an optional small-caps title; ``body`` is its layout."""

    def __init__(self, title: str | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("card")
        self.body = QVBoxLayout(self)
        self.body.setContentsMargins(14, 12, 14, 14)
        self.body.setSpacing(8)
        if title:
            label = QLabel(title.upper())
            label.setObjectName("cardTitle")
            self.body.addWidget(label)


def card(title: str | None = None) -> tuple[Card, QVBoxLayout]:
    """A :class:`Card` and its layout, for building a panel in place."""
    c = Card(title)
    return c, c.body


def muted(text: str = "", wrap: bool = True) -> QLabel:
    """Secondary text: captions, notes, what a control does."""
    label = QLabel(text)
    label.setObjectName("muted")
    label.setWordWrap(wrap)
    return label


def thin_progress_bar(height: int = 8) -> QProgressBar:
    bar = QProgressBar()
    bar.setRange(0, 1000)
    bar.setTextVisible(False)
    bar.setFixedHeight(height)
    return bar


class ResultBox(QFrame):
    """The outcome of something long (a run, an export, a fine-tune): coloured text, and
    buttons for what to do next. ``show_result("ok" | "warn" | "error", html)``."""

    def __init__(self, buttons: list[QPushButton] = (), parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("resultBox")
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 8, 10, 8)
        self.label = QLabel("")
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.RichText)
        self.label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        row.addWidget(self.label, 1)
        for b in buttons:
            row.addWidget(b, 0, Qt.AlignTop)
        self.setVisible(False)

    def show_result(self, kind: str, html: str) -> None:
        style.set_kind(self, kind)
        self.label.setText(html)
        self.setVisible(True)

    def text(self) -> str:
        return self.label.text()
