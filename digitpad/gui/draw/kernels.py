"""Kernels as learned: the Kernels inspector (a layer's filters, read from the model file) and
the pager that shows one map's kernel in the feature maps' detail.

Both only render the weights they are handed (``set_predictor``, ``set_kernel``); neither runs the model.
The first layer of a colour model reads red, green and blue: each of its kernels is shown as one RGB
patch (``kernel_rgb``), as the filters of AlexNet's first layer are usually shown, and per channel
on request.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QSizePolicy,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..maps import WEIGHT_CMAP, MapGrid, kernel_rgb
from ..text import plain_label, set_tip
from ..widgets import set_enabled
from .inspector_parts import LayerChooser, caption, message_page

KERNEL_PAGE = 16     # input channels per page of a kernel: 64 slices of 3x3 in half a pane were ~20 px each
RGB = -1             # the input box's "colour" entry: each kernel as one RGB patch
RGB_NOTE = ("Each kernel as one patch: its red, green and blue weights at each tap as a colour, on one scale "
            "for the layer. Grey is 0; a channel's positive weights brighten it, negative ones darken it.")


def reads_image(predictor, layer: str) -> tuple[str, ...] | None:
    """The names of the image's channels when ``layer`` is the first with kernels and reads the input's
    colour channels (red, green, blue); else None."""
    if predictor is None or not predictor.input.colour:
        return None
    first = next((name for name in predictor.layers if predictor.kernels(name) is not None), None)
    w = predictor.kernels(layer) if layer == first else None
    return predictor.input.channel_names if w is not None and w.shape[1] == predictor.input_channels else None


class KernelPager(QWidget):
    """One map's kernel, ``KERNEL_PAGE`` input channels at a time, on one colour scale for all."""

    def __init__(self, parent=None):
        super().__init__(parent)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(4)
        self.title = caption(wrap=False)
        self.title.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        col.addWidget(self.title)
        head = QHBoxLayout()
        head.addStretch(1)
        self.prev_button = QToolButton(text="‹")
        set_tip(self.prev_button, "The previous input channels")
        self.prev_button.clicked.connect(lambda: self.show_page(self.page - 1))
        self.page_label = caption(wrap=False)
        self.next_button = QToolButton(text="›")
        set_tip(self.next_button, "The next input channels")
        self.next_button.clicked.connect(lambda: self.show_page(self.page + 1))
        for w in (self.prev_button, self.page_label, self.next_button):
            head.addWidget(w)
        col.addLayout(head)
        self.grid = MapGrid(cmap=WEIGHT_CMAP, symmetric=True)
        col.addWidget(self.grid, 1)
        self.weights: np.ndarray | None = None
        self.channel_names: tuple[str, ...] | None = None
        self.page = 0
        self._show_pager(False)

    @property
    def maps(self) -> np.ndarray | None:
        return self.grid.maps

    @property
    def pages(self) -> int:
        return 0 if self.weights is None else -(-self.weights.shape[0] // KERNEL_PAGE)

    def _show_pager(self, on: bool) -> None:
        for w in (self.prev_button, self.page_label, self.next_button):
            w.setVisible(on)

    def set_kernel(self, w: np.ndarray | None, why: str = "", channel_names: tuple[str, ...] | None = None) -> None:
        """``w`` [in, kh, kw] (None: say ``why``); ``channel_names``: what its inputs are (red, green, blue)."""
        self.weights = None if w is None else np.asarray(w, np.float32)
        self.channel_names = channel_names
        if self.weights is None:
            self.grid.clear_maps()
            self.title.setText(why)
            self._show_pager(False)
            return
        n = self.weights.shape[0]
        size = f"{self.weights.shape[1]}×{self.weights.shape[2]}"
        text = (f"Its kernel, {size} each: {', '.join(channel_names)}" if channel_names and len(channel_names) == n
                else f"Its kernel: {size}, {n} input channel{'s' * (n != 1)}")
        self.title.setText(text)
        set_tip(self.title, text)
        self._show_pager(n > KERNEL_PAGE)
        self.show_page(0)

    def show_page(self, page: int) -> None:
        if self.weights is None:
            return
        self.page = max(0, min(self.pages - 1, page))
        w = self.weights
        m = float(np.abs(w).max()) or 1.0
        lo = self.page * KERNEL_PAGE
        part = w[lo:lo + KERNEL_PAGE]
        self.grid.set_maps(part, levels=(-m, m))   # every page on the kernel's one scale
        self.page_label.setText(f"inputs {lo + 1}–{lo + len(part)} of {w.shape[0]}")
        set_enabled(self.prev_button, self.page > 0, "These are the first input channels.")
        set_enabled(self.next_button, self.page < self.pages - 1, "These are the last input channels.")


class KernelsView(QWidget):
    """Learned filters read from the file: first layer as is, deeper layers per input channel."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.predictor = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        self.chooser = LayerChooser("Layer")
        self.chooser.combo.currentTextChanged.connect(self._refresh)
        self.in_label = plain_label("  Input")
        self.in_combo = QComboBox()
        self.in_combo.currentIndexChanged.connect(lambda _i: self._draw())
        self.chooser.extra.addWidget(self.in_label)
        self.chooser.extra.addWidget(self.in_combo)
        lay.addWidget(self.chooser)
        self.stack = QStackedWidget()
        empty_page, self.message = message_page()
        self.stack.addWidget(empty_page)
        self.grid = MapGrid(cmap=WEIGHT_CMAP, symmetric=True)
        self.stack.addWidget(self.grid)
        self.note = caption(RGB_NOTE)
        self.note.setVisible(False)
        lay.addWidget(self.note)
        lay.addWidget(self.stack, 1)
        self.weights: np.ndarray | None = None
        self.channel_names: tuple[str, ...] | None = None   # the layer reads the image's colours
        self._loaded_for = None

    def set_predictor(self, predictor) -> None:
        self.predictor = predictor
        self._loaded_for = None
        if self.isVisible():
            self._load()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._loaded_for is not self.predictor:
            self._load()

    def _load(self) -> None:
        """Fill the layer list; reading kernels needs the onnx package, so only when shown."""
        self._loaded_for = self.predictor
        combo = self.chooser.combo
        combo.blockSignals(True)
        combo.clear()
        layers = []
        if self.predictor is not None:
            layers = [name for name in self.predictor.layers if self.predictor.kernels(name) is not None]
        combo.addItems(layers)
        combo.blockSignals(False)
        if not layers:
            why = ("No model loaded." if self.predictor is None else
                   "This model has no digitpad metadata naming its weights, so its kernels cannot be shown."
                   if self.predictor.metadata is None else "The model's metadata names no conv kernels.")
            self.message.setText(why)
        self.chooser.setVisible(bool(layers))
        self.stack.setCurrentIndex(1 if layers else 0)
        self._refresh()

    def _refresh(self, *_):
        self.weights = None
        layer = self.chooser.combo.currentText()
        if self.predictor is not None and layer:
            self.weights = self.predictor.kernels(layer)
        n_in = 0 if self.weights is None else self.weights.shape[1]
        self.channel_names = reads_image(self.predictor, layer) if self.weights is not None else None
        self.in_combo.blockSignals(True)
        self.in_combo.clear()
        if self.channel_names:
            self.in_combo.addItem("colour (RGB)", RGB)
        names = self.channel_names or [""] * n_in
        for i, name in enumerate(names):
            self.in_combo.addItem(f"{i} · {name}" if name else str(i), i)
        self.in_combo.blockSignals(False)
        self.in_label.setVisible(n_in > 1)
        self.in_combo.setVisible(n_in > 1)
        self._draw()

    def _draw(self) -> None:
        w = self.weights
        if w is None:
            self.grid.clear_maps()
            self.chooser.info.setText("")
            return
        c_in = self.in_combo.currentData()
        c_in = 0 if c_in is None else int(c_in)
        m = float(np.abs(w).max()) or 1.0
        n = w.shape[0]
        self.note.setVisible(c_in == RGB)
        if c_in == RGB:
            self.grid.set_colour_maps(kernel_rgb(w))
            where = ", each as one RGB patch"
        else:
            self.grid.set_maps(w[:, c_in], levels=(-m, m))  # one scale for the whole layer
            name = f" ({self.channel_names[c_in]})" if self.channel_names else ""
            where = "" if w.shape[1] == 1 else f", input channel {c_in}{name} of {w.shape[1]}"
        self.chooser.info.setText(f"{n} filter{'s' * (n != 1)} · {w.shape[2]}×{w.shape[3]}{where} · |w| ≤ {m:.2g}")
