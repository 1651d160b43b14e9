"""The confusion matrix: K x K counts (rows the true class, columns the prediction) and each class's
accuracy in a last column, with the model's class names (2 to 100 of them). With a second model to
compare with, its per-class accuracy is one more column, right beside the first's, coloured by which
of the two is better.

Names longer than a digit are written upwards over their columns, so "automobile" reads whole in a
column 55 px wide at 1280x720; a name longer than the header's height is cut with "…", and every
name is whole in its header's tooltip. Past about 14 classes the columns keep a readable width and
the table scrolls.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QStyle,
    QStyleOptionHeader,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from digitpad.core.evaluation import EvalResult

from .. import style
from ..text import set_tip

MIN_CELL = 38            # px: "1,000" still fits
ROW_NAME = 110           # px: row names longer than this are cut ("…"), whole in their tooltip
COLUMN_NAME = 96         # px: the tallest the upward column names get


def mix(a: str, b: str, t: float) -> QColor:
    ca, cb = QColor(a), QColor(b)
    return QColor(int(ca.red() + (cb.red() - ca.red()) * t), int(ca.green() + (cb.green() - ca.green()) * t),
                  int(ca.blue() + (cb.blue() - ca.blue()) * t))


def percent(v: float) -> str:
    return "100 %" if v >= 1 else f"{v * 100:.1f} %"


class ColumnHeader(QHeaderView):
    """A horizontal header whose titles run upwards (bottom to top) while ``upward`` is on."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(Qt.Horizontal, parent)
        self.upward = False
        self.setDefaultAlignment(Qt.AlignCenter)

    def set_upward(self, on: bool) -> None:
        self.upward = on
        self.updateGeometry()
        self.viewport().update()

    def _names(self) -> list[str]:
        return [str(self.model().headerData(i, Qt.Horizontal, Qt.DisplayRole) or "") for i in range(self.count())]

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        if self.upward and self.count():
            widest = max(self.fontMetrics().horizontalAdvance(n) for n in self._names())
            hint.setHeight(min(widest, COLUMN_NAME) + 12)
        return hint

    def paintSection(self, painter, rect: QRect, index: int) -> None:
        if not self.upward:
            super().paintSection(painter, rect, index)
            return
        painter.save()
        option = QStyleOptionHeader()
        self.initStyleOption(option)
        option.rect, option.section, option.text = rect, index, ""
        self.style().drawControl(QStyle.CE_Header, option, painter, self)   # the section's frame, no text
        painter.restore()
        text = str(self.model().headerData(index, Qt.Horizontal, Qt.DisplayRole) or "")
        room = rect.height() - 10
        painter.save()
        painter.translate(rect.left(), rect.bottom())
        painter.rotate(-90)                     # x now runs up the section, y across it
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(QRect(5, 0, room, rect.width()), Qt.AlignLeft | Qt.AlignVCenter,
                         self.fontMetrics().elidedText(text, Qt.ElideRight, room))
        painter.restore()


