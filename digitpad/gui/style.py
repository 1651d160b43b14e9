"""One look for the whole app: a light, calm palette with a single accent colour.

Every colour the Qt side paints with is named here, and every shared look (cards, result
boxes, progress bars, the primary and disabled buttons) is one rule of the stylesheet, so a
widget picks a look by its object name or a property, never by a colour of its own.
"""
from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication, QWidget

BG = "#f3f4f7"
CARD = "#ffffff"
BORDER = "#e2e5ec"
TEXT = "#1d2333"
MUTED = "#6b7385"
FAINT = "#b4bac6"          # disabled text
ACCENT = "#3b6ef5"
ACCENT_SOFT = "#e6edff"
WARN_BG = "#fff6e0"
WARN_TEXT = "#7a5200"
ERROR_BG = "#fdecec"
ERROR_TEXT = "#9b1c1c"
OK_BG = "#e7f6ec"
OK_TEXT = "#17603a"
BAR_IDLE = "#c9cfdb"
TRACK = "#eef0f5"          # the empty part of a bar
DISABLED_BG = "#f6f7f9"
LOG_BG = "#fafbfc"
GRID = "#eef0f4"

# The drawing surface (canvas.py).
PAPER = "#fbfbfd"
INK = TEXT
FRAME = "#d5d9e2"
GUIDE = "#eceef3"
PEN_OUTLINE = QColor(120, 130, 150, 160)

# The model input view: black like MNIST's background; saliency warm (supports the answer)
# and cool (argues against), drawn over it. Chosen by measured contrast against black
# (tests/gui/test_saliency_colours.py): the old blue #3c8cff, at the opacity a weak value
# got, was 1.6:1 on black and hardly seen. Both now reach >= 3:1 even at the faintest
# opacity drawn (SALIENCY_MIN_ALPHA) and >= 6:1 at full strength; the blue leans to cyan,
# because the eye sees little of pure blue.
INPUT_BG = "#000000"
INPUT_EMPTY_TEXT = "#7d8597"
SUPPORTS = "#ff8228"
ARGUES_AGAINST = "#32beff"
SALIENCY_MIN_ALPHA = 0.55   # the faintest a shown saliency value is drawn
SALIENCY_FLOOR = 0.1        # |value| / max below this is not drawn at all (occlusion noise)

# Plots and matrices.
SERIES = [ACCENT, "#e8702a", "#2a9d5c", "#9b4dca"]   # runs overlaid in the history, in order
CORRECT = "#2f7d4f"        # confusion matrix diagonal
MISTAKE_LOW = "#fff1ec"
MISTAKE_HIGH = "#d9481c"
EMPTY_CELL = "#c3c8d2"
WHITE = "#ffffff"

# Explore and compare: a colour per class on the test-set map (Tableau's ten, told apart by most
# people with a colour-vision deficiency too), the drawing's point, a patch outline, the two models.
CLASS_COLOURS = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
                 "#9c755f", "#bab0ac"]
LIVE_POINT = "#111111"
PATCH = "#ffd400"          # the part of a test image a unit sees: yellow shows on black digits and on photos
FIRST_MODEL, SECOND_MODEL = ACCENT, "#e8702a"


def class_colour(k: int, count: int = 10) -> QColor:
    """Class ``k``'s colour on the map: the ten above, else hues spread evenly for more classes."""
    if count <= len(CLASS_COLOURS):
        return QColor(CLASS_COLOURS[k % len(CLASS_COLOURS)])
    return QColor.fromHsvF((k / count) % 1.0, 0.65, 0.85)

