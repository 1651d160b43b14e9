"""Section 1 of an explanation: the op that combined many numbers into the unit, one writer per
kind of op (conv, pool, dense, softmax, copy, input, binary; any other op by name).

A conv over 64 input channels is not shown as a wall of 1,700 numbers: the per-channel sums
as sorted bars, and the few channels that contribute most expanded as window × kernel =
products (click a bar to expand another). A conv over three channels or fewer (the first layer of
a colour model) shows every channel in its own order, named (red, green, blue) where it reads the
image, and its total as the sum of those partial sums. A dense layer lists its largest contributions
(click one: ``navigate`` asks for that input's explanation). Each writer fills the widgets it
needs and the rest are hidden; the widgets are built once and refilled.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout, QWidget

from digitpad.core.coverage import describe

from .. import style
from ..text import Html, plain_label, rich
from .arithmetic_parts import HEADING_FONT, Section, make_label, set_shown, set_text
from .numbers import ContributionRows, NumberGrid, SortedBars, num

EXPANDED = 3          # conv channels shown as window × kernel = products
TOP_INPUTS = 12       # dense inputs listed


class _ProductRow(QWidget):
    """One input channel of a conv unit: window × kernel = products, and their sum. The three grids
    share a line when the room allows, else they wrap (``arrange``): their cells never shrink below
    their numbers (numbers.NumberGrid), so at 1280x720 the products go under the window × kernel."""

    SPACING = 4

    def __init__(self, parent=None):
        super().__init__(parent)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 2, 0, 2)
        col.setSpacing(2)
        self.title = make_label(rich=False)   # plain text: ~5x cheaper to lay out than rich text, per click
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        col.addWidget(self.title)
        self.window, self.kernel, self.products = NumberGrid(), NumberGrid(), NumberGrid()
        self.signs = []
        for text in ("×", "="):
            sign = plain_label(text)
            sign.setFont(HEADING_FONT)
            self.signs.append(sign)
        self.lines = QVBoxLayout()
        self.lines.setSpacing(2)
        col.addLayout(self.lines)
        self.arranged: tuple[int, ...] | None = None   # grids per line
        self.arrange(1 << 20)

    def _pieces(self) -> list[tuple[QWidget | None, QWidget]]:
        return [(None, self.window), (self.signs[0], self.kernel), (self.signs[1], self.products)]

    def arrange(self, room: int) -> None:
        """As many of window, × kernel, = products on a line as fit in ``room`` pixels (a sign leads
        its grid onto the next line); laid out again only when that changes."""
        lines: list[list] = [[]]
        used = 0
        for sign, grid in self._pieces():
            width = grid.sizeHint().width() + (sign.sizeHint().width() + 2 * self.SPACING if sign else 0)
            if lines[-1] and used + width > room:
                lines.append([])
                used = 0
            lines[-1].append((sign, grid))
            used += width
        shape = tuple(len(line) for line in lines)
        if shape == self.arranged:
            return
        self.arranged = shape
        while self.lines.count():
            old = self.lines.takeAt(0).layout()
            while old is not None and old.count():
                old.takeAt(0)
        for line in lines:
            row = QHBoxLayout()
            row.setSpacing(self.SPACING)
            for sign, grid in line:
                if sign is not None:
                    row.addWidget(sign, 0, Qt.AlignVCenter)
                row.addWidget(grid, 0, Qt.AlignBottom)
            row.addStretch(1)
            self.lines.addLayout(row)


class TermsSection(Section):
    """The op's terms for the page's explanation. ``page`` (the ArithmeticPanel) lends the model
    (``net``, ``classes``, ``explanation``), stage titles, links to other units and the cell width
    its room allows; ``fill(e)`` writes the section for ``e``."""

    navigate = Signal(str, object)     # (stage name, index tuple): a dense input was chosen

    def __init__(self, page, parent=None):
        super().__init__(parent)
        self.page = page
        self.pinned: int | None = None       # a conv input channel the user chose from the bars
        self._used: set[QWidget] = set()
        self._dense_targets: list[tuple[str, tuple[int, ...]]] = []
        self.intro = make_label()
        self.lay.addWidget(self.intro)
        self.bars_caption = make_label(rich=False, muted=True)
        self.lay.addWidget(self.bars_caption)
        self.bars = SortedBars()
        self.bars.chosen.connect(self._pin_channel)
        self.lay.addWidget(self.bars)
        self.rows = [_ProductRow() for _ in range(EXPANDED)]
        for row in self.rows:
            self.lay.addWidget(row)
        self.grid = NumberGrid()         # a pool's window
        self.lay.addWidget(self.grid)
        self.contributions = ContributionRows()
        self.contributions.chosen.connect(self._contribution_chosen)
        self.lay.addWidget(self.contributions)
        self.table = make_label()            # softmax
        self.lay.addWidget(self.table)
        self.total = make_label()
        self.lay.addWidget(self.total)

    def fill(self, e) -> None:
        """The writer for ``e``'s kind of op fills the widgets it needs; the others are hidden."""
        t = e.terms
        self._used = set()
        write = {"conv": self._conv, "pool": self._pool, "dense": self._dense, "softmax": self._softmax,
                 "copy": self._copy, "input": self._input, "binary": self._binary}.get(t.kind, self._other)
        write(e, t)
        for w in (self.bars_caption, self.bars, self.grid, self.contributions, self.table, *self.rows):
            set_shown(w, w in self._used)

    def _use(self, *widgets: QWidget) -> None:
        self._used.update(widgets)

    def _conv(self, e, t) -> None:
        g = t.geometry
        n = len(t.channels)
        kh, kw = g.kernel
        set_text(self.heading, f"1 · Convolution: Σ of window × kernel{' over the input channels' if n > 1 else ''}"
                               f"{', + bias' if t.has_bias else ''}")
        src = self.page.stage_title(t.input)
        where = f"rows {_span(t.rows)}, columns {_span(t.cols)}"
        pad_text = (" Hatched cells fall outside the map: they are padding and read 0."
                    if t.padding.any() else "")
        group = f" (group {t.group}: this output channel reads channels {t.channels[0]}..{t.channels[-1]})" \
            if t.group > 1 else ""
        order = list(np.argsort(-np.abs(t.sums), kind="stable"))
        centre = (int(t.channels[order[0]]), *(int(np.clip(a[len(a) // 2], 0, m - 1)) for a, m in
                                               ((t.rows, self.page.net.stage(t.input).shape[1]),
                                                (t.cols, self.page.net.stage(t.input).shape[2]))))
        what = " (the input image after the graph's normalisation)" if self._is_normalised_input(t.input) else ""
        maps = f"each of the {n} maps" if n > 1 else "the one map"
        set_text(self.intro,
                 rich("Reads a {kh}×{kw} window at {where} of {maps} of {link}{what}{group} ({geometry}), multiplies "
                      "it by kernel {kernel}'s weights and adds the products.{pad}", kh=kh, kw=kw, where=where,
                      maps=maps, link=self.page.unit_link(t.input, centre, src), what=what, group=group,
                      geometry=describe(g), kernel=t.out_channel, pad=pad_text))
        every = n <= EXPANDED   # every channel shown: in its own order (red, green, blue), no bars
        names = self._channel_names(t)
        expanded = list(range(n)) if every else order[:EXPANDED]
        if self.pinned is not None and self.pinned in t.channels and not every:
            i = int(np.flatnonzero(t.channels == self.pinned)[0])
            expanded = [i] + [k for k in expanded if k != i][:EXPANDED - 1]
        if n > 1 and not every:
            set_text(self.bars_caption, f"Each bar is one input channel's sum of its {kh * kw} products, sorted "
                                        f"(warm adds, cool subtracts). Click a bar to see that channel below.")
            self.bars.set_values(t.channels, t.sums, highlight=[t.channels[i] for i in expanded])
            self._use(self.bars_caption, self.bars)
        cell = self.page.cell_width(3 * kw + 2)
        scales = [float(np.abs(a).max()) or 1.0 for a in (t.window, t.kernel, t.products)]
        for row, i in zip(self.rows, expanded):
            ch = int(t.channels[i])
            rank = order.index(i) + 1
            why = ("" if every else " (your pick)" if self.pinned == ch else
                   " (the largest |sum|)" if rank == 1 else f" ({_ordinal(rank)} largest |sum| of {n})")
            who = f"{names[ch].capitalize()} channel ({ch})" if names else f"Input channel {ch}"
            set_text(row.title, f"{who}{why}: Σ products = {num(t.sums[i])}")
            src_map = f"{src} · {names[ch]}" if names else f"{src} map {ch}"
            pad = t.padding
            row.window.set_grid(t.window[i], pad, scale=scales[0], row_labels=t.rows, col_labels=t.cols,
                                caption=src_map, cell_w=cell,
                                describe=lambda r, c, i=i, src_map=src_map: (
                                    f"row {t.rows[r]}, col {t.cols[c]}: outside the map, padding (reads 0)"
                                    if t.padding[r, c] else
                                    f"{src_map}, row {t.rows[r]}, col {t.cols[c]}: {t.window[i, r, c]:.6g}"))
            row.kernel.set_grid(t.kernel[i], scale=scales[1], caption=f"kernel [{t.out_channel}, {ch}]", cell_w=cell,
                                col_labels=[""] * kw,
                                describe=lambda r, c, i=i, ch=ch: f"weight [{t.out_channel}, {ch}, {r}, {c}] = "
                                                                  f"{t.kernel[i, r, c]:.6g}")
            row.products.set_grid(t.products[i], scale=scales[2], caption="window × kernel", cell_w=cell,
                                  col_labels=[""] * kw,
                                  describe=lambda r, c, i=i: f"{t.window[i, r, c]:.6g} × {t.kernel[i, r, c]:.6g} = "
                                                             f"{t.products[i, r, c]:.6g}")
            row.arrange(self.page.room())
            self._use(row)
        rest = n - len(expanded)
        lines = []
        if rest:
            others = float(t.sums.sum() - t.sums[expanded].sum())
            lines.append(f"The other {rest} channels add {num(others)} together.")
        bias = rich(" + bias <b>{}</b>", num(t.bias)) if t.has_bias else " (this conv has no bias)"
        over = f" over {n} channels" if n > 1 else ""
        parts = ""
        if every and n > 1:   # the partial sums added up, in the order shown
            parts = " = " + " + ".join(num(t.sums[i]) if t.sums[i] >= 0 else f"({num(t.sums[i])})" for i in range(n))
            if names:
                over = " of " + ", ".join(names[int(c)] for c in t.channels)
        lines.append(rich("Σ{over}{parts} = {total}{bias} = <b>{value}</b>", over=over, parts=parts,
                          total=num(t.total), bias=bias, value=num(t.value)))
        set_text(self.total, Html("<br>").join(lines))

    def _channel_names(self, t) -> tuple[str, ...] | None:
        """The image's channel names when this conv reads the image (as given, or after the graph's
        normalisation) over all of its channels; else None."""
        names = self.page.image_channels
        reads = t.input == self.page.net.input_name or self._is_normalised_input(t.input)
        return names if reads and len(names) == len(t.channels) > 1 and t.group == 1 else None

    def _is_normalised_input(self, name: str) -> bool:
        """True when ``name`` is the image after per-pixel ops only (``(x - mean) / std`` in the graph)."""
        net, steps = self.page.net, 0
        while name in net.producer:
            node = net.producer[name]
            if not net.is_per_unit(node):
                return False
            name, steps = next(i for i in node.inputs if i and i not in net.constants), steps + 1
        return name == net.input_name and steps > 0

    def _pin_channel(self, channel: int) -> None:
        self.pinned = channel
        if self.page.explanation is not None and self.page.explanation.terms.kind == "conv":
            self.fill(self.page.explanation)

    def _pool(self, e, t) -> None:
        is_max = t.winner is not None
        set_text(self.heading, f"1 · {'Max' if is_max else 'Average'} pooling")
        src = self.page.stage_title(t.input)
        marks = {t.winner: "winner"} if is_max else {}
        h, w = t.window.shape
        self.grid.set_grid(t.window, t.padding, row_labels=t.rows, col_labels=t.cols, marks=marks,
                           caption=f"{src} map {t.channel}", cell_w=self.page.cell_width(w + 1),
                           describe=lambda r, c: (f"row {t.rows[r]}, col {t.cols[c]}: padding" if t.padding[r, c]
                                                  else f"{src} map {t.channel}, row {t.rows[r]}, col {t.cols[c]}: "
                                                       f"{t.window[r, c]:.6g}"))
        self._use(self.grid)
        what = "the largest" if is_max else "the mean"
        first = t.winner_position or (max(0, int(t.rows[0])), max(0, int(t.cols[0])))
        set_text(self.intro, rich("Takes {what} of the {h}×{w} window at rows {rows}, columns {cols} of {link} map "
                                  "{channel}.{pad}", what=what, h=h, w=w, rows=_span(t.rows), cols=_span(t.cols),
                                  link=self.page.unit_link(t.input, (t.channel, *first), src), channel=t.channel,
                                  pad=" Hatched cells are padding (never the max)." if t.padding.any() else ""))
        if is_max:
            wr, wc = t.winner_position
            set_text(self.total, rich("max = <b>{value}</b>, at row {wr}, col {wc} (outlined): {link}",
                                      value=num(t.value), wr=wr, wc=wc,
                                      link=self.page.unit_link(t.input, (t.channel, wr, wc), "how was that computed?")))
        else:
            s = float(np.nansum(np.where(t.padding, 0, t.window)))
            set_text(self.total, rich("mean = {} / {} = <b>{}</b>", num(s), t.divisor, num(t.value)))

    def _dense(self, e, t) -> None:
        n = len(t.inputs)
        set_text(self.heading, "1 · Dense layer: Σ of input × weight, + bias")
        src = self.page.stage_title(t.input)
        origin = ""
        if t.sources is not None:
            stage, shape = t.sources
            values = "×".join(str(s) for s in shape)
            origin = f" (the {values} values of {self.page.stage_title(stage)}, flattened)"
        top = t.top(TOP_INPUTS)
        rows = []
        for c in top:
            where = f"  ← {self.page.stage_title(c.source[0])} {list(c.source[1])}" if c.source else ""
            rows.append((f"x[{c.index}]{where}", c.input, c.weight, c.product))
        self._dense_targets = [(c.source if c.source else (t.input, (c.index,))) for c in top]
        self.contributions.set_rows(rows)
        self._use(self.contributions)
        inputs = self.page.unit_link(t.input, (top[0].index,), src)
        set_text(self.intro, rich("Multiplies each of the {n} inputs of {inputs}{origin} by its weight for output "
                                  "{unit} and adds them up. The {top} largest products (by size) — click one to see "
                                  "how that input was computed:", n=n, inputs=inputs, origin=origin, unit=t.unit,
                                  top=len(top)))
        shown = sum(c.product for c in top)
        rest = t.total - shown
        pos = float(t.products[t.products > 0].sum())
        neg = float(t.products[t.products < 0].sum())
        alpha = f" × alpha {num(t.alpha)}" if t.alpha != 1 else ""
        set_text(self.total,
                 rich("The other {others} products add {rest}. All {n}: positive ones {pos}, negative ones {neg}."
                      "<br>Σ = {total}{alpha} + bias <b>{bias}</b> = <b>{value}</b>", others=n - len(top),
                      rest=num(rest), n=n, pos=num(pos), neg=num(neg), total=num(t.total), alpha=alpha,
                      bias=num(t.bias), value=num(t.value)))

    def _contribution_chosen(self, row: int) -> None:
        targets = self._dense_targets
        if 0 <= row < len(targets):
            self.navigate.emit(targets[row][0], tuple(targets[row][1]))

    def _softmax(self, e, t) -> None:
        k = t.index
        set_text(self.heading, "1 · Softmax: exp(z − m) / Σ exp(z − m)")
        src = self.page.stage_title(t.input)
        logits = self.page.unit_link(t.input, (k,), src)
        set_text(self.intro, rich("z are the {n} values of {logits}; m = max z = {shift} is subtracted first so that "
                                  "exp never overflows (it changes nothing).", n=len(t.logits), logits=logits,
                                  shift=num(t.shift)))

        def row(cells, tag: str = "td", look: Html | str = "") -> Html:
            return rich("<tr{}>{}</tr>", look, Html("").join(
                rich("<{tag} align='right'>&nbsp;{cell}&nbsp;</{tag}>", tag=tag, cell=c) for c in cells))

        rows = [row(("", "z", "z − m", "exp(z − m)", "p"), "th")]
        for j, (z, ex) in enumerate(zip(t.logits, t.exps)):
            name = self.page.classes[j] if len(self.page.classes) == len(t.logits) else str(j)
            look = rich(" style='background:{}; font-weight:600'", style.ACCENT_SOFT) if j == k else ""
            rows.append(row((name, num(z), num(z - t.shift), num(ex), num(ex / t.total)), look=look))
        rows.append(row(("Σ", "", "", num(t.total), "1")))
        set_text(self.table, rich("<table cellspacing='0'>{}</table>", Html("").join(rows)))
        self._use(self.table)
        set_text(self.total, rich("p[{k}] = exp({z} − {shift}) / {total} = {exp} / {total} = <b>{value}</b>", k=k,
                                  z=num(t.logits[k]), shift=num(t.shift), total=num(t.total), exp=num(t.exps[k]),
                                  value=num(t.value)))

    def _copy(self, e, t) -> None:
        set_text(self.heading, f"1 · {t.op}: a copy, not a computation")
        src = self.page.stage_title(t.input)
        order = (" Flattening reads the maps channel by channel, row by row." if t.op in ("Flatten", "Reshape")
                 and len(t.source) == 3 else "")
        set_text(self.intro, rich("This number is {}, moved to another place in the tensor.{}",
                                  self.page.unit_link(t.input, t.source, f"{src} {list(t.source)}"), order))
        set_text(self.total, rich("= <b>{}</b>", num(t.value)))

    def _input(self, e, t) -> None:
        set_text(self.heading, "1 · The input")
        what = ("one colour channel of one pixel of the input image as the network receives it (0..1)"
                if len(self.page.image_channels) == 3 else
                "a pixel of the input image as the network receives it (0 background, 1 ink; for an 8×8 model, "
                "the ink counted in a 4×4 block, over 16)")
        set_text(self.intro, what[0].upper() + what[1:] + ".")
        set_text(self.total, rich("= <b>{}</b>", num(t.value)))

    def _binary(self, e, t) -> None:
        sym = {"Add": "+", "Sub": "−", "Mul": "×", "Div": "/"}.get(t.op, t.op)
        set_text(self.heading, f"1 · {t.op} of two computed tensors")
        a, b = (self.page.stage_title(s) for s in t.inputs)
        set_text(self.intro, f"{a} {sym} {b} at the same position:")
        set_text(self.total, rich("{} {} {} = <b>{}</b>", num(t.a), sym, num(t.b), num(t.value)))

    def _other(self, e, t) -> None:
        set_text(self.heading, f"1 · {getattr(t, 'op', 'value')}")
        set_text(self.intro, "This op is not broken down; the value is the forward pass's.")
        set_text(self.total, rich("= <b>{}</b>", num(t.value)))


def _span(lo_hi: np.ndarray) -> str:
    return f"{int(lo_hi[0])}..{int(lo_hi[-1])}" if len(lo_hi) > 1 else str(int(lo_hi[0]))


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
