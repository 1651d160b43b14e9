"""The Draw tab's "Learn" inspector: backpropagation for the drawing shown, and one step of it.

For the input shown and a label (the answer, the "Wrong? It was" correction, or one picked here): the loss
-log p(label) and its gradient, from digitpad's own NumPy backward pass (``Backprop``, computed on a
worker), with respect to the input (over the image, warm where more ink would lower the loss, as
saliency is drawn), to a layer's kernels (as the Kernels tab draws them) or to its feature maps. Below,
"Take one step" (step_panel.py) moves the weights once; the grid can then show the kernels or the maps
before and after it. A click on a feature map's gradient opens that unit's arithmetic, backward side
included. The view only renders what ``Backprop`` and the step panel hold.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QButtonGroup, QComboBox, QHBoxLayout, QStackedWidget, QToolButton, QVBoxLayout, QWidget

from ..elided import ElidedLabel
from ..maps import ACTIVATION_CMAP, WEIGHT_CMAP, MapGrid
from ..text import plain_label, rich, rich_label, set_tip
from .input_view import ModelInputView
from .inspector_parts import message_page
from .kernels import RGB, kernel_rgb, reads_image
from .step_panel import StepPanel

INPUT, KERNELS, MAPS = "input", "kernels", "maps"
GRADIENT, BEFORE, AFTER = 0, 1, 2
MESSAGE, IMAGE, GRID, VALUES = range(4)   # the stack's pages


class LearnView(QWidget):
    """``backprop``: the tab's gradients (backprop.Backprop); ``settings`` and ``sets``: where the step's test
    sample is read (the app's settings, the test sets the explore views share)."""

    unitClicked = Signal(str, int, int, int)   # a feature map's unit: its arithmetic, backward side included

    def __init__(self, backprop, settings, sets, parent=None):
        super().__init__(parent)
        self.backprop = backprop
        self.prompt = "Draw a digit"
        self._filled_for = None        # (predictor, its layers, the gradients' layers) the choices are for
        self._stale = True             # hidden while something changed: render when shown
        self.input_shown: np.ndarray | None = None
        self._last = None              # (predictor, the gradients last shown)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        lay.setSpacing(5)
        top = QHBoxLayout()
        top.addWidget(plain_label("Loss for"))
        self.label_combo = QComboBox()
        self.label_combo.setSizeAdjustPolicy(QComboBox.AdjustToContents)
        set_tip(self.label_combo, "The label the loss measures the answer against: the answer itself, the "
                                  "“Wrong? It was” correction, or any class")
        self.label_combo.activated.connect(self._label_chosen)
        top.addWidget(self.label_combo)
        self.loss = rich_label("")
        top.addWidget(self.loss, 1)
        lay.addLayout(top)
        what = QHBoxLayout()
        what.addWidget(plain_label("Gradient with respect to"))
        self.what = QComboBox()
        self.what.setMinimumWidth(150)
        self.what.currentIndexChanged.connect(lambda _i: self._fill_channels())
        what.addWidget(self.what, 1)
        self.channel = QComboBox()
        set_tip(self.channel, "Which input channel of the kernels is shown")
        self.channel.currentIndexChanged.connect(lambda _i: self.render())
        what.addWidget(self.channel)
        lay.addLayout(what)
        self.info = ElidedLabel()      # one line, its height fixed: hover text changes and nothing moves
        lay.addWidget(self.info)
        self.stack = QStackedWidget()
        page, self.message = message_page()
        self.stack.addWidget(page)
        self.image = ModelInputView()
        self.image.set_saliency_visible(True)
        self.stack.addWidget(self.image)
        self.grid = MapGrid(cmap=WEIGHT_CMAP, symmetric=True)     # gradients, and weights before and after
        self.values = MapGrid(cmap=ACTIVATION_CMAP)                # feature maps before and after a step
        for grid in (self.grid, self.values):
            self.stack.addWidget(grid)
            grid.hovered.connect(self._hovered)
            grid.pixelClicked.connect(self._clicked)
        lay.addWidget(self.stack, 1)
        row = QHBoxLayout()
        self.legend = ElidedLabel()
        row.addWidget(self.legend, 1)
        self.show_group = QButtonGroup(self)
        self.show_buttons = []
        for i, (text, tip) in enumerate((("gradient", "dL/d(what is chosen) for this drawing"),
                                         ("before", "The values before the step"),
                                         ("after", "The values after the step"))):
            b = QToolButton(text=text)
            b.setCheckable(True)
            set_tip(b, tip)
            self.show_group.addButton(b, i)
            row.addWidget(b, 0, Qt.AlignBottom)
            self.show_buttons.append(b)
        self.show_buttons[GRADIENT].setChecked(True)
        self.show_group.idClicked.connect(lambda _i: self.render())
        lay.addLayout(row)
        self.step_panel = StepPanel(settings, sets)
        self.step_panel.stepped.connect(self.render)
        lay.addWidget(self.step_panel)
        backprop.changed.connect(self.render)
        self.render()

    # -- following the tab --------------------------------------------------------------------------
    def set_prompt(self, prompt: str, _pictures: bool = False) -> None:
        self.prompt = prompt
        self.render()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._stale:
            self.render()
        self.backprop.want("learn", True)

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        self.backprop.want("learn", False)

    @property
    def choice(self) -> tuple[str, str | None]:
        """(INPUT, None), (KERNELS, layer) or (MAPS, layer): what the gradient is shown with respect to."""
        kind, _, layer = (self.what.currentData() or INPUT).partition(":")
        return kind, layer or None

    def _label_chosen(self, i: int) -> None:
        self.backprop.choose(self.label_combo.itemData(i))

    def _fill(self, g) -> None:
        """The label and "with respect to" choices, once per model (from its first gradients: which layers have
        kernels and maps is known without reading the file on this thread)."""
        bp = self.backprop
        filled_for = (bp.predictor, tuple(bp.predictor.layers), tuple(g.kernels), tuple(g.activations))
        if self._filled_for != filled_for:
            self._filled_for = filled_for
            keep = self.what.currentData()
            self.what.blockSignals(True)
            self.what.clear()
            self.what.addItem("the input image", INPUT)
            for layer in bp.predictor.layers:
                if layer in g.kernels:
                    self.what.addItem(f"{layer}'s kernels (dL/dW)", f"{KERNELS}:{layer}")
                if layer in g.activations:
                    self.what.addItem(f"{layer}'s feature maps", f"{MAPS}:{layer}")
            self.what.setCurrentIndex(max(0, self.what.findData(keep)))
            self.what.blockSignals(False)
            self._fill_channels()
        classes = bp.predictor.classes
        self.label_combo.blockSignals(True)
        self.label_combo.clear()
        auto = bp.correction if bp.correction is not None else bp.answer
        source = "your correction" if bp.correction is not None else "the answer"
        self.label_combo.addItem(f"{classes[auto]} ({source})" if auto is not None else source, None)
        for i, name in enumerate(classes):
            self.label_combo.addItem(name, i)
        self.label_combo.setCurrentIndex(0 if bp.chosen is None else bp.chosen + 1)
        self.label_combo.blockSignals(False)

    def _fill_channels(self) -> None:
        kind, layer = self.choice
        self.channel.blockSignals(True)
        self.channel.clear()
        g = self.backprop.gradients
        n = g.kernels[layer].shape[1] if kind == KERNELS and g is not None and layer in g.kernels else 0
        names = reads_image(self.backprop.predictor, layer) if n else None
        if names:
            self.channel.addItem("colour (RGB)", RGB)
        for i in range(n):
            self.channel.addItem(f"input {i} · {names[i]}" if names else f"input {i}", i)
        self.channel.blockSignals(False)
        self.channel.setVisible(n > 1)
        self.render()

    # -- showing -------------------------------------------------------------------------------------
    def render(self) -> None:
        """Everything again from ``Backprop`` and the step panel; while the tab is hidden only the step panel
        follows (a new drawing forgets the steps), and the rest waits for the tab to be shown."""
        bp = self.backprop
        self.step_panel.set_context(bp.predictor, bp.x, bp.label)
        if not self.isVisible():
            self._stale = True
            return
        self._stale = False
        self.step_panel.setVisible(bp.reason is None)   # no gradients, no step
        g = bp.gradients
        if g is None and bp.reason is None and bp.x is not None and self._last is not None \
                and self._last[0] is bp.predictor:
            g = self._last[1]   # the new ones are on their way (0.1 s while drawing): the last stay, no flicker
        elif g is None:
            self._last = None
            status = bp.status()
            self.loss.setText("")
            self.message.setText(status or f"{self.prompt} to see how the loss changes with every number of the "
                                           f"network.")
            self.stack.setCurrentIndex(MESSAGE)
            self.legend.set_text("")
            self.info.set_text("")
            self._show_buttons(False)
            return
        self._last = (bp.predictor, g)
        self._fill(g)
        name = bp.predictor.classes[g.label]
        self.loss.setText(rich("L = −log p({name}) = −log {p:.4f} = <b>{loss:.4f}</b>", name=name,
                               p=float(g.probs[g.label]), loss=g.loss))
        kind, layer = self.choice
        stepped = self.step_panel.kernels(layer) if kind == KERNELS else \
            self.step_panel.maps(layer) if kind == MAPS else None
        self._show_buttons(stepped is not None)
        if stepped is None and not self.show_buttons[GRADIENT].isChecked():
            self.show_buttons[GRADIENT].setChecked(True)
        shown = self.show_group.checkedId()
        if kind == INPUT:
            self._show_input(g, name)
        elif kind == KERNELS and layer in g.kernels:
            self._show_kernels(g, layer, shown)
        elif kind == MAPS and layer in g.activations:
            self._show_maps(g, layer, shown)
        else:   # a choice from before the model's layers were known
            self.what.setCurrentIndex(0)

    def _show_buttons(self, on: bool) -> None:
        for b in self.show_buttons:
            b.setVisible(on)

    def _show_input(self, g, name: str) -> None:
        p = self.backprop.predictor
        c, s, _ = p.input_shape
        self.image.set_input_size(s, c)
        self.image.show_input(p.input.to_display(self.backprop.x))
        down = -g.input.reshape(c, s, s).sum(axis=0)     # -dL/dx: where more ink (or light) lowers the loss
        self.image.show_saliency_map(down)
        self.input_shown = down   # what the overlay is drawn from (the tests read it)
        self.stack.setCurrentIndex(IMAGE)
        r, col = np.unravel_index(int(np.argmax(np.abs(down))), down.shape)
        what = "ink" if p.input.drawn else "brightness"
        self.info.set_text(f"dL/dx, {s} × {s}: largest |dL/dx| {abs(float(down[r, col])):.3g} at row {r}, col {col}")
        self.legend.set_text(f"Warm: more {what} there makes “{name}” more likely; cool: less.",
                             f"Warm: more {what} there would lower the loss (make “{name}” more likely); cool: it "
                             f"would raise it. Drawn as saliency is, from −dL/dx: the gradient of the loss with "
                             f"respect to each pixel of the image, in its own 0..1 values.")

    def _show_kernels(self, g, layer: str, shown: int) -> None:
        pair = None if shown == GRADIENT else self.step_panel.kernels(layer)
        c_in = self.channel.currentData()
        c_in = 0 if c_in is None else int(c_in)
        if pair is not None:   # before and after on the before's scale: the change is what moves
            before, after = pair
            w = before if shown == BEFORE else after
            m = float(np.abs(before).max()) or 1.0
            if c_in == RGB:
                self.grid.set_colour_maps(np.clip(0.5 + w.transpose(0, 2, 3, 1) / (2 * m), 0, 1))
            else:
                self.grid.set_maps(w[:, c_in], levels=(-m, m))
            moved = float(np.abs(after - before).max())
            steps = len(self.step_panel.steps)
            when = f"{'before' if shown == BEFORE else 'after'} {'the step' if steps == 1 else f'{steps} steps'}"
            self.info.set_text(f"{layer}'s {w.shape[0]} kernels {w.shape[2]}×{w.shape[3]} {when} · |w| ≤ {m:.2g} · "
                               f"moved by at most {moved:.2g}")
            self.legend.set_text("Red: positive weights, blue: negative; one scale before and after.")
        else:
            w = g.kernels[layer]
            n, k = w.shape[0], f"{w.shape[2]}×{w.shape[3]}"
            if c_in == RGB:
                self.grid.set_colour_maps(kernel_rgb(w))
            else:
                self.grid.set_maps(w[:, c_in])
            where = "" if w.shape[1] == 1 else f", input channel {c_in} of {w.shape[1]}" if c_in != RGB else \
                ", each as one RGB patch"
            self.info.set_text(f"dL/dW of {layer}: {n} kernels {k}{where} · |dL/dw| ≤ {float(np.abs(w).max()):.2g}")
            self.legend.set_text("Red: a larger weight raises the loss; blue: lowers it.",
                                 "Red: increasing that weight would raise the loss, blue: lower it. A step moves "
                                 "each weight by −(learning rate) × this.")
        self.stack.setCurrentIndex(GRID)

    def _show_maps(self, g, layer: str, shown: int) -> None:
        pair = None if shown == GRADIENT else self.step_panel.maps(layer)
        if pair is None:
            a = g.activations[layer]
            self.grid.set_maps(a)
            self.stack.setCurrentIndex(GRID)
            self.info.set_text(f"dL/d(activation) of {layer}: {a.shape[0]} maps {a.shape[1]}×{a.shape[2]} · largest "
                               f"{float(np.abs(a).max()):.2g} · click a unit for its arithmetic")
            self.legend.set_text("Red: the unit growing raises the loss; blue: lowers it.",
                                 "Red: the unit growing would raise the loss, blue: lower it; 0 where nothing it "
                                 "feeds passes a gradient back (an off ReLU, a pool's loser).")
            return
        before, after = pair
        a = before if shown == BEFORE else after
        lo, hi = float(min(before.min(), 0)), float(before.max()) or 1.0
        self.values.set_maps(a, levels=(lo, hi))
        self.stack.setCurrentIndex(VALUES)
        self.info.set_text(f"{layer}'s feature maps {'before' if shown == BEFORE else 'after'} the step, on one scale"
                           f" · changed by at most {float(np.abs(after - before).max()):.2g}")
        self.legend.set_text("This drawing's maps: the model in use, and the stepped copy.")

    def _hovered(self, tile: int, row: int, col: int) -> None:
        g = self.backprop.gradients
        if tile < 0 or g is None:
            return
        kind, layer = self.choice
        grid = self.grid if self.stack.currentIndex() == GRID else self.values
        if grid.maps is None or grid.maps.ndim != 3 or tile >= len(grid.maps):
            return
        v = float(grid.maps[tile, row, col])
        what = "kernel" if kind == KERNELS else "map"
        self.info.set_text(f"{layer} {what} {tile} · row {row}, col {col}: {v:.4g}")

    def _clicked(self, tile: int, row: int, col: int) -> None:
        kind, layer = self.choice
        if kind == MAPS and layer:
            self.unitClicked.emit(layer, tile, row, col)

    def shutdown(self) -> None:
        self.step_panel.shutdown()
