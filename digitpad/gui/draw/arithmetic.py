"""How one number was computed: an Explanation (digitpad.core.explain) laid out for reading.

From the top: the unit and its value, checked against the NumPy forward pass and ONNX
Runtime; the op that combined many numbers into it (a conv's windows, kernels, products and
per-channel sums; a pool's window and winner; a dense layer's largest contributions; softmax's
exponentials); the core's notes (batch norm folded into the conv, a unit no layer reads);
what was then done to that one number (batch norm with the layer's own values, ReLU, ...);
and the pooling windows downstream that read it, the winner marked.

A conv over 64 input channels is not shown as a wall of 1,700 numbers: the per-channel sums
as sorted bars, and the few channels that contribute most expanded as window × kernel =
products (click a bar to expand another). Links (a dense input's source, the pool's winner,
a flattened number's origin) emit ``navigate(stage, index)``: the tab explains that unit next.

The widgets are built once and refilled, so a click costs the explanation (~1 ms) and a paint.
"""
from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from digitpad.core.coverage import describe

from .. import style
from .numbers import ContributionRows, NumberGrid, SortedBars, num

EXPANDED = 3          # conv channels shown as window × kernel = products
TOP_INPUTS = 12       # dense inputs listed
AGREE = 1e-4          # the bar: recomputed value vs ONNX Runtime
# Headings get their font directly, not from the style sheet's QLabel#heading: a style-sheet font
# is resolved again on every paint, and with a dozen headings that was ~20 ms of each click.
HEADING_FONT = style.title_font(11.5)
OP_NAMES = {"BatchNormalization": "Batch norm", "Relu": "ReLU", "LeakyRelu": "Leaky ReLU", "Clip": "Clip",
            "Sigmoid": "Sigmoid", "Tanh": "Tanh", "Sub": "Subtract", "Add": "Add", "Mul": "Multiply",
            "Div": "Divide", "Identity": "Identity", "Dropout": "Dropout (does nothing at inference)"}


def _label(rich: bool = True, muted: bool = False) -> QLabel:
    label = QLabel("")
    label.setWordWrap(True)
    label.setTextFormat(Qt.RichText if rich else Qt.PlainText)
    label.setTextInteractionFlags(Qt.TextSelectableByMouse | Qt.LinksAccessibleByMouse)
    if muted:
        label.setObjectName("muted")
    return label


def _show(widget: QWidget, on: bool) -> None:
    """Show or hide only on a real change: each change re-lays out the panel."""
    if widget.isHidden() == on:
        widget.setVisible(on)


def _text(label: QLabel, text: str) -> None:
    """Set a label's text only when it changed (rich text is laid out again on every set)."""
    if label.text() != text:
        label.setText(text)


def _esc(text: str) -> str:
    return html.escape(str(text))


def _span(lo_hi: np.ndarray) -> str:
    return f"{int(lo_hi[0])}..{int(lo_hi[-1])}" if len(lo_hi) > 1 else str(int(lo_hi[0]))