class ConfusionMatrix(QTableWidget):
    """``show_result(result)`` / ``clear_result(classes)``; cells of the last column are not clickable."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(10, 11, parent)
        self.columns = ColumnHeader(self)
        self.setHorizontalHeader(self.columns)
        self.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SingleSelection)
        self.setFocusPolicy(Qt.StrongFocus)
        self.setWordWrap(False)
        self.columns.setMinimumSectionSize(MIN_CELL)
        self.verticalHeader().setMinimumSectionSize(24)
        self.verticalHeader().setMaximumWidth(ROW_NAME + 16)
        self.setStyleSheet(f"QTableWidget::item:selected {{ border: 2px solid {style.TEXT}; "
                           f"color: {style.TEXT}; }}")
        self.clear_result([str(i) for i in range(10)])

    @property
    def accuracy_column(self) -> int:
        return self.columnCount() - 1

    def _shape(self, names: list[str], second: str | None = None) -> None:
        """K rows, K + 1 columns (K + 2 with a second model), named; stretched to the view while that leaves
        each cell MIN_CELL."""
        k = len(names)
        self.setRowCount(k)
        self.setColumnCount(k + 1 + (second is not None))
        metrics = self.fontMetrics()
        self.columns.set_upward(max(metrics.horizontalAdvance(n) for n in names) > MIN_CELL - 8)
        for c, name in enumerate([*names, "Accuracy"] + (["Compared"] if second is not None else [])):
            item = QTableWidgetItem(name)
            set_tip(item, f"predicted {name}" if c < k else "Each class's accuracy (recall): the share of its "
                                                            "test images the model got right" if c == k else
                    f"Each class's accuracy for {second}, the model compared with: green where it does better")
            self.setHorizontalHeaderItem(c, item)
        for r, name in enumerate(names):
            item = QTableWidgetItem(metrics.elidedText(name, Qt.ElideRight, ROW_NAME))
            set_tip(item, f"true {name}")
            self.setVerticalHeaderItem(r, item)
        # Stretched to the view; a header does not stretch a section below its minimum, so many classes scroll.
        self.columns.setSectionResizeMode(QHeaderView.Stretch)
        for c in range(k, self.columnCount()):
            self.columns.setSectionResizeMode(c, QHeaderView.ResizeToContents)   # "73.5 %" whole
        self.verticalHeader().setSectionResizeMode(QHeaderView.Stretch)

    def clear_result(self, names: list[str]) -> None:
        self._shape(names)
        for r in range(self.rowCount()):
            for c in range(self.columnCount()):
                self.setItem(r, c, QTableWidgetItem(""))

    def show_result(self, result: EvalResult, second: EvalResult | None = None) -> None:
        """``second``: the model compared with, on the same test set (its per-class accuracy beside)."""
        names = result.classes
        self._shape(names, second.model_name if second is not None else None)
        conf = result.confusion
        k = len(names)
        totals = np.maximum(conf.sum(axis=1), 1)
        off_max = max(1, int((conf - np.diag(np.diag(conf))).max()))
        per = result.per_class_accuracy
        overall = result.accuracy
        for r in range(k):
            for c in range(k):
                n = int(conf[r, c])
                item = QTableWidgetItem(f"{n:,}" if n else "·")
                item.setTextAlignment(Qt.AlignCenter)
                if r == c:
                    t = 0.15 + 0.55 * n / totals[r]
                    bg, fg = mix(style.WHITE, style.CORRECT, t), QColor(style.WHITE if t > 0.45 else style.TEXT)
                elif n:
                    t = np.log1p(n) / np.log1p(off_max)
                    bg = mix(style.MISTAKE_LOW, style.MISTAKE_HIGH, t)
                    fg = QColor(style.WHITE if t > 0.55 else style.TEXT)
                else:
                    bg, fg = QColor(style.WHITE), QColor(style.EMPTY_CELL)
                item.setBackground(QBrush(bg))
                item.setForeground(QBrush(fg))
                set_tip(item, f"true {names[r]}, predicted {names[c]}: {n:,} images "
                              f"({n / totals[r] * 100:.1f} % of {names[r]})")
                self.setItem(r, c, item)
            acc = QTableWidgetItem(percent(per[r]) if np.isfinite(per[r]) else "–")
            acc.setTextAlignment(Qt.AlignCenter)
            # Against the model's own accuracy: its better classes green, its worse ones red, whatever its level.
            t = float(np.clip(0.5 + (per[r] - overall) / 0.2, 0, 1)) if np.isfinite(per[r]) else 0.5
            acc.setBackground(QBrush(mix(style.ERROR_BG, style.OK_BG, t)))
            acc.setForeground(QBrush(QColor(style.TEXT)))
            acc.setFlags(Qt.ItemIsEnabled)
            set_tip(acc, f"{names[r]}: {per[r] * 100:.2f} % recognised ({int(conf[r, r]):,} of "
                         f"{int(conf[r].sum()):,})")
            self.setItem(r, k, acc)
        if second is not None:
            self._show_second(result, second)

    def _show_second(self, result: EvalResult, second: EvalResult) -> None:
        """The compared model's per-class accuracy in the last column: green where it beats the first model by
        a point or more, red where it trails."""
        names, k = result.classes, len(result.classes)
        per, other = result.per_class_accuracy, second.per_class_accuracy
        conf = second.confusion
        for r in range(k):
            acc = QTableWidgetItem(percent(other[r]) if np.isfinite(other[r]) else "–")
            acc.setTextAlignment(Qt.AlignCenter)
            diff = other[r] - per[r] if np.isfinite(other[r]) and np.isfinite(per[r]) else 0.0
            acc.setBackground(QBrush(mix(style.ERROR_BG, style.OK_BG, float(np.clip(0.5 + diff / 0.02, 0, 1)))))
            acc.setForeground(QBrush(QColor(style.TEXT)))
            acc.setFlags(Qt.ItemIsEnabled)
            set_tip(acc, f"{names[r]}: {second.model_name} {other[r] * 100:.2f} % ({int(conf[r, r]):,} of "
                         f"{int(conf[r].sum()):,}), {result.model_name} {per[r] * 100:.2f} % "
                         f"({diff * 100:+.2f} points)")
            self.setItem(r, k + 1, acc)
