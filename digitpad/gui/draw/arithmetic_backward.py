"""The arithmetic page's backward side: how the loss's gradient reaches the unit shown, and where it goes.

Under the forward arithmetic of a unit (arithmetic.py), for the Learn tab's label (``Backprop``): the loss,
dL/d(unit), each per-unit step walked back with its derivative at this unit (a ReLU passes 1 or 0, batch
norm multiplies by gamma / sqrt(var + eps)), then how the gradient at the combining op splits: a conv
unit's share of its kernel's gradient (dL/d(conv unit) × the window it read) beside the whole dL/dW that
all the map's units add up to, and its share of the gradient of the inputs it read (× the kernel) beside
their whole dL/dx; a dense unit's largest shares; a max pool's winner; softmax's spread over the logits.
The numbers come from ``core.explain_backward`` (the backward pass's own values); this only lays them out.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QHBoxLayout, QWidget

from digitpad.core.explain_backward import explain_backward

from ..text import Html, rich
from .arithmetic_parts import Section, make_label, set_shown, set_text
from .numbers import NumberGrid, num

CHANNELS = 2      # conv input channels shown, those with the largest shares
DENSE_ROWS = 6


class BackwardSection(Section):
    """``attach(tab)`` follows the Arithmetic tab (its unit, its input) and ``backprop`` (the gradients)."""

    def __init__(self, backprop, parent=None):
        super().__init__(parent)
        self.backprop = backprop
        self.tab = None
        self.shown = None          # the BackwardExplanation on screen (tests read its numbers)
        self._stale = False        # something changed while hidden: refreshed when shown
        self.heading.setText("Backward · how the loss's gradient reaches this unit")
        self.summary = make_label()
        self.lay.addWidget(self.summary)
        self.chain = make_label()
        self.lay.addWidget(self.chain)
        self.split = make_label()
        self.lay.addWidget(self.split)
        self.rows: list[tuple[QWidget, NumberGrid, NumberGrid]] = []
        for _ in range(2 * CHANNELS):
            row = QWidget()
            lay = QHBoxLayout(row)
            lay.setContentsMargins(0, 0, 0, 0)
            lay.setSpacing(14)
            share, total = NumberGrid(), NumberGrid()
            lay.addWidget(share)
            lay.addWidget(total)
            lay.addStretch(1)
            self.lay.addWidget(row)
            self.rows.append((row, share, total))
        self.table = make_label()
        self.lay.addWidget(self.table)
        backprop.changed.connect(self.refresh)

    def attach(self, tab) -> None:
        self.tab = tab
        tab.unitShown.connect(lambda _stage, _index: self.refresh())

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._stale:
            self.refresh()
        self.backprop.want("arithmetic", True)

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        self.backprop.want("arithmetic", False)

    # -- filling ---------------------------------------------------------------------------------
    def refresh(self) -> None:
        if not self.isVisible():   # the Arithmetic tab is not on screen: nothing is computed for it
            self._stale = True
            return
        self._stale = False
        tab = self.tab
        e = None if tab is None else tab.panel.explanation
        if e is None or tab.x is None:
            return
        bp = self.backprop
        status = bp.status()
        same = bp.x is tab.x and bp.predictor is tab.predictor
        self._hide_details()
        if status is not None or not same:
            self.shown = None
            set_text(self.summary, status or "Computing the gradients…")
            return
        p, g = tab.predictor, bp.gradients
        try:
            b = explain_backward(e, p.network, p.trace(tab.x), g)
        except Exception as error:  # noqa: BLE001  a graph the backward side cannot follow: say so, not fail
            self.shown = None
            set_text(self.summary, f"The backward side of this unit could not be laid out "
                                   f"({type(error).__name__}: {error}).")
            return
        self.shown = b
        page = tab.panel
        name = p.classes[g.label]
        set_text(self.summary, rich("For the label <b>{name}</b> (the Learn tab's): L = −log p({name}) = {loss}. "
                                    "dL/d(this unit) = <b>{grad}</b>", name=name, loss=num(g.loss), grad=num(b.grad)))
        self._chain(b, page)
        write = {"conv": self._conv, "dense": self._dense, "pool": self._pool, "softmax": self._softmax,
                 "copy": self._copy}.get(b.kind)
        if b.stops:
            set_text(self.split, rich("A step's derivative is 0 here: nothing flows further back from this unit."))
            set_shown(self.split, True)
        elif write is not None:
            write(b, page, e)
        elif b.kind == "input":
            set_text(self.split, rich("This is the input as fed to the network: its gradient is where the backward "
                                      "pass ends (the Learn tab shows it over the whole image)."))
            set_shown(self.split, True)

    def _hide_details(self) -> None:
        for w in (self.chain, self.split, self.table, *(row for row, _, _ in self.rows)):
            set_shown(w, False)

    def _chain(self, b, page) -> None:
        if not b.chain:
            return
        parts = []
        for link in b.chain:
            src = page.stage_title(next(i for i in page.net.producer[link.stage].inputs
                                        if i and i not in page.net.constants))
            parts.append(rich("<b>{op}</b>: {rule} → × {factor}: {out} × {factor} = <b>{product}</b> = dL/d({src})",
                              op=link.op, rule=link.rule, factor=num(link.factor), out=num(link.grad_out),
                              product=num(link.product), src=src))
            if abs(link.grad_in - link.product) > 1e-6 * max(abs(link.grad_in), 1e-12):
                parts.append(rich("(its other readers add to it: dL/d({src}) = {total})", src=src,
                                  total=num(link.grad_in)))
        set_text(self.chain, Html("<br>").join(parts))
        set_shown(self.chain, True)

    def _conv(self, b, page, e) -> None:
        t = e.terms
        total = np.nansum(np.abs(b.weight_share), axis=(1, 2))
        order = np.argsort(-total, kind="stable")[:CHANNELS]
        n = len(t.channels)
        what = page.stage_title(b.input)
        bias = "" if b.bias_share is None else rich(" The bias gets all of it: dL/db += {}.", num(b.bias_share))
        set_text(self.split, rich(
            "At the conv unit, dL/d = <b>{g}</b> splits two ways. To the kernel's weights: {g} × the window it "
            "read (left), this unit's share of dL/dW; the whole dL/dW (right) adds the shares of all {k} units of "
            "the map. To the inputs it read: {g} × the kernel (left); their whole dL/dx (right) adds every unit "
            "whose window covers them.{bias}{which}", g=num(b.grad_at), k=b.shares, bias=bias,
            which=rich(" Input channels with the largest shares of {n}:", n=n) if n > CHANNELS else Html("")))
        set_shown(self.split, True)
        cell = page.cell_width(2 * t.kernel.shape[2] + 2)
        pad = t.padding
        for i, c in enumerate(order):
            ch = int(t.channels[c])
            whole_w = None if b.weight_total is None else b.weight_total[c]
            # (caption, this unit's share, its padding; caption, the whole gradient, its padding)
            rows = [(f"{what} ch {ch}: {num(b.grad_at)} × window → dL/dW", b.weight_share[c], pad,
                     "whole dL/dW", whole_w, None),
                    (f"{num(b.grad_at)} × kernel → dL/dx", b.input_share[c], pad,
                     "whole dL/dx there", b.input_total[c], pad)]
            for j, (cap_share, share, share_pad, cap_total, whole, whole_pad) in enumerate(rows):
                row, left, right = self.rows[2 * i + j]
                left.set_grid(np.nan_to_num(share), share_pad, caption=cap_share, cell_w=cell,
                              row_labels=t.rows if j else None, col_labels=t.cols if j else None)
                set_shown(right, whole is not None)
                if whole is not None:
                    right.set_grid(np.nan_to_num(whole), whole_pad, caption=cap_total, cell_w=cell)
                set_shown(row, True)

    def _dense(self, b, page, e) -> None:
        t = e.terms
        order = np.argsort(-np.abs(b.input_share), kind="stable")[:DENSE_ROWS]
        set_text(self.split, rich(
            "At the dense unit, dL/d = <b>{g}</b> goes to each of its {n} inputs times its weight, and to each weight "
            "times its input; a dense weight is used once per image, so this unit's share is its whole dL/dW."
            "{bias} The largest:", g=num(b.grad_at), n=len(t.inputs),
            bias=rich(" The bias gets all of it: {}.", num(b.bias_share)) if b.bias_share is not None else Html("")))
        set_shown(self.split, True)
        rows = [rich("<tr><th align='left'>input</th><th>x</th><th>w</th><th>to x: g × w</th><th>to w: g × x</th>"
                     "<th>whole dL/dx</th></tr>")]
        for i in order:
            src = t.source(int(i))
            where = f"{page.stage_title(src[0])} {list(src[1])}" if src else f"[{int(i)}]"
            rows.append(rich("<tr><td>{where}</td><td align='right'>{x}</td><td align='right'>{w}</td>"
                             "<td align='right'><b>{gw}</b></td><td align='right'>{gx}</td>"
                             "<td align='right'>{dx}</td></tr>",
                             where=where, x=num(t.inputs[i]), w=num(t.weights[i]), gw=num(b.input_share[i]),
                             gx=num(b.weight_share[i]), dx=num(b.input_total[i])))
        set_text(self.table, rich("<table cellspacing='6'>{}</table>", Html("").join(rows)))
        set_shown(self.table, True)

    def _pool(self, b, page, e) -> None:
        t = e.terms
        how = (rich("a max: all of it goes to the window's largest value, row {r}, col {c}; the others get 0",
                    r=t.winner_position[0], c=t.winner_position[1]) if t.winner is not None else
               rich("a mean: each of the {n} values it counted gets 1/{n} of it", n=t.divisor))
        set_text(self.split, rich("dL/d = <b>{g}</b> at the pool, {how}.", g=num(b.grad_at), how=how))
        set_shown(self.split, True)
        row, left, right = self.rows[0]
        left.set_grid(np.nan_to_num(b.input_share), t.padding, caption="to the window", row_labels=t.rows,
                      col_labels=t.cols, cell_w=page.cell_width(8))
        right.set_grid(np.nan_to_num(b.input_total), t.padding, caption="whole dL/dx there", cell_w=page.cell_width(8))
        set_shown(right, True)
        set_shown(row, True)

    def _softmax(self, b, page, e) -> None:
        set_text(self.split, rich(
            "Softmax spreads dL/dp = <b>{g}</b> over every logit: dL/dz[j] += g × p[k] × ([j = k] − p[j]) (left); "
            "the whole dL/dz (right) adds every probability's part, which for this loss is p − onehot(label).",
            g=num(b.grad_at)))
        set_shown(self.split, True)
        names = page.classes if len(page.classes) == len(b.input_share) else None
        cell = page.cell_width(len(b.input_share) + 1)
        for (row, left, right), values, cap in ((self.rows[0], b.input_share, "this probability's part of dL/dz"),
                                                (self.rows[1], b.input_total, "whole dL/dz")):
            left.set_grid(values[None], caption=cap, col_labels=names, cell_w=cell)
            set_shown(right, False)
            set_shown(row, True)

    def _copy(self, b, page, e) -> None:
        set_text(self.split, rich("A copy ({op}) of {src} {where}: the gradient goes back there unchanged, "
                                  "dL/d = <b>{g}</b>.", op=e.terms.op, src=page.stage_title(b.input),
                                  where=str(list(b.source)), g=num(b.input_total[0])))
        set_shown(self.split, True)
