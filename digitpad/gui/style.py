"""One look for the whole app: a light, calm palette with a single accent colour."""
from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

BG = "#f3f4f7"
CARD = "#ffffff"
BORDER = "#e2e5ec"
TEXT = "#1d2333"
MUTED = "#6b7385"
ACCENT = "#3b6ef5"
ACCENT_SOFT = "#e6edff"
WARN_BG = "#fff6e0"
WARN_TEXT = "#7a5200"
ERROR_BG = "#fdecec"
ERROR_TEXT = "#9b1c1c"
BAR_IDLE = "#c9cfdb"

STYLESHEET = f"""
QMainWindow, QWidget#workbench {{ background: {BG}; }}
QFrame#card {{ background: {CARD}; border: 1px solid {BORDER}; border-radius: 10px; }}
QLabel#cardTitle {{ color: {MUTED}; font-weight: 600; font-size: 11px; letter-spacing: 0.5px; }}
QLabel#muted {{ color: {MUTED}; }}
QLabel#heading {{ font-size: 15px; font-weight: 600; }}
QLabel#hint {{ background: {WARN_BG}; color: {WARN_TEXT}; border-radius: 6px; padding: 6px 8px; }}
QLabel#banner {{ background: {ERROR_BG}; color: {ERROR_TEXT}; border-radius: 6px; padding: 8px 10px; }}
QToolButton {{ border: 1px solid {BORDER}; border-radius: 6px; padding: 4px 7px; background: {CARD}; }}
QToolButton:hover {{ background: {ACCENT_SOFT}; }}
QToolButton:checked {{ background: {ACCENT_SOFT}; border-color: {ACCENT}; color: {ACCENT}; }}
QToolButton:disabled {{ color: #b4bac6; }}
QPushButton {{ border: 1px solid {BORDER}; border-radius: 6px; padding: 5px 12px; background: {CARD}; }}
QPushButton:hover {{ background: {ACCENT_SOFT}; }}
QTabWidget::pane {{ border: none; }}
QTabBar::tab {{ padding: 7px 16px; color: {MUTED}; border: none; border-bottom: 2px solid transparent; }}
QTabBar::tab:selected {{ color: {TEXT}; border-bottom: 2px solid {ACCENT}; }}
QTabBar::tab:hover {{ color: {TEXT}; }}
QStatusBar {{ color: {MUTED}; }}
QStatusBar QLabel {{ color: {MUTED}; padding: 0 10px; }}
QLabel#formLabel {{ color: {MUTED}; }}
QSlider::groove:horizontal {{ height: 4px; background: {BORDER}; border-radius: 2px; }}
QSlider::handle:horizontal {{ width: 14px; margin: -6px 0; border-radius: 7px; background: {ACCENT}; }}
"""


def apply(app: QApplication) -> None:
    app.setStyle("Fusion")
    pal = app.palette()
    for role, colour in ((QPalette.Window, BG), (QPalette.Base, CARD), (QPalette.Text, TEXT),
                         (QPalette.WindowText, TEXT), (QPalette.ButtonText, TEXT), (QPalette.Button, CARD),
                         (QPalette.Highlight, ACCENT), (QPalette.HighlightedText, "#ffffff")):
        pal.setColor(role, QColor(colour))
    app.setPalette(pal)
    font = app.font()
    if font.pointSizeF() < 10:
        font.setPointSizeF(10)
    app.setFont(font)
    app.setStyleSheet(STYLESHEET)


def title_font(size: float, weight=QFont.DemiBold) -> QFont:
    f = QFont()
    f.setPointSizeF(size)
    f.setWeight(weight)
    return f
