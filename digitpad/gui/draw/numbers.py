"""Small painted widgets that show numbers: grids of values, sorted bars, contribution rows.

The arithmetic panel (arithmetic.py) is built from these. Each paints itself with QPainter
(no child widget per number: a 64-channel conv has 1,700 numbers behind it, and one click
must be on screen within 50 ms), shows exact values in a tooltip, and keeps what it shows
as data (``values``, ``texts``) so tests can read the screen's numbers back.

Colours: positive numbers warm, negative cool (the saliency colours), the stronger the
larger; padding is hatched and says "pad".

One rule for number cells: a cell is never narrower than its grid's widest number plus
``CELL_AIR``. Each cell's fill is painted before the next cell's number, so a number wider than
its cell lost the part that spilled over: "-0.045" in a 34 px cell read "0.045" (its minus sign
under the neighbour's fill) and three cells of 34 px numbers read "0.1170.0630.116". A grid that
gets wider than its room wraps in its row (``arithmetic_terms``), it never squeezes its numbers.
"""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from .. import style
from ..text import show_tip

POSITIVE = QColor(style.SUPPORTS)
NEGATIVE = QColor(style.ARGUES_AGAINST)
CELL_AIR = 8   # px: 4 each side of a cell's widest number, so neighbours never touch


def short(v: float) -> str:
    """A number in at most ~6 characters, for a grid cell: 0, 1.23, -0.045, 12.3, 1e-05."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    v = float(v)
    a = abs(v)
    if a == 0:
        return "0"
    if a >= 1000:
        return f"{v:.0f}" if a < 1e5 else f"{v:.0e}"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    if a >= 0.001:
        return f"{v:.3f}"
    return f"{v:.0e}"


def num(v: float, digits: int = 4) -> str:
    """A number for text: 4 significant decimals, trailing zeros dropped (as the core's as_text)."""
    v = float(v)
    if v == 0:
        return "0"
    if math.isinf(v) or math.isnan(v):
        return str(v)
    if 1e-3 <= abs(v) < 1e5:
        return f"{v:.{digits}f}".rstrip("0").rstrip(".")
    return f"{v:.{digits - 1}g}"


def tint(value: float, scale: float, strength: float = 0.6) -> QColor:
    """A cell background: white, tinted warm or cool by |value| / scale."""
    if not scale or not math.isfinite(value):
        return QColor(style.CARD)
    t = min(1.0, abs(value) / scale) * strength
    base = POSITIVE if value >= 0 else NEGATIVE
    white = QColor(style.CARD)
    return QColor(round(white.red() + (base.red() - white.red()) * t),
                  round(white.green() + (base.green() - white.green()) * t),
                  round(white.blue() + (base.blue() - white.blue()) * t))


def tints(values: np.ndarray, scale: float, strength: float = 0.6) -> np.ndarray:
    """``tint`` for a whole array at once: [..., 3] uint8 RGB."""
    white = np.array(QColor(style.CARD).getRgb()[:3], np.float64)
    pos = np.array(POSITIVE.getRgb()[:3], np.float64)
    neg = np.array(NEGATIVE.getRgb()[:3], np.float64)
    v = np.nan_to_num(np.asarray(values, np.float64))
    t = (np.clip(np.abs(v) / scale, 0, 1) * strength)[..., None] if scale else np.zeros((*v.shape, 1))
    base = np.where((v >= 0)[..., None], pos, neg)
    return np.round(white + (base - white) * t).astype(np.uint8)


def small_font(delta: float = -1.0) -> QFont:
    f = QFont()
    f.setPointSizeF(max(7.0, f.pointSizeF() + delta))
    return f


class NumberGrid(QWidget):
    """A [h, w] grid of numbers. ``padding`` cells are hatched ("pad"); ``marks`` outlines
    cells: {(r, c): "winner"} in the accent colour, {(r, c): "self"} dashed. Row and column
    labels (the input positions a window reads, say) are drawn along the top and left."""

    CELL_H = 22

    def __init__(self, parent=None):
        super().__init__(parent)
        self.values = np.zeros((0, 0))
        self.padding: np.ndarray | None = None
        self.texts: list[list[str]] = []
        self.marks: dict[tuple[int, int], str] = {}
        self.row_labels: list[str] | None = None
        self.col_labels: list[str] | None = None
        self.scale = 1.0
        self.cell_w = 42
        self.caption = ""
        self.describe = None      # (r, c) -> tooltip text
        self._colours: list[list[QColor]] = []
        self._font = small_font()
        self.setSizePolicy(QSizePolicy.Fixed, QSizePolicy.Fixed)

    def set_grid(self, values: np.ndarray, padding: np.ndarray | None = None, *, scale: float | None = None,
                 marks: dict | None = None, row_labels=None, col_labels=None, caption: str = "",
                 cell_w: int | None = None, describe=None) -> None:
        values = np.asarray(values, dtype=np.float64).reshape(np.shape(values)[-2:])
        self.describe = describe
        key = (values.tobytes(), values.shape, None if padding is None else np.asarray(padding, bool).tobytes(),
               scale, tuple(sorted((marks or {}).items())), None if row_labels is None else tuple(map(str, row_labels)),
               None if col_labels is None else tuple(map(str, col_labels)), caption, cell_w)
        if key == getattr(self, "_key", None):
            return   # the same numbers (a kernel, while the drawing changes): nothing to lay out or paint
        self._key = key
        self.values = values
        self.padding = None if padding is None else np.asarray(padding, bool)
        finite = values[np.isfinite(values)] if self.padding is None else values[~self.padding & np.isfinite(values)]
        self.scale = scale if scale is not None else (float(np.abs(finite).max()) if finite.size else 1.0)
        self.marks = dict(marks or {})
        self.row_labels = None if row_labels is None else [str(v) for v in row_labels]
        self.col_labels = None if col_labels is None else [str(v) for v in col_labels]
        self.caption = caption
        self._colours = [[QColor(*rgb) for rgb in row] for row in tints(values, self.scale)]
        self.texts = [["pad" if self._is_pad(r, c) else short(values[r, c]) for c in range(values.shape[1])]
                      for r in range(values.shape[0])]
        self.cell_w = max(int(cell_w or self.cell_w), self.widest() + CELL_AIR)
        self.setFixedSize(self.sizeHint())
        self.update()

    def widest(self) -> int:
        """The width in pixels of the widest text in the cells (at the cells' font)."""
        metrics = QFontMetrics(self._font)
        return max((metrics.horizontalAdvance(t) for row in self.texts for t in row), default=0)

    def clipped(self) -> list[str]:
        """Cells whose text does not fit inside its cell with room to spare: none, by the rule above."""
        metrics = QFontMetrics(self._font)
        return [t for row in self.texts for t in row if metrics.horizontalAdvance(t) + 2 > self.cell_w]

    def _is_pad(self, r: int, c: int) -> bool:
        return self.padding is not None and bool(self.padding[r, c])

    def _origin(self) -> tuple[float, float]:
        left = 22 if self.row_labels else 0
        top = (16 if self.caption else 0) + (15 if self.col_labels else 0)
        return left, top

    def sizeHint(self) -> QSize:
        h, w = self.values.shape
        left, top = self._origin()
        return QSize(int(left + w * self.cell_w + 2), int(top + h * self.CELL_H + 2))

    def cell_at(self, pos: QPointF) -> tuple[int, int] | None:
        left, top = self._origin()
        c = int((pos.x() - left) // self.cell_w)
        r = int((pos.y() - top) // self.CELL_H)
        h, w = self.values.shape
        return (r, c) if 0 <= r < h and 0 <= c < w and pos.x() >= left and pos.y() >= top else None

    def event(self, ev) -> bool:
        if ev.type() == QEvent.ToolTip:
            cell = self.cell_at(ev.position() if hasattr(ev, "position") else QPointF(ev.pos()))
            if cell is not None:
                r, c = cell
                text = self.describe(r, c) if self.describe else (
                    "padding (reads 0)" if self._is_pad(r, c) else f"{self.values[r, c]:.6g}")
                show_tip(ev.globalPos(), text, self)
            else:
                QToolTip.hideText()
            return True
        return super().event(ev)

    def paintEvent(self, _ev) -> None:
        h, w = self.values.shape
        if not h or not w:
            return
        p = QPainter(self)
        p.setFont(self._font)
        left, top = self._origin()
        muted = QColor(style.MUTED)
        if self.caption:
            p.setPen(muted)
            p.drawText(QRectF(left, 0, w * self.cell_w, 15), Qt.AlignLeft | Qt.AlignVCenter, self.caption)
        if self.col_labels:
            p.setPen(muted)
            y = top - 15
            for c, label in enumerate(self.col_labels[:w]):
                p.drawText(QRectF(left + c * self.cell_w, y, self.cell_w, 14), Qt.AlignCenter, label)
        if self.row_labels:
            p.setPen(muted)
            for r, label in enumerate(self.row_labels[:h]):
                p.drawText(QRectF(0, top + r * self.CELL_H, left - 4, self.CELL_H), Qt.AlignRight | Qt.AlignVCenter,
                           label)
        hatch = QBrush(QColor(style.BORDER), Qt.BDiagPattern)
        grid_pen = QPen(QColor(style.BORDER), 1)
        text_pen, faint = QColor(style.TEXT), QColor(style.FAINT)
        for r in range(h):
            for c in range(w):
                rect = QRectF(left + c * self.cell_w, top + r * self.CELL_H, self.cell_w, self.CELL_H)
                if self._is_pad(r, c):
                    p.fillRect(rect, QColor(style.TRACK))
                    p.fillRect(rect, hatch)
                    p.setPen(faint)
                else:
                    p.fillRect(rect, self._colours[r][c])
                    p.setPen(text_pen)
                p.drawText(rect, Qt.AlignCenter, self.texts[r][c])
                p.setPen(grid_pen)
                p.drawRect(rect)
        for (r, c), kind in self.marks.items():
            if not (0 <= r < h and 0 <= c < w):
                continue
            rect = QRectF(left + c * self.cell_w, top + r * self.CELL_H, self.cell_w, self.CELL_H)
            if kind == "winner":
                p.setPen(QPen(QColor(style.ACCENT), 2.5))
                p.drawRect(rect.adjusted(1.5, 1.5, -1.5, -1.5))
            else:
                p.setPen(QPen(QColor(style.TEXT), 1.5, Qt.DashLine))
                p.drawRect(rect.adjusted(3, 3, -3, -3))
        p.end()


class SortedBars(QWidget):
    """One vertical bar per item, sorted from the largest value to the smallest, zero line in
    the middle: how a conv's total splits over its input channels. Hover names the item;
    a click emits ``chosen(item)``. ``highlight`` outlines some items (the expanded ones)."""

    chosen = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.items = np.zeros(0, int)       # item ids in the drawn order
        self.values = np.zeros(0)
        self.highlight: set[int] = set()
        self.label = "channel"
        self.setMinimumHeight(96)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self.setMouseTracking(True)
        self._font = small_font(-1.5)

    def set_values(self, items: np.ndarray, values: np.ndarray, highlight=(), label: str = "channel") -> None:
        order = np.argsort(-np.asarray(values, np.float64), kind="stable")
        self.items = np.asarray(items)[order]
        self.values = np.asarray(values, np.float64)[order]
        self.highlight = set(int(i) for i in highlight)
        self.label = label
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(360, 96)

    def _geometry(self) -> tuple[float, float, float, float]:
        """(left, bar width, zero line y, pixels per unit)."""
        n = max(1, len(self.values))
        left, right = 4.0, 4.0
        width = (self.width() - left - right) / n
        top, bottom = 6.0, self.height() - 14.0
        hi = max(0.0, float(self.values.max())) if len(self.values) else 0.0
        lo = min(0.0, float(self.values.min())) if len(self.values) else 0.0
        span = (hi - lo) or 1.0
        per = (bottom - top) / span
        return left, width, top + hi * per, per

    def index_at(self, x: float) -> int | None:
        left, width, _, _ = self._geometry()
        i = int((x - left) // width) if width > 0 else -1
        return i if 0 <= i < len(self.values) else None

    def mouseMoveEvent(self, ev) -> None:
        i = self.index_at(ev.position().x())
        if i is None:
            QToolTip.hideText()
            return
        show_tip(ev.globalPosition().toPoint(),
                 f"{self.label} {int(self.items[i])}: {self.values[i]:.6g} (click to see it)", self)

    def mousePressEvent(self, ev) -> None:
        i = self.index_at(ev.position().x())
        if i is not None and ev.button() == Qt.LeftButton:
            self.chosen.emit(int(self.items[i]))

    def paintEvent(self, _ev) -> None:
        if not len(self.values):
            return
        p = QPainter(self)
        left, width, zero, per = self._geometry()
        gap = 1.0 if width >= 4 else 0.0
        for i, v in enumerate(self.values):
            x = left + i * width
            y0, y1 = sorted((zero, zero - v * per))
            rect = QRectF(x, y0, max(1.0, width - gap), max(1.0, y1 - y0))
            p.fillRect(rect, POSITIVE if v >= 0 else NEGATIVE)
            if int(self.items[i]) in self.highlight:
                p.setPen(QPen(QColor(style.ACCENT), 2))
                p.drawRect(rect.adjusted(-1, -1, 1, 1))
        p.setPen(QPen(QColor(style.MUTED), 1))
        p.drawLine(QPointF(left, zero), QPointF(self.width() - 4, zero))
        p.setFont(self._font)
        p.setPen(QColor(style.MUTED))
        y = self.height() - 13
        p.drawText(QRectF(left, y, 200, 12), Qt.AlignLeft, f"largest: {self.label} {int(self.items[0])}")
        p.drawText(QRectF(self.width() - 204, y, 200, 12), Qt.AlignRight,
                   f"smallest: {self.label} {int(self.items[-1])}")
        p.end()


class ContributionRows(QWidget):
    """Rows of ``label   input × weight = product`` with a bar for the product, largest |product|
    first: a dense unit's biggest contributions. A click emits ``chosen(row)``."""

    chosen = Signal(int)
    ROW_H = 20

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[tuple[str, float, float, float]] = []   # label, input, weight, product
        self.texts: list[str] = []
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self.setMouseTracking(True)
        self._font = small_font()
        self.clickable = True

    def set_rows(self, rows: list[tuple[str, float, float, float]], clickable: bool = True) -> None:
        self.rows = rows
        self.clickable = clickable
        self.texts = [f"{label}   {num(x)} × {num(w)} = {num(prod)}" for label, x, w, prod in rows]
        self.setFixedHeight(self.ROW_H * len(rows) + 2)
        self.setCursor(Qt.PointingHandCursor if clickable else Qt.ArrowCursor)
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(420, self.ROW_H * len(self.rows) + 2)

    def mouseMoveEvent(self, ev) -> None:
        i = int(ev.position().y() // self.ROW_H)
        if 0 <= i < len(self.rows):
            label, x, w, prod = self.rows[i]
            more = "\nClick to see how this input was computed." if self.clickable else ""
            show_tip(ev.globalPosition().toPoint(), f"{label}\ninput {x:.6g} × weight {w:.6g} = {prod:.6g}" + more,
                     self)

    def mousePressEvent(self, ev) -> None:
        i = int(ev.position().y() // self.ROW_H)
        if self.clickable and 0 <= i < len(self.rows) and ev.button() == Qt.LeftButton:
            self.chosen.emit(i)

    def paintEvent(self, _ev) -> None:
        if not self.rows:
            return
        p = QPainter(self)
        p.setFont(self._font)
        scale = max(abs(r[3]) for r in self.rows) or 1.0
        bar_w = min(220.0, max(40.0, self.width() * 0.3 - 60))
        text_w = self.width() - bar_w - 8
        mid = text_w + 4 + bar_w / 2
        for i, ((*_, prod), text) in enumerate(zip(self.rows, self.texts)):
            y = i * self.ROW_H
            if i % 2:
                p.fillRect(QRectF(0, y, self.width(), self.ROW_H), QColor(style.LOG_BG))
            p.setPen(QColor(style.TEXT))
            p.drawText(QRectF(4, y, text_w - 4, self.ROW_H), Qt.AlignLeft | Qt.AlignVCenter,
                       p.fontMetrics().elidedText(text, Qt.ElideMiddle, int(text_w - 4)))
            length = abs(prod) / scale * (bar_w / 2 - 2)
            rect = QRectF(mid if prod >= 0 else mid - length, y + 5, length, self.ROW_H - 10)
            p.fillRect(rect, POSITIVE if prod >= 0 else NEGATIVE)
        p.setPen(QPen(QColor(style.MUTED), 1))
        p.drawLine(QPointF(mid, 0), QPointF(mid, self.height()))
        p.end()
