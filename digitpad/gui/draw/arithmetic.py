"""How one number was computed: an Explanation (digitpad.core.explain) laid out for reading.

From the top: the unit and its value, checked against the NumPy forward pass and ONNX
Runtime; the op that combined many numbers into it (arithmetic_terms.py: a conv's windows,
kernels, products and per-channel sums; a pool's window and winner; a dense layer's largest
contributions; softmax's exponentials); the core's notes (batch norm folded into the conv, a
unit no layer reads); what was then done to that one number (batch norm with the layer's own
values, ReLU, ...); and the pooling windows downstream that read it, the winner marked.

Links (a dense input's source, the pool's winner, a flattened number's origin) emit
``navigate(stage, index)``: the tab explains that unit next.

The widgets are built once and refilled, so a click costs the explanation (~1 ms) and a paint.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from .. import style
from ..text import Html, plain_label, rich
from .arithmetic_parts import HEADING_FONT, Section, make_label, set_shown, set_text
from .arithmetic_terms import TermsSection
from .numbers import NumberGrid, num

AGREE = 1e-4          # the bar: recomputed value vs ONNX Runtime
OP_NAMES = {"BatchNormalization": "Batch norm", "Relu": "ReLU", "LeakyRelu": "Leaky ReLU", "Clip": "Clip",
            "Sigmoid": "Sigmoid", "Tanh": "Tanh", "Sub": "Subtract", "Add": "Add", "Mul": "Multiply",
            "Div": "Divide", "Identity": "Identity", "Dropout": "Dropout (does nothing at inference)"}


class ArithmeticPanel(QWidget):
    """Shows one Explanation. ``show_explanation(e, net, classes)``; ``show_message(text)``."""

    navigate = Signal(str, object)     # (stage name, index tuple): explain that unit

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Maximum)
        self.explanation = None
        self.net = None
        self.classes: list[str] = []
        self.image_channels: tuple[str, ...] = ()
        self._links: dict[str, tuple[str, tuple[int, ...]]] = {}
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(6)
        self.message = make_label(rich=False, muted=True)
        lay.addWidget(self.message)
        self.title = plain_label(wrap=True)   # stage and class names from the model: plain text
        self.title.setFont(HEADING_FONT)
        lay.addWidget(self.title)
        self.value = plain_label()
        font = self.value.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        self.value.setFont(font)
        self.value.setTextInteractionFlags(Qt.TextSelectableByMouse)
        lay.addWidget(self.value)
        self.check = make_label()
        lay.addWidget(self.check)
        self.field = make_label(rich=False, muted=True)
        lay.addWidget(self.field)
        self.terms = TermsSection(page=self)
        self.terms.navigate.connect(self.navigate)
        lay.addWidget(self.terms)
        self.notes = make_label(rich=False)
        self.notes.setObjectName("hint")
        lay.addWidget(self.notes)
        self.steps = Section()
        self.steps_text = make_label()
        self.steps.lay.addWidget(self.steps_text)
        lay.addWidget(self.steps)
        self._build_downstream(lay)
        self.extra_sections: list[QWidget] = []   # shown after the forward arithmetic (add_section)
        lay.addStretch(1)
        for label in self.findChildren(QLabel):
            label.linkActivated.connect(self._link)
        self.show_message("Click a unit of a map (or an entry of a vector) to see how it was computed.")

    # -- building ----------------------------------------------------------------------------
    def _build_downstream(self, lay: QVBoxLayout) -> None:
        self.downstream = Section()
        self.downstream_text: list[QLabel] = []
        self.downstream_grids: list[NumberGrid] = []
        for _ in range(4):
            text, grid = make_label(), NumberGrid()
            self.downstream.lay.addWidget(text)
            self.downstream.lay.addWidget(grid)
            self.downstream_text.append(text)
            self.downstream_grids.append(grid)
        lay.addWidget(self.downstream)

    def add_section(self, section: QWidget) -> None:
        """A section of its own under the forward arithmetic (the backward side: arithmetic_backward.py), which
        fills itself when a unit is shown and is hidden with the rest when there is nothing to explain."""
        lay = self.layout()
        lay.insertWidget(lay.count() - 1, section)
        self.extra_sections.append(section)

    # -- showing -----------------------------------------------------------------------------
    def show_message(self, text: str) -> None:
        """Nothing to explain (no drawing, no model, a reason it cannot be done): one line."""
        self.explanation = None
        set_text(self.message, text)
        set_shown(self.message, True)
        for w in (self.title, self.value, self.check, self.field, self.terms, self.notes, self.steps,
                  self.downstream, *self.extra_sections):
            set_shown(w, False)

    def show_explanation(self, e, net, classes: list[str] | None = None,
                         image_channels: tuple[str, ...] = ()) -> None:
        """``image_channels``: what the input image's channels are ("red", "green", "blue"), to name them
        where a conv reads the image."""
        same_unit = self.explanation is not None and (self.explanation.stage, self.explanation.index[:1]) == \
            (e.stage, e.index[:1])
        if not same_unit:
            self.terms.pinned = None
        self.explanation, self.net = e, net
        self.classes = list(classes or [])
        self.image_channels = tuple(image_channels)
        self._links = {}
        set_shown(self.message, False)
        self._show_header(e)
        self.terms.fill(e)
        number = 2
        set_text(self.notes, "\n".join(e.notes))
        set_shown(self.notes, bool(e.notes))
        if e.steps:
            set_text(self.steps.heading, "2 · Then, to this one number" if len(e.steps) > 1 else
                                          f"2 · Then {OP_NAMES.get(e.steps[0].op, e.steps[0].op)}")
            set_text(self.steps_text, self._steps_html(e.steps))
            number = 3
        set_shown(self.steps, bool(e.steps))
        self._show_downstream(e, number)
        for w in (self.title, self.value, self.check, self.field, self.terms, *self.extra_sections):
            set_shown(w, True)

    def _link(self, href: str) -> None:
        if href in self._links:
            self.navigate.emit(*self._links[href])

    def unit_link(self, stage: str, index: tuple[int, ...], text: str) -> Html:
        key = f"u{len(self._links)}"
        self._links[key] = (stage, tuple(int(i) for i in index))
        return rich("<a href='{key}' style='color:{colour}'>{text}</a>", key=key, colour=style.ACCENT, text=text)

    def stage_title(self, stage: str) -> str:
        return self.net.stage(stage).title

    def unit_name(self, stage: str, index: tuple[int, ...]) -> str:
        title = self.stage_title(stage)
        if len(index) == 3:
            return f"{title} · map {index[0]} · row {index[1]}, col {index[2]}"
        cls = ""
        outputs = {self.net.canonical(o) for o in self.net.outputs}   # logits: maybe an Identity's name
        if self.net.stage(stage).shape == (10,) and len(self.classes) == 10 and stage in outputs:
            cls = f" (class {self.classes[index[0]]})"
        return f"{title} [{', '.join(str(i) for i in index)}]{cls}"

    def _show_header(self, e) -> None:
        set_text(self.title, self.unit_name(e.stage, e.index))
        set_text(self.value, f"= {num(e.value)}")
        parts = [rich("recomputed from the numbers below: <b>{}</b>", num(e.value)),
                 rich("NumPy forward pass: {}", num(e.computed))]
        if e.onnxruntime is not None:
            diff = abs(e.value - e.onnxruntime)
            ok = diff <= AGREE
            mark = (rich("<span style='color:{}'>✓ agree</span>", style.OK_TEXT) if ok else
                    rich("<span style='color:{}'>✗ differ</span>", style.ERROR_TEXT))
            parts.append(rich("ONNX Runtime returned: <b>{value}</b> {mark} (difference {diff:.1e})",
                              value=num(e.onnxruntime), mark=mark, diff=diff))
        elif e.weights:
            parts.append(rich("with the weights of {} (ONNX Runtime holds only the model's final weights)", e.weights))
        else:
            parts.append(rich("ONNX Runtime does not compute this stage (the input as fed)"))
        set_text(self.check, Html(" · ").join(parts))
        f = e.receptive_field
        if f is None:
            set_text(self.field, "")
        elif len(e.index) != 3 or f.mask.all():
            set_text(self.field, "Depends on every pixel of the input image.")
        else:
            top, left, bottom, right = f.box
            set_text(self.field, f"Depends on input rows {top}..{bottom}, columns {left}..{right} "
                                  f"(a {f.size[0]}×{f.size[1]} field counting padding), outlined on the input.")

    def room(self) -> int:
        """The width the page's grids may take: the scroll area's viewport, not this widget, whose
        width follows its content."""
        holder = self.parentWidget()
        return max(300, (holder.width() if holder is not None else self.width()) - 70)

    def cell_width(self, columns: int) -> int:
        """Grid cells as wide as the room allows (34..48 px); a grid widens its cells further when
        its numbers need it (numbers.NumberGrid: no number is ever cut)."""
        return int(min(48, max(34, self.room() / max(1, columns))))

    def refit(self) -> None:
        """Lay the grids out again for a new width."""
        if self.explanation is not None:
            self.terms.fill(self.explanation)
            self._show_downstream(self.explanation, 3 if self.explanation.steps else 2)

    # -- what was then done to it, and who reads it --------------------------------------------
    def _steps_html(self, steps) -> Html:
        parts = []
        for s in steps:
            name = OP_NAMES.get(s.op, s.op)
            extra = Html("")
            if s.op == "BatchNormalization":
                extra = rich("<br><span style='color:{}'>mean and var are the statistics learnt in training, "
                             "gamma and beta its learnt scale and shift, for this channel.</span>", style.MUTED)
            parts.append(rich("<b>{name}</b> <span style='color:{muted}'>({title})</span>: "
                              "<code>{formula}</code><br><code>{numbers}</code>{extra}",
                              name=name, muted=style.MUTED, title=s.title, formula=s.formula,
                              numbers=step_text(s), extra=extra))
        return Html("<br><br>").join(parts)

    def _show_downstream(self, e, number: int) -> None:
        windows = e.downstream[:len(self.downstream_grids)]
        for i, (text, grid) in enumerate(zip(self.downstream_text, self.downstream_grids)):
            set_shown(text, i < len(windows))
            set_shown(grid, i < len(windows))
        if not windows:
            set_shown(self.downstream, False)
            return
        set_text(self.downstream.heading, f"{number} · Then pooled")
        here = tuple(e.index[1:])
        for w, text, grid in zip(windows, self.downstream_text, self.downstream_grids):
            marks = {}
            if w.winner is not None:
                marks[w.winner] = "winner"
            r = np.flatnonzero(w.rows == here[0])
            c = np.flatnonzero(w.cols == here[1])
            if len(r) and len(c):
                marks.setdefault((int(r[0]), int(c[0])), "self")
            src = self.stage_title(w.input)
            grid.set_grid(w.window, w.padding, row_labels=w.rows, col_labels=w.cols, marks=marks,
                          caption=f"{src} map {w.channel}", cell_w=self.cell_width(w.window.shape[1] + 1))
            unit = (w.channel, w.row, w.col)
            target = self.unit_link(w.stage, unit, self.unit_name(w.stage, unit))
            if w.winner is not None:
                wins = w.winner_position == here
                ties = not wins and float(e.computed) == w.value
                verdict = ("this unit is the largest: it is passed on" if wins else
                           f"this unit ties with the first largest, row {w.winner_position[0]}, col "
                           f"{w.winner_position[1]} ({num(w.value)}): the same value is passed on" if ties else
                           f"the largest is row {w.winner_position[0]}, col {w.winner_position[1]} "
                           f"({num(w.value)}); this unit (dashed) is dropped there")
                set_text(text, rich("{} takes the max of this window: {}.", target, verdict))
            else:
                set_text(text, rich("{} takes the mean of this window ({}).", target, num(w.value)))
        set_shown(self.downstream, True)


def step_text(step) -> str:
    """A Step's formula with its numbers, negative ones in parentheses: "(0.91 - (-4.36)) / ..."."""
    shown = {k: num(v) if v >= 0 else f"({num(v)})" for k, v in step.terms.items()}
    return f"{step.template.format(**shown)} = {num(step.output)}"