class _Section(QFrame):
    """A numbered block: a heading and a body."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.lay = QVBoxLayout(self)
        self.lay.setContentsMargins(0, 6, 0, 4)
        self.lay.setSpacing(5)
        self.heading = QLabel("")
        self.heading.setFont(HEADING_FONT)
        self.heading.setWordWrap(True)
        self.lay.addWidget(self.heading)
        line = QWidget()   # a rule above the block (no per-widget style sheet: those slow every paint)
        line.setFixedHeight(1)
        line.setAutoFillBackground(True)
        pal = line.palette()
        pal.setColor(QPalette.Window, QColor(style.BORDER))
        line.setPalette(pal)
        self.lay.insertWidget(0, line)


class _ProductRow(QWidget):
    """One input channel of a conv unit: window × kernel = products, and their sum."""

    def __init__(self, parent=None):
        super().__init__(parent)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 2, 0, 2)
        col.setSpacing(2)
        self.title = _label(rich=False)   # plain text: ~5x cheaper to lay out than rich text, per click
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        col.addWidget(self.title)
        row = QHBoxLayout()
        row.setSpacing(4)
        self.window, self.kernel, self.products = NumberGrid(), NumberGrid(), NumberGrid()
        for i, grid in enumerate((self.window, self.kernel, self.products)):
            if i:
                sign = QLabel("×" if i == 1 else "=")
                sign.setFont(HEADING_FONT)
                row.addWidget(sign, 0, Qt.AlignVCenter)
            row.addWidget(grid, 0, Qt.AlignBottom)
        row.addStretch(1)
        col.addLayout(row)


class ArithmeticPanel(QWidget):
    """Shows one Explanation. ``show_explanation(e, net, classes)``; ``show_message(text)``."""

    navigate = Signal(str, object)     # (stage name, index tuple): explain that unit

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Maximum)
        self.explanation = None
        self.net = None
        self.classes: list[str] = []
        self.pinned: int | None = None       # a conv input channel the user chose from the bars
        self._links: dict[str, tuple[str, tuple[int, ...]]] = {}
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(6)
        self.message = _label(rich=False, muted=True)
        lay.addWidget(self.message)
        self.title = QLabel("")
        self.title.setFont(HEADING_FONT)
        self.title.setWordWrap(True)
        lay.addWidget(self.title)
        self.value = QLabel("")
        font = self.value.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        self.value.setFont(font)
        self.value.setTextInteractionFlags(Qt.TextSelectableByMouse)
        lay.addWidget(self.value)
        self.check = _label()
        lay.addWidget(self.check)
        self.field = _label(rich=False, muted=True)
        lay.addWidget(self.field)
        self._build_terms(lay)
        self.notes = _label(rich=False)
        self.notes.setObjectName("hint")
        lay.addWidget(self.notes)
        self.steps = _Section()
        self.steps_text = _label()
        self.steps.lay.addWidget(self.steps_text)
        lay.addWidget(self.steps)
        self._build_downstream(lay)
        lay.addStretch(1)
        for label in self.findChildren(QLabel):
            label.linkActivated.connect(self._link)
        self.show_message("Click a unit of a map (or an entry of a vector) to see how it was computed.")

    # -- building ----------------------------------------------------------------------------
    def _build_terms(self, lay: QVBoxLayout) -> None:
        self.terms = _Section()
        self.intro = _label()
        self.terms.lay.addWidget(self.intro)
        self.bars_caption = _label(rich=False, muted=True)
        self.terms.lay.addWidget(self.bars_caption)
        self.bars = SortedBars()
        self.bars.chosen.connect(self._pin_channel)
        self.terms.lay.addWidget(self.bars)
        self.rows = [_ProductRow() for _ in range(EXPANDED)]
        for row in self.rows:
            self.terms.lay.addWidget(row)
        self.grid = NumberGrid()         # a pool's window
        self.terms.lay.addWidget(self.grid)
        self.contributions = ContributionRows()
        self.contributions.chosen.connect(self._contribution_chosen)
        self.terms.lay.addWidget(self.contributions)
        self.table = _label()            # softmax
        self.terms.lay.addWidget(self.table)
        self.total = _label()
        self.terms.lay.addWidget(self.total)
        lay.addWidget(self.terms)

    def _build_downstream(self, lay: QVBoxLayout) -> None:
        self.downstream = _Section()
        self.downstream_text: list[QLabel] = []
        self.downstream_grids: list[NumberGrid] = []
        for _ in range(4):
            text, grid = _label(), NumberGrid()
            self.downstream.lay.addWidget(text)
            self.downstream.lay.addWidget(grid)
            self.downstream_text.append(text)
            self.downstream_grids.append(grid)
        lay.addWidget(self.downstream)

    # -- showing -----------------------------------------------------------------------------
    def show_message(self, text: str) -> None:
        """Nothing to explain (no drawing, no model, a reason it cannot be done): one line."""
        self.explanation = None
        _text(self.message, text)
        _show(self.message, True)
        for w in (self.title, self.value, self.check, self.field, self.terms, self.notes, self.steps,
                  self.downstream):
            _show(w, False)

    def show_explanation(self, e, net, classes: list[str] | None = None) -> None:
        same_unit = self.explanation is not None and (self.explanation.stage, self.explanation.index[:1]) == \
            (e.stage, e.index[:1])
        if not same_unit:
            self.pinned = None
        self.explanation, self.net = e, net
        self.classes = list(classes or [])
        self._links = {}
        _show(self.message, False)
        self._show_header(e)
        self._show_terms(e)
        number = 2
        _text(self.notes, "\n".join(e.notes))
        _show(self.notes, bool(e.notes))
        if e.steps:
            _text(self.steps.heading, "2 · Then, to this one number" if len(e.steps) > 1 else
                                       f"2 · Then {OP_NAMES.get(e.steps[0].op, e.steps[0].op)}")
            _text(self.steps_text, self._steps_html(e.steps))
            number = 3
        _show(self.steps, bool(e.steps))
        self._show_downstream(e, number)
        for w in (self.title, self.value, self.check, self.field, self.terms):
            _show(w, True)

    def _link(self, href: str) -> None:
        if href in self._links:
            self.navigate.emit(*self._links[href])

    def _a(self, stage: str, index: tuple[int, ...], text: str) -> str:
        key = f"u{len(self._links)}"
        self._links[key] = (stage, tuple(int(i) for i in index))
        return f"<a href='{key}' style='color:{style.ACCENT}'>{_esc(text)}</a>"

    def _title(self, stage: str) -> str:
        return self.net.stage(stage).title

    def unit_name(self, stage: str, index: tuple[int, ...]) -> str:
        title = self._title(stage)
        if len(index) == 3:
            return f"{title} · map {index[0]} · row {index[1]}, col {index[2]}"
        cls = ""
        if self.net.stage(stage).shape == (10,) and len(self.classes) == 10 and stage in self.net.outputs:
            cls = f" (class {self.classes[index[0]]})"
        return f"{title} [{', '.join(str(i) for i in index)}]{cls}"

    def _show_header(self, e) -> None:
        _text(self.title, _esc(self.unit_name(e.stage, e.index)))
        _text(self.value, f"= {num(e.value)}")
        parts = [f"recomputed from the numbers below: <b>{num(e.value)}</b>",
                 f"NumPy forward pass: {num(e.computed)}"]
        if e.onnxruntime is not None:
            diff = abs(e.value - e.onnxruntime)
            ok = diff <= AGREE
            mark = (f"<span style='color:{style.OK_TEXT}'>✓ agree</span>" if ok else
                    f"<span style='color:{style.ERROR_TEXT}'>✗ differ</span>")
            parts.append(f"ONNX Runtime returned: <b>{num(e.onnxruntime)}</b> {mark} (difference {diff:.1e})")
        else:
            parts.append("ONNX Runtime does not compute this stage (the input as fed)")
        _text(self.check, " · ".join(parts))
        f = e.receptive_field
        if f is None:
            _text(self.field, "")
        elif len(e.index) != 3 or f.mask.all():
            _text(self.field, "Depends on every pixel of the input image.")
        else:
            top, left, bottom, right = f.box
            _text(self.field, f"Depends on input rows {top}..{bottom}, columns {left}..{right} "
                               f"(a {f.size[0]}×{f.size[1]} field counting padding), outlined on the input.")

    # -- the op that combined many numbers ----------------------------------------------------
    def _show_terms(self, e) -> None:
        t = e.terms
        self._used: set[QWidget] = set()
        show = {"conv": self._conv, "pool": self._pool, "dense": self._dense, "softmax": self._softmax,
                "copy": self._copy, "input": self._input, "binary": self._binary}.get(t.kind, self._other)
        show(e, t)
        for w in (self.bars_caption, self.bars, self.grid, self.contributions, self.table, *self.rows):
            _show(w, w in self._used)

    def _use(self, *widgets: QWidget) -> None:
        self._used.update(widgets)

    def _cell_width(self, columns: int) -> int:
        """Grid cells as wide as the room allows (34..48 px): the room is the scroll area's
        viewport, not this widget, whose width follows its content."""
        holder = self.parentWidget()
        room = max(300, (holder.width() if holder is not None else self.width()) - 70)
        return int(min(48, max(34, room / max(1, columns))))

    def refit(self) -> None:
        """Lay the grids out again for a new width."""
        if self.explanation is not None:
            self._show_terms(self.explanation)
            self._show_downstream(self.explanation, 3 if self.explanation.steps else 2)

    def _conv(self, e, t) -> None:
        g = t.geometry
        n = len(t.channels)
        kh, kw = g.kernel
        _text(self.terms.heading, f"1 · Convolution: Σ of window × kernel{' over the input channels' if n > 1 else ''}"
                                   f"{', + bias' if t.has_bias else ''}")
        src = self._title(t.input)
        where = f"rows {_span(t.rows)}, columns {_span(t.cols)}"
        pad_text = (" Hatched cells fall outside the map: they are padding and read 0."
                    if t.padding.any() else "")
        group = f" (group {t.group}: this output channel reads channels {t.channels[0]}..{t.channels[-1]})" \
            if t.group > 1 else ""
        order = list(np.argsort(-np.abs(t.sums), kind="stable"))
        centre = (int(t.channels[order[0]]), *(int(np.clip(a[len(a) // 2], 0, m - 1)) for a, m in
                                               ((t.rows, self.net.stage(t.input).shape[1]),
                                                (t.cols, self.net.stage(t.input).shape[2]))))
        what = " (the input image after the graph's normalisation)" if self._is_normalised_input(t.input) else ""
        _text(self.intro,
              f"Reads a {kh}×{kw} window at {where} of "
              f"{'each of the ' + str(n) + ' maps' if n > 1 else 'the one map'} of {self._a(t.input, centre, src)}"
              f"{what}{group} ({_esc(describe(g))}), multiplies it by kernel {t.out_channel}'s weights and adds the "
              f"products.{pad_text}")
        expanded = order[:EXPANDED] if n > EXPANDED else order
        if self.pinned is not None and self.pinned in t.channels:
            i = int(np.flatnonzero(t.channels == self.pinned)[0])
            expanded = [i] + [k for k in expanded if k != i][:EXPANDED - 1]
        if n > 1:
            _text(self.bars_caption, f"Each bar is one input channel's sum of its {kh * kw} products, sorted "
                                      f"(warm adds, cool subtracts). Click a bar to see that channel below.")
            self.bars.set_values(t.channels, t.sums, highlight=[t.channels[i] for i in expanded])
            self._use(self.bars_caption, self.bars)
        cell = self._cell_width(3 * kw + 2)
        scales = [float(np.abs(a).max()) or 1.0 for a in (t.window, t.kernel, t.products)]
        for row, i in zip(self.rows, expanded):
            ch = int(t.channels[i])
            rank = order.index(i) + 1
            why = (" (your pick)" if self.pinned == ch else
                   " (the largest |sum|)" if n > 1 and rank == 1 else
                   f" ({_ordinal(rank)} largest |sum| of {n})" if n > 1 else "")
            _text(row.title, f"Input channel {ch}{why}: Σ products = {num(t.sums[i])}")
            pad = t.padding
            row.window.set_grid(t.window[i], pad, scale=scales[0], row_labels=t.rows, col_labels=t.cols,
                                caption=f"{src} map {ch}", cell_w=cell,
                                describe=lambda r, c, i=i, ch=ch: (
                                    f"row {t.rows[r]}, col {t.cols[c]}: outside the map, padding (reads 0)"
                                    if t.padding[r, c] else
                                    f"{src} map {ch}, row {t.rows[r]}, col {t.cols[c]}: {t.window[i, r, c]:.6g}"))
            row.kernel.set_grid(t.kernel[i], scale=scales[1], caption=f"kernel [{t.out_channel}, {ch}]", cell_w=cell,
                                col_labels=[""] * kw,
                                describe=lambda r, c, i=i, ch=ch: f"weight [{t.out_channel}, {ch}, {r}, {c}] = "
                                                                  f"{t.kernel[i, r, c]:.6g}")
            row.products.set_grid(t.products[i], scale=scales[2], caption="window × kernel", cell_w=cell,
                                  col_labels=[""] * kw,
                                  describe=lambda r, c, i=i: f"{t.window[i, r, c]:.6g} × {t.kernel[i, r, c]:.6g} = "
                                                             f"{t.products[i, r, c]:.6g}")
            self._use(row)
        rest = n - len(expanded)
        lines = []
        if rest:
            others = float(t.sums.sum() - t.sums[expanded].sum())
            lines.append(f"The other {rest} channels add {num(others)} together.")
        bias = f" + bias <b>{num(t.bias)}</b>" if t.has_bias else " (this conv has no bias)"
        over = f" over {n} channels" if n > 1 else ""
        lines.append(f"Σ{over} = {num(t.total)}{bias} = <b>{num(t.value)}</b>")
        _text(self.total, "<br>".join(lines))

    def _is_normalised_input(self, name: str) -> bool:
        """True when ``name`` is the image after per-pixel ops only (``(x - mean) / std`` in the graph)."""
        net, steps = self.net, 0
        while name in net.producer:
            node = net.producer[name]
            if not net.is_per_unit(node):
                return False
            name, steps = next(i for i in node.inputs if i and i not in net.constants), steps + 1
        return name == net.input_name and steps > 0

    def _pin_channel(self, channel: int) -> None:
        self.pinned = channel
        if self.explanation is not None and self.explanation.terms.kind == "conv":
            self._show_terms(self.explanation)

    def _pool(self, e, t) -> None:
        is_max = t.winner is not None
        _text(self.terms.heading, f"1 · {'Max' if is_max else 'Average'} pooling")
        src = self._title(t.input)
        marks = {t.winner: "winner"} if is_max else {}
        h, w = t.window.shape
        self.grid.set_grid(t.window, t.padding, row_labels=t.rows, col_labels=t.cols, marks=marks,
                           caption=f"{src} map {t.channel}", cell_w=self._cell_width(w + 1),
                           describe=lambda r, c: (f"row {t.rows[r]}, col {t.cols[c]}: padding" if t.padding[r, c]
                                                  else f"{src} map {t.channel}, row {t.rows[r]}, col {t.cols[c]}: "
                                                       f"{t.window[r, c]:.6g}"))
        self._use(self.grid)
        what = "the largest" if is_max else "the mean"
        first = t.winner_position or (max(0, int(t.rows[0])), max(0, int(t.cols[0])))
        _text(self.intro, f"Takes {what} of the {h}×{w} window at rows {_span(t.rows)}, columns {_span(t.cols)} "
                           f"of {self._a(t.input, (t.channel, *first), src)} map {t.channel}."
                           + (" Hatched cells are padding (never the max)." if t.padding.any() else ""))
        if is_max:
            wr, wc = t.winner_position
            _text(self.total, f"max = <b>{num(t.value)}</b>, at row {wr}, col {wc} (outlined): "
                               + self._a(t.input, (t.channel, wr, wc), "how was that computed?"))
        else:
            s = float(np.nansum(np.where(t.padding, 0, t.window)))
            _text(self.total, f"mean = {num(s)} / {t.divisor} = <b>{num(t.value)}</b>")

    def _dense(self, e, t) -> None:
        n = len(t.inputs)
        _text(self.terms.heading, "1 · Dense layer: Σ of input × weight, + bias")
        src = self._title(t.input)
        origin = ""
        if t.sources is not None:
            stage, shape = t.sources
            origin = f" (the {'×'.join(str(s) for s in shape)} values of {_esc(self._title(stage))}, flattened)"
        top = t.top(TOP_INPUTS)
        rows = []
        for c in top:
            where = f"  ← {self._title(c.source[0])} {list(c.source[1])}" if c.source else ""
            rows.append((f"x[{c.index}]{where}", c.input, c.weight, c.product))
        self._dense_targets = [(c.source if c.source else (t.input, (c.index,))) for c in top]
        self.contributions.set_rows(rows)
        self._use(self.contributions)
        _text(self.intro, f"Multiplies each of the {n} inputs of {self._a(t.input, (top[0].index,), src)}{origin} "
                           f"by its weight for output {t.unit} and adds them up. The {len(top)} largest products "
                           f"(by size) — click one to see how that input was computed:")
        shown = sum(c.product for c in top)
        rest = t.total - shown
        pos = float(t.products[t.products > 0].sum())
        neg = float(t.products[t.products < 0].sum())
        alpha = f" × alpha {num(t.alpha)}" if t.alpha != 1 else ""
        _text(self.total,
              f"The other {n - len(top)} products add {num(rest)}. All {n}: positive ones {num(pos)}, "
              f"negative ones {num(neg)}.<br>Σ = {num(t.total)}{alpha} + bias <b>{num(t.bias)}</b> = "
              f"<b>{num(t.value)}</b>")

    def _contribution_chosen(self, row: int) -> None:
        targets = getattr(self, "_dense_targets", [])
        if 0 <= row < len(targets):
            self.navigate.emit(targets[row][0], tuple(targets[row][1]))

    def _softmax(self, e, t) -> None:
        k = t.index
        _text(self.terms.heading, "1 · Softmax: exp(z − m) / Σ exp(z − m)")
        src = self._title(t.input)
        _text(self.intro, f"z are the {len(t.logits)} values of {self._a(t.input, (k,), src)}; m = max z = "
                           f"{num(t.shift)} is subtracted first so that exp never overflows (it changes nothing).")
        head = ("<tr>" + "".join(f"<th align='right'>&nbsp;{h}&nbsp;</th>" for h in
                                 ("", "z", "z − m", "exp(z − m)", "p")) + "</tr>")
        body = []
        for j, (z, ex) in enumerate(zip(t.logits, t.exps)):
            name = self.classes[j] if len(self.classes) == len(t.logits) else str(j)
            style_row = f" style='background:{style.ACCENT_SOFT}; font-weight:600'" if j == k else ""
            cells = [name, num(z), num(z - t.shift), num(ex), num(ex / t.total)]
            body.append(f"<tr{style_row}>" + "".join(f"<td align='right'>&nbsp;{_esc(c)}&nbsp;</td>" for c in cells)
                        + "</tr>")
        body.append(f"<tr><td align='right'>Σ</td><td></td><td></td><td align='right'>&nbsp;{num(t.total)}&nbsp;</td>"
                    f"<td align='right'>&nbsp;1&nbsp;</td></tr>")
        _text(self.table, f"<table cellspacing='0'>{head}{''.join(body)}</table>")
        self._use(self.table)
        _text(self.total, f"p[{k}] = exp({num(t.logits[k])} − {num(t.shift)}) / {num(t.total)} = "
                           f"{num(t.exps[k])} / {num(t.total)} = <b>{num(t.value)}</b>")

    def _copy(self, e, t) -> None:
        _text(self.terms.heading, f"1 · {t.op}: a copy, not a computation")
        src = self._title(t.input)
        order = (" Flattening reads the maps channel by channel, row by row." if t.op in ("Flatten", "Reshape")
                 and len(t.source) == 3 else "")
        _text(self.intro, f"This number is {self._a(t.input, t.source, f'{src} {list(t.source)}')}, "
                           f"moved to another place in the tensor.{order}")
        _text(self.total, f"= <b>{num(t.value)}</b>")

    def _input(self, e, t) -> None:
        _text(self.terms.heading, "1 · The input")
        _text(self.intro, "A pixel of the input image as the network receives it (0 background, 1 ink; "
                          "for an 8×8 model, the ink counted in a 4×4 block, over 16).")
        _text(self.total, f"= <b>{num(t.value)}</b>")

    def _binary(self, e, t) -> None:
        sym = {"Add": "+", "Sub": "−", "Mul": "×", "Div": "/"}.get(t.op, t.op)
        _text(self.terms.heading, f"1 · {t.op} of two computed tensors")
        a, b = (self._title(s) for s in t.inputs)
        _text(self.intro, f"{_esc(a)} {sym} {_esc(b)} at the same position:")
        _text(self.total, f"{num(t.a)} {sym} {num(t.b)} = <b>{num(t.value)}</b>")

    def _other(self, e, t) -> None:
        _text(self.terms.heading, f"1 · {_esc(getattr(t, 'op', 'value'))}")
        _text(self.intro, "This op is not broken down; the value is the forward pass's.")
        _text(self.total, f"= <b>{num(t.value)}</b>")

    # -- what was then done to it, and who reads it --------------------------------------------
    def _steps_html(self, steps) -> str:
        parts = []
        for s in steps:
            name = OP_NAMES.get(s.op, s.op)
            extra = ""
            if s.op == "BatchNormalization":
                extra = (f"<br><span style='color:{style.MUTED}'>mean and var are the statistics learnt in "
                         f"training, gamma and beta its learnt scale and shift, for this channel.</span>")
            parts.append(f"<b>{_esc(name)}</b> <span style='color:{style.MUTED}'>({_esc(s.title)})</span>: "
                         f"<code>{_esc(s.formula)}</code><br><code>{_esc(step_text(s))}</code>{extra}")
        return "<br><br>".join(parts)

    def _show_downstream(self, e, number: int) -> None:
        windows = e.downstream[:len(self.downstream_grids)]
        for i, (text, grid) in enumerate(zip(self.downstream_text, self.downstream_grids)):
            _show(text, i < len(windows))
            _show(grid, i < len(windows))
        if not windows:
            _show(self.downstream, False)
            return
        _text(self.downstream.heading, f"{number} · Then pooled")
        here = tuple(e.index[1:])
        for w, text, grid in zip(windows, self.downstream_text, self.downstream_grids):
            marks = {}
            if w.winner is not None:
                marks[w.winner] = "winner"
            r = np.flatnonzero(w.rows == here[0])
            c = np.flatnonzero(w.cols == here[1])
            if len(r) and len(c):
                marks.setdefault((int(r[0]), int(c[0])), "self")
            src = self._title(w.input)
            grid.set_grid(w.window, w.padding, row_labels=w.rows, col_labels=w.cols, marks=marks,
                          caption=f"{src} map {w.channel}", cell_w=self._cell_width(w.window.shape[1] + 1))
            target = self._a(w.stage, (w.channel, w.row, w.col), self.unit_name(w.stage, (w.channel, w.row, w.col)))
            if w.winner is not None:
                wins = w.winner_position == here
                ties = not wins and float(e.computed) == w.value
                verdict = ("this unit is the largest: it is passed on" if wins else
                           f"this unit ties with the first largest, row {w.winner_position[0]}, col "
                           f"{w.winner_position[1]} ({num(w.value)}): the same value is passed on" if ties else
                           f"the largest is row {w.winner_position[0]}, col {w.winner_position[1]} "
                           f"({num(w.value)}); this unit (dashed) is dropped there")
                _text(text, f"{target} takes the max of this window: {verdict}.")
            else:
                _text(text, f"{target} takes the mean of this window ({num(w.value)}).")
        _show(self.downstream, True)


def step_text(step) -> str:
    """A Step's formula with its numbers, negative ones in parentheses: "(0.91 - (-4.36)) / ..."."""
    shown = {k: num(v) if v >= 0 else f"({num(v)})" for k, v in step.terms.items()}
    return f"{step.template.format(**shown)} = {num(step.output)}"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
