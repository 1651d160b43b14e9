"""The Model tab's shapes: the loaded model's layers, the size formula filled in, and what-if.

Three parts, all from digitpad.core.shapes (no onnx import here; the model's graph is read
by gui.draw.stepwise on a worker thread):

- a diagram of the stages that change the shape (input, convs, pools, flatten, dense,
  softmax): maps as blocks whose side follows their size and whose depth their channels;
- a table of every stage: output shape, the output-size formula (W - K + 2P) / S + 1 filled in (its
  K, P and S are in it), parameters and multiply-adds, with the totals; it fits the pane's width (names
  and formulas wrap; the op is in the stage's tooltip), never scrolling sideways under a cut header;
- what-if: the model's convs and pools with K, P, S (and ceil mode for pools) and the input
  size editable; the shapes follow as you type, and a setting that cannot work is explained
  in words (``shapes.what_if``).
"""
from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from digitpad.core.shapes import LayerSpec, specs_of, what_if

from .. import style
from ..text import plain_label, rich, rich_label, set_tip
from ..widgets import muted
from .numbers import small_font

# Per-unit ops keep the shape: the diagram leaves them out (the table lists them).
SAME_SHAPE = {"Relu", "LeakyRelu", "Clip", "Sigmoid", "Tanh", "BatchNormalization", "Identity", "Dropout",
              "Sub", "Add", "Mul", "Div", "Cast", "CastLike"}


def _shape(shape) -> str:
    return "×".join(str(d) for d in shape)


def _count(n: int) -> str:
    if n >= 10_000_000:
        return f"{n / 1e6:.1f} M"
    return f"{n:,}"