STYLESHEET = f"""
QMainWindow, QWidget#workbench {{ background: {BG}; }}
QFrame#card {{ background: {CARD}; border: 1px solid {BORDER}; border-radius: 10px; }}
QLabel#cardTitle {{ color: {MUTED}; font-weight: 600; font-size: 11px; letter-spacing: 0.5px; }}
QLabel#muted {{ color: {MUTED}; }}
QLabel#heading {{ font-size: 15px; font-weight: 600; }}
QLabel#hint {{ background: {WARN_BG}; color: {WARN_TEXT}; border-radius: 6px; padding: 6px 8px; }}
QLabel#banner {{ background: {ERROR_BG}; color: {ERROR_TEXT}; border-radius: 6px; padding: 8px 10px; }}
QLabel#banner[kind="warn"] {{ background: {WARN_BG}; color: {WARN_TEXT}; }}
QFrame#resultBox {{ border-radius: 6px; }}
QFrame#resultBox[kind="ok"] {{ background: {OK_BG}; }}
QFrame#resultBox[kind="ok"] QLabel {{ color: {OK_TEXT}; }}
QFrame#resultBox[kind="warn"] {{ background: {WARN_BG}; }}
QFrame#resultBox[kind="warn"] QLabel {{ color: {WARN_TEXT}; }}
QFrame#resultBox[kind="error"] {{ background: {ERROR_BG}; }}
QFrame#resultBox[kind="error"] QLabel {{ color: {ERROR_TEXT}; }}
QToolButton {{ border: 1px solid {BORDER}; border-radius: 6px; padding: 4px 7px; background: {CARD}; }}
QToolButton:hover {{ background: {ACCENT_SOFT}; }}
QToolButton#link {{ border: none; background: transparent; color: {ACCENT}; padding: 0px 4px; font-size: 11px; }}
QToolButton#link:hover {{ text-decoration: underline; }}
QToolButton:checked {{ background: {ACCENT_SOFT}; border-color: {ACCENT}; color: {ACCENT}; }}
QPushButton {{ border: 1px solid {BORDER}; border-radius: 6px; padding: 5px 12px; background: {CARD}; }}
QPushButton:hover {{ background: {ACCENT_SOFT}; }}
QPushButton#primary {{ background: {ACCENT}; color: white; border-color: {ACCENT}; font-weight: 600; }}
QToolButton:disabled, QPushButton:disabled {{ color: {FAINT}; background: {DISABLED_BG}; border-color: {BORDER}; }}
QPushButton#primary:disabled {{ color: white; background: {BAR_IDLE}; border-color: {BAR_IDLE}; }}
QProgressBar {{ background: {BORDER}; border: none; border-radius: 4px; }}
QProgressBar::chunk {{ background: {ACCENT}; border-radius: 4px; }}
QPlainTextEdit#log {{ border: none; background: {LOG_BG}; }}
QTabWidget::pane {{ border: none; }}
QTabBar::tab {{ padding: 7px 16px; color: {MUTED}; border: none; border-bottom: 2px solid transparent; }}
QTabBar::tab:selected {{ color: {TEXT}; border-bottom: 2px solid {ACCENT}; }}
QTabBar::tab:hover {{ color: {TEXT}; }}
QTabWidget#inspectorTabs > QTabBar::tab {{ padding: 7px 7px; }}
QStatusBar {{ color: {MUTED}; }}
QStatusBar QLabel {{ color: {MUTED}; padding: 0 10px; }}
QLabel#formLabel {{ color: {MUTED}; }}
QSlider::groove:horizontal {{ height: 4px; background: {BORDER}; border-radius: 2px; }}
QSlider::handle:horizontal {{ width: 14px; margin: -6px 0; border-radius: 7px; background: {ACCENT}; }}
QTableWidget {{ gridline-color: {GRID}; border: none; }}
QLabel#muted[kind="tips"], QLabel#muted[kind="status"] {{ padding: 6px 0px; }}
QScrollArea#page {{ background: {BG}; border: none; }}
"""


def apply(app: QApplication) -> None:
    app.setStyle("Fusion")
    pal = app.palette()
    for role, colour in ((QPalette.Window, BG), (QPalette.Base, CARD), (QPalette.Text, TEXT),
                         (QPalette.WindowText, TEXT), (QPalette.ButtonText, TEXT), (QPalette.Button, CARD),
                         (QPalette.Highlight, ACCENT), (QPalette.HighlightedText, "#ffffff")):
        pal.setColor(role, QColor(colour))
    # setColor(role, c) sets every colour group, the Disabled one too: without these, a disabled
    # combo box, spin box, check box or line edit (drawn from the palette, not the stylesheet)
    # looks exactly like an enabled one.
    for role in (QPalette.Text, QPalette.WindowText, QPalette.ButtonText):
        pal.setColor(QPalette.Disabled, role, QColor(FAINT))
    pal.setColor(QPalette.Disabled, QPalette.Base, QColor(DISABLED_BG))
    pal.setColor(QPalette.Disabled, QPalette.Button, QColor(DISABLED_BG))
    app.setPalette(pal)
    font = app.font()
    if font.pointSizeF() < 10:
        font.setPointSizeF(10)
    app.setFont(font)
    app.setStyleSheet(STYLESHEET)


def set_kind(widget: QWidget, kind: str) -> None:
    """Pick a look from the stylesheet by a dynamic property (e.g. a result box's ok/warn/error)."""
    widget.setProperty("kind", kind)
    widget.style().unpolish(widget)
    widget.style().polish(widget)


def relative_luminance(colour: str | QColor) -> float:
    """WCAG 2 relative luminance of an sRGB colour, 0 (black) .. 1 (white)."""
    c = QColor(colour)

    def lin(v: float) -> float:
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    return 0.2126 * lin(c.redF()) + 0.7152 * lin(c.greenF()) + 0.0722 * lin(c.blueF())


def contrast_ratio(a: str | QColor, b: str | QColor) -> float:
    """WCAG 2 contrast ratio, 1 (none) .. 21 (black on white)."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def blend(colour: str | QColor, background: str | QColor, alpha: float) -> QColor:
    """``colour`` drawn at opacity ``alpha`` over ``background``."""
    c, b = QColor(colour), QColor(background)
    return QColor.fromRgbF(*(alpha * x + (1 - alpha) * y for x, y in
                             ((c.redF(), b.redF()), (c.greenF(), b.greenF()), (c.blueF(), b.blueF()))))


def title_font(size: float, weight=QFont.DemiBold) -> QFont:
    f = QFont()
    f.setPointSizeF(size)
    f.setWeight(weight)
    return f
