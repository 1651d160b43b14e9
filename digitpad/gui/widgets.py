"""Small widgets every tab uses, so each looks and behaves the same."""
from __future__ import annotations

from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout


def card(title: str | None = None) -> tuple[QFrame, QVBoxLayout]:
    """A white rounded panel with an optional small-caps title; returns (frame, its layout)."""
    frame = QFrame()
    frame.setObjectName("card")
    lay = QVBoxLayout(frame)
    lay.setContentsMargins(14, 12, 14, 14)
    lay.setSpacing(8)
    if title:
        label = QLabel(title.upper())
        label.setObjectName("cardTitle")
        lay.addWidget(label)
    return frame, lay