class ShapeDiagram(QWidget):
    """The shape-changing stages left to right (wrapping), each with its title and shape."""

    COL_W, ROW_H = 92, 132

    def __init__(self, parent=None):
        super().__init__(parent)
        self.blocks: list[tuple[str, tuple[int, ...]]] = []
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self._font = small_font()

    def set_stages(self, blocks: list[tuple[str, tuple[int, ...]]]) -> None:
        self.blocks = blocks
        self._fit(self.width())
        self.update()

    def _per_row(self, width: int) -> int:
        return max(1, (max(width, self.COL_W) - 8) // self.COL_W)

    def _fit(self, width: int) -> None:
        rows = -(-len(self.blocks) // self._per_row(width)) if self.blocks else 0
        self.setFixedHeight(max(1, rows) * self.ROW_H + 4)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit(event.size().width())

    def sizeHint(self) -> QSize:
        return QSize(600, self.height())

    def paintEvent(self, _ev) -> None:
        if not self.blocks:
            return
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        p.setFont(self._font)
        per_row = self._per_row(self.width())
        biggest = max((s[1] for _, s in self.blocks if len(s) == 3), default=28)
        for i, (title, shape) in enumerate(self.blocks):
            col, row = i % per_row, i // per_row
            x0, y0 = 4 + col * self.COL_W, 2 + row * self.ROW_H
            box = QRectF(x0, y0 + 16, self.COL_W - 16, self.ROW_H - 52)
            p.setPen(QColor(style.TEXT))
            p.drawText(QRectF(x0, y0, self.COL_W - 8, 15), Qt.AlignHCenter | Qt.AlignVCenter,
                       p.fontMetrics().elidedText(title, Qt.ElideRight, self.COL_W - 10))
            self._block(p, box, shape, biggest)
            p.setPen(QColor(style.MUTED))
            p.drawText(QRectF(x0 - 4, box.bottom() + 2, self.COL_W, 15), Qt.AlignHCenter, _shape(shape))
            if i + 1 < len(self.blocks) and col + 1 < per_row:
                y = box.center().y()
                p.setPen(QPen(QColor(style.FAINT), 1.5))
                p.drawLine(QPointF(box.right() + 1, y), QPointF(box.right() + 13, y))
                p.drawPolygon(QPolygonF([QPointF(box.right() + 14, y), QPointF(box.right() + 10, y - 3),
                                         QPointF(box.right() + 10, y + 3)]))
        p.end()

    def _block(self, p: QPainter, box: QRectF, shape, biggest: int) -> None:
        fill, edge = QColor(style.ACCENT_SOFT), QColor(style.ACCENT)
        if len(shape) == 3:
            c, h, w = shape
            side = max(6.0, (box.height() - 14) * math.sqrt(h / biggest))
            depth = min(14.0, 2.0 * math.log2(max(c, 1)) + 1)
            x = box.center().x() - (side + depth) / 2
            y = box.center().y() - (side + depth) / 2 + depth
            p.setPen(QPen(edge, 1))
            for k in range(3, -1, -1):     # a stack: the channels behind each other
                off = depth * k / 3
                p.setBrush(fill if k else QColor(style.CARD))
                p.drawRect(QRectF(x + off, y - off, side * w / h if h else side, side))
        else:
            n = int(math.prod(shape))
            height = min(box.height(), 8 + 12 * math.log10(max(n, 1)))
            p.setPen(QPen(edge, 1))
            p.setBrush(fill)
            p.drawRect(QRectF(box.center().x() - 5, box.center().y() - height / 2, 10, height))


class ShapesView(QWidget):
    """The loaded model's shapes, formulas, params and multiply-adds, and a what-if panel."""

    HEADERS = ["Stage", "Output", "Output size:\n(W − K + 2P) / S + 1", "Params", "Mult-adds"]
    WRAPPED = (0, 2)   # the columns that share the width left and wrap: the stage's name, the formula

    def __init__(self, stepwise, parent=None):
        super().__init__(parent)
        self.stepwise = stepwise
        self.predictor = None
        self.specs: list[LayerSpec] = []
        self.model_size, self.model_channels = 28, 1
        self._shown_for = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(16, 6, 16, 14)
        lay.setSpacing(8)
        lay.addWidget(plain_label("Shapes and formulas", "heading"))
        self.status = muted("")
        lay.addWidget(self.status)
        self.diagram = ShapeDiagram()
        lay.addWidget(self.diagram)
        self.table = QTableWidget(0, len(self.HEADERS))
        self.table.setHorizontalHeaderLabels(self.HEADERS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.setSelectionMode(QTableWidget.NoSelection)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.table.setWordWrap(True)
        self.table.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Fixed)   # the pane's width, whatever it is
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        for c in self.WRAPPED:
            header.setSectionResizeMode(c, QHeaderView.Stretch)
        header.setStretchLastSection(False)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self._refit = QTimer(self)   # once the columns have their widths: the rows' heights follow
        self._refit.setSingleShot(True)
        self._refit.timeout.connect(self._fit_height)
        header.sectionResized.connect(lambda *_a: self._refit.start(0))
        lay.addWidget(self.table)
        self.totals = rich_label(wrap=True)
        lay.addWidget(self.totals)
        self._build_what_if(lay)
        lay.addStretch(1)
        stepwise.changed.connect(self._refresh)

    def _build_what_if(self, lay: QVBoxLayout) -> None:
        head = QHBoxLayout()   # the reset beside the heading: with the input's boxes it was wider than the pane
        head.addWidget(plain_label("What if?", "heading"))
        head.addStretch(1)
        lay.addLayout(head)
        lay.addWidget(muted("Change a layer's kernel K, padding P or stride S, or the input's size or channels: "
                            "the shapes and the first conv's parameters follow. This only computes shapes; the "
                            "model itself is not changed."))
        self.input_row = QHBoxLayout()   # the input's size and channels, above the layers' grid (its own
        lay.addLayout(self.input_row)    # row: in the grid they widened its first columns)
        self.what_if_grid = QGridLayout()
        self.what_if_grid.setHorizontalSpacing(10)
        self.what_if_grid.setVerticalSpacing(4)
        lay.addLayout(self.what_if_grid)
        self.input_size = QSpinBox()
        self.input_size.setRange(0, 512)
        self.input_size.setPrefix("input ")
        self.input_size.setSuffix(" px")
        self.input_size.valueChanged.connect(self._recompute)
        self.input_channels = QSpinBox()
        self.input_channels.setRange(1, 64)
        self.input_channels.setPrefix("channels ")
        set_tip(self.input_channels, "The input's channels: 3 for colour (red, green, blue), 1 for grey")
        self.input_channels.valueChanged.connect(self._recompute)
        self.reset = QPushButton("Back to the model's values")
        self.reset.clicked.connect(self._reset)
        for w in (self.input_size, self.input_channels):
            self.input_row.addWidget(w)
        self.input_row.addStretch(1)
        head.addWidget(self.reset)
        self.after = rich_label(wrap=True)
        lay.addWidget(self.after)
        self.rows: list[dict] = []

    # -- the loaded model ----------------------------------------------------------------------
    def set_predictor(self, predictor) -> None:
        self.predictor = predictor
        self._refresh()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._refresh()

    def _refresh(self) -> None:
        ready = (self.predictor is not None and self.stepwise.predictor is self.predictor and self.stepwise.ready)
        status = None if ready else (self.stepwise.status() if self.stepwise.predictor is self.predictor
                                     else "No model loaded." if self.predictor is None else "Reading the model…")
        self.status.setText(status or "Every tensor the forward pass computes for one image, in order.")
        for w in (self.diagram, self.table, self.totals):
            w.setVisible(ready)
        if not ready:
            self._shown_for = None
            self._fill_what_if([], 28, 1)
            return
        if self._shown_for is self.predictor or not self.isVisible():
            return
        self._shown_for = self.predictor
        shapes = self.predictor.shapes()
        self._fill_table(shapes)
        blocks = [(s.title, s.shape) for s in shapes.stages if s.op not in SAME_SHAPE]
        self.diagram.set_stages(blocks)
        size, channels, specs = specs_of(self.predictor.network)
        self._fill_what_if(specs, size, channels)

    def _fill_table(self, shapes) -> None:
        rows = shapes.stages
        self.table.setRowCount(len(rows) + 1)
        for r, s in enumerate(rows):
            kps = ""
            if s.formulas is not None:
                fh, fw = s.formulas
                same = (fh.kernel, fh.pad_begin, fh.stride) == (fw.kernel, fw.pad_begin, fw.stride)
                kps = (f"{fh.kernel}, {fh.pad_begin}, {fh.stride}" if same and fh.pad_begin == fh.pad_end
                       else f"{fh.kernel}×{fw.kernel}, {fh.pad_begin}/{fh.pad_end}, {fh.stride}×{fw.stride}")
            params = _count(s.params) if s.params else ""
            cells = [s.title, _shape(s.shape), s.formula_text() or "", params, _count(s.macs) if s.macs else ""]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c >= 3:
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                self.table.setItem(r, c, item)
            set_tip(self.table.item(r, 0), f"{s.title}: {s.op}" + (f" (K, P, S: {kps})" if kps else ""))
            if s.statistics:   # in the tooltip: "64 (64 fixed)" made the column too wide for the pane
                set_tip(self.table.item(r, 3), f"{s.params:,} learned, and {s.statistics:,} fixed values "
                                               "(running means and variances)")
        total = [("Total", 0), ("", 1), ("", 2), (_count(shapes.params), 3), (_count(shapes.macs), 4)]
        bold = self.table.font()
        bold.setBold(True)
        for text, c in total:
            item = QTableWidgetItem(text)
            item.setFont(bold)
            if c >= 3:
                item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
            self.table.setItem(len(rows), c, item)
        self._fit_height()
        stats = sum(s.statistics for s in rows)
        fixed = (f" and {stats:,} fixed values that are not learned (batch-norm running means and variances, "
                 f"the input's normalisation)" if stats else "")
        c, s, _ = self.predictor.input_shape
        image = f"{s}×{s}" + (" colour" if c == 3 else "")
        self.totals.setText(rich("<b>{params:,}</b> learned parameters{fixed}; <b>{macs:,}</b> multiply-adds for one "
                                 "{image} image (a conv: output values × kernel size × input channels; a dense layer: "
                                 "outputs × inputs).", params=shapes.params, fixed=fixed, macs=shapes.macs,
                                 image=image))

    def _fit_height(self) -> None:
        """The table as tall as its rows at its width (they wrap more in a narrow pane): no scroll bar."""
        self.table.resizeRowsToContents()
        height = self.table.horizontalHeader().height() + sum(self.table.rowHeight(i)
                                                              for i in range(self.table.rowCount())) + 4
        if height != self.table.height():
            self.table.setFixedHeight(height)

    # -- what if -------------------------------------------------------------------------------
    def _fill_what_if(self, specs: list[LayerSpec], size: int, channels: int) -> None:
        grid = self.what_if_grid
        while grid.count():
            w = grid.takeAt(0).widget()
            if w is not None:
                w.deleteLater()
        self.specs, self.model_size, self.model_channels = list(specs), size, channels
        self.model_flat = None
        if specs and what_if(size, specs, channels)[-1].ok:
            c, n = what_if(size, specs, channels)[-1].output
            self.model_flat = c * n * n
        self.rows = []
        self.input_size.setVisible(bool(specs))
        self.input_channels.setVisible(bool(specs))
        self.reset.setVisible(bool(specs))
        self.after.setVisible(bool(specs))
        if not specs:
            return
        for c, text in enumerate(["Layer", "K", "P", "S", "ceil"]):
            grid.addWidget(plain_label(text, "formLabel"), 1, c)
        for i, spec in enumerate(specs):
            r = 2 * i + 2       # controls on one line, what they give on the next
            grid.addWidget(plain_label(spec.title or spec.kind), r, 0)   # a name from the graph: plain text
            row = {"k": QSpinBox(), "p": QSpinBox(), "s": QSpinBox(), "ceil": QCheckBox(), "result": rich_label()}
            for key, lo, hi in (("k", 0, 64), ("p", 0, 32), ("s", 0, 32)):
                row[key].setRange(lo, hi)
            row["k"].setValue(spec.kernel)
            row["p"].setValue(spec.padding)
            row["s"].setValue(spec.stride)
            row["ceil"].setChecked(spec.ceil_mode)
            row["ceil"].setVisible(spec.kind != "conv")
            set_tip(row["ceil"], "Ceil mode: round the output size up (a last window may hang over the edge)")
            row["result"].setWordWrap(True)
            row["result"].setContentsMargins(12, 0, 0, 6)
            for key, col in (("k", 1), ("p", 2), ("s", 3), ("ceil", 4)):
                grid.addWidget(row[key], r, col)
            grid.addWidget(row["result"], r + 1, 0, 1, 6)
            for key in ("k", "p", "s"):
                row[key].valueChanged.connect(self._recompute)
            row["ceil"].toggled.connect(self._recompute)
            self.rows.append(row)
        grid.setColumnStretch(5, 1)
        for box, value in ((self.input_size, size), (self.input_channels, channels)):
            box.blockSignals(True)
            box.setValue(value)
            box.blockSignals(False)
        self._recompute()

    def current_specs(self) -> list[LayerSpec]:
        return [LayerSpec(spec.kind, row["k"].value(), row["s"].value(), row["p"].value(), spec.dilation,
                          row["ceil"].isChecked() and spec.kind != "conv", spec.channels, spec.title)
                for spec, row in zip(self.specs, self.rows)]

    def _reset(self) -> None:
        self._fill_what_if(self.specs, self.model_size, self.model_channels)

    def _recompute(self, *_) -> None:
        if not self.rows:
            return
        results = what_if(self.input_size.value(), self.current_specs(), self.input_channels.value())
        for row, res in zip(self.rows, results):
            if not res.ok:
                problems = " ".join(res.problems)
                row["result"].setText(rich("<span style='color:{}'>{}</span>", style.ERROR_TEXT, problems))
                continue
            (ci, ni), (co, no) = res.input, res.output
            text = rich("{ci}×{ni}×{ni} → <b>{co}×{no}×{no}</b> &nbsp; {formula}", ci=ci, ni=ni, co=co, no=no,
                        formula=res.formula.text())
            if res.params:
                text += f" · {res.params:,} params, {res.macs:,} mult-adds"
            if res.notes:
                text += rich("<br><span style='color:{}'>{}</span>", style.WARN_TEXT, " ".join(res.notes))
            row["result"].setText(text)
        last = results[-1]
        if last.ok:
            c, n = last.output
            flat = c * n * n
            text = rich("After the last layer: {c}×{n}×{n} = <b>{flat:,}</b> values to flatten into the dense layer",
                        c=c, n=n, flat=flat)
            if self.model_flat is not None and flat != self.model_flat:
                text += (f"; the model's dense layer reads {self.model_flat:,}, so these settings would need a new "
                         f"dense layer (and retraining)")
            self.after.setText(text + ".")
        else:
            self.after.setText(rich("<span style='color:{}'>These settings cannot run: see the first layer in red."
                                    "</span>", style.ERROR_TEXT))
