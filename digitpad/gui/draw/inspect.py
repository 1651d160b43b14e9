"""Feature maps and kernels: what each layer computes for the current drawing, and with what.

Both views are handed a Predictor and the latest Prediction; they never run the model.
They only render: what to show comes in through ``set_predictor`` / ``show_prediction``.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCursor
from PySide6.QtWidgets import (
    QBoxLayout,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QToolButton,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from ..widgets import set_enabled
from .map_marks import MapMarks, hover_text
from .maps import WEIGHT_CMAP, MapGrid

KERNEL_PAGE = 16     # input channels per page of a kernel: 64 slices of 3x3 in half a pane were ~20 px each
WIDE = 1.15          # a pane wider than this times its height puts the detail beside the grid


def _caption(text: str = "", wrap: bool = True) -> QLabel:
    label = QLabel(text)
    label.setObjectName("muted")
    label.setWordWrap(wrap)
    return label


def _message_page() -> tuple[QWidget, QLabel]:
    """A page that says why there is nothing to draw, at the top of the pane (not floating in it)."""
    page = QWidget()
    lay = QVBoxLayout(page)
    lay.setContentsMargins(8, 24, 8, 8)
    label = _caption()
    label.setAlignment(Qt.AlignHCenter | Qt.AlignTop)
    lay.addWidget(label)
    lay.addStretch(1)
    return page, label


class _Chooser(QWidget):
    """'Layer [combo]' (plus extra controls) and, under it, a muted line about what is shown."""

    def __init__(self, label: str, parent=None):
        super().__init__(parent)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(4)
        row = QHBoxLayout()
        row.addWidget(QLabel(label))
        self.combo = QComboBox()
        self.combo.setMinimumWidth(120)
        row.addWidget(self.combo)
        self.extra = QHBoxLayout()
        row.addLayout(self.extra)
        row.addStretch(1)
        col.addLayout(row)
        self.info = _caption(wrap=False)
        # Fixed height, ignored width: it changes every frame while drawing, and a label
        # whose size cannot change does not make Qt re-lay out the window.
        self.info.setFixedHeight(self.info.sizeHint().height() + 4)
        self.info.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Fixed)
        col.addWidget(self.info)


class KernelPager(QWidget):
    """One map's kernel, ``KERNEL_PAGE`` input channels at a time, on one colour scale for all."""

    def __init__(self, parent=None):
        super().__init__(parent)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(4)
        self.title = _caption(wrap=False)
        self.title.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        col.addWidget(self.title)
        head = QHBoxLayout()
        head.addStretch(1)
        self.prev_button = QToolButton(text="‹")
        self.prev_button.setToolTip("The previous input channels")
        self.prev_button.clicked.connect(lambda: self.show_page(self.page - 1))
        self.page_label = _caption(wrap=False)
        self.next_button = QToolButton(text="›")
        self.next_button.setToolTip("The next input channels")
        self.next_button.clicked.connect(lambda: self.show_page(self.page + 1))
        for w in (self.prev_button, self.page_label, self.next_button):
            head.addWidget(w)
        col.addLayout(head)
        self.grid = MapGrid(cmap=WEIGHT_CMAP, symmetric=True)
        col.addWidget(self.grid, 1)
        self.weights: np.ndarray | None = None
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

    def set_kernel(self, w: np.ndarray | None, why: str = "") -> None:
        """``w`` [in, kh, kw] (None: say ``why``)."""
        self.weights = None if w is None else np.asarray(w, np.float32)
        if self.weights is None:
            self.grid.clear_maps()
            self.title.setText(why)
            self._show_pager(False)
            return
        n = self.weights.shape[0]
        text = (f"Its kernel: {self.weights.shape[1]}×{self.weights.shape[2]}, "
                f"{n} input channel{'s' * (n != 1)}")
        self.title.setText(text)
        self.title.setToolTip(text)
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


class FeatureMapsView(QWidget):
    """Every activation map of the chosen layer, live; click one to see it large beside its kernel.

    The grid takes the whole pane until a map is chosen; then the pane is shared between the
    grid and the detail (the map large, and its kernel), side by side on a wide pane and one
    above the other on a tall one.

    A click on a pixel also emits ``unitClicked(layer, map, row, col)`` (its arithmetic), hovering
    ``unitHovered`` (map -1: left); ``used_for(layer)`` (set when the model's graph is read) gives
    the rows and columns that feed the next layer: the rest is dimmed (honest maps)."""

    unitClicked = Signal(str, int, int, int)
    unitHovered = Signal(str, int, int, int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.predictor = None
        self.prediction = None
        self.selected: int | None = None
        self.used_for = None
        self.no_layers_hint = ""   # where else to look when the model has no layers to show
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        self.chooser = _Chooser("Layer")
        self.chooser.combo.currentTextChanged.connect(self._layer_changed)
        lay.addWidget(self.chooser)
        self.honest = _caption("")
        self.honest.setVisible(False)
        lay.addWidget(self.honest)
        self.stack = QStackedWidget()
        message_page, self.message = _message_page()
        self.stack.addWidget(message_page)
        self.split = QSplitter(Qt.Vertical)
        self.split.setChildrenCollapsible(False)
        self.grid = MapGrid()
        self.grid.clicked.connect(self.select_map)
        self.split.addWidget(self.grid)
        self.split.addWidget(self._detail())
        self.stack.addWidget(self.split)
        lay.addWidget(self.stack, 1)
        self._show_detail(False)
        self.marks, self.large_marks = MapMarks(self.grid), MapMarks(self.large)
        self.grid.pixelClicked.connect(lambda i, r, c: self.unitClicked.emit(self.layer, i, r, c))
        self.large.pixelClicked.connect(lambda _i, r, c: self.unitClicked.emit(self.layer, self.selected, r, c))
        self.grid.hovered.connect(self._hovered)
        self.large.hovered.connect(lambda i, r, c: self._hovered(self.selected if i >= 0 else -1, r, c))

    def _detail(self) -> QWidget:
        self.detail = QWidget()
        col = QVBoxLayout(self.detail)
        col.setContentsMargins(0, 4, 0, 0)
        col.setSpacing(4)
        head = QHBoxLayout()
        self.detail_title = _caption(wrap=False)
        self.detail_title.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        head.addWidget(self.detail_title, 1)
        self.close_detail = QToolButton(text="×")
        self.close_detail.setToolTip("Close the large map: the grid takes the whole pane again")
        self.close_detail.clicked.connect(self.clear_selection)
        head.addWidget(self.close_detail)
        col.addLayout(head)
        self.detail_body = QBoxLayout(QBoxLayout.LeftToRight)
        self.detail_body.setSpacing(10)
        self.large = MapGrid()
        self.detail_body.addWidget(self.large, 1)
        self.kernel_pager = KernelPager()
        self.detail_body.addWidget(self.kernel_pager, 1)
        col.addLayout(self.detail_body, 1)
        return self.detail

    @property
    def kernel(self) -> MapGrid:
        return self.kernel_pager.grid

    @property
    def kernel_title(self) -> QLabel:
        return self.kernel_pager.title

    @property
    def layer(self) -> str:
        return self.chooser.combo.currentText()

    # -- what is shown -----------------------------------------------------------------------
    def set_predictor(self, predictor) -> None:
        self.predictor = predictor
        layers = predictor.layers if predictor else []
        combo = self.chooser.combo
        combo.blockSignals(True)
        previous = combo.currentText()
        combo.clear()
        combo.addItems(layers)
        if previous in layers:
            combo.setCurrentText(previous)
        combo.blockSignals(False)
        # No layers: nothing to choose, so no chooser (an empty disabled box says nothing).
        self.chooser.setVisible(bool(layers))
        self.used_for = None
        self.clear_selection()
        self._refresh()
        self.show_used()

    def show_prediction(self, prediction) -> None:
        self.prediction = prediction
        if not self.isVisible():
            return  # refreshed in showEvent: no work for a hidden tab
        self._refresh()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._arrange()
        self._refresh()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._arrange()

    def _arrange(self) -> None:
        """Detail beside the grid on a wide pane, under it on a tall one (only when that changes)."""
        wide = self.width() > WIDE * self.height()
        orientation = Qt.Horizontal if wide else Qt.Vertical
        if self.split.orientation() != orientation:
            self.split.setOrientation(orientation)
            self.detail_body.setDirection(QBoxLayout.TopToBottom if wide else QBoxLayout.LeftToRight)
            if self.selected is not None:
                self._share_pane()

    def _why_empty(self) -> str | None:
        """Why there are no maps to draw now, in words; None when there are."""
        if self.predictor is None:
            return "No model loaded."
        if not self.predictor.layers:
            return ("This model exposes no layer activations (no act:* outputs"
                    + (" and no digitpad metadata" if self.predictor.metadata is None else "")
                    + "), so there are no feature maps to show. Predictions still work."
                    + (f" {self.no_layers_hint}" if self.no_layers_hint else ""))
        if self.prediction is None or self.prediction.activations.get(self.layer) is None:
            return f"Draw a digit: each map of {self.layer} shows where it responds to your drawing."
        return None

    def _layer_changed(self, _name: str) -> None:
        self.clear_selection()
        self.grid.clear_maps()
        self._refresh()
        self.show_used()

    def set_no_layers_hint(self, text: str) -> None:
        self.no_layers_hint = text
        self._refresh()

    def show_used(self) -> None:
        """Dim what of this layer's maps feeds nothing, and say why (honest maps)."""
        used = self.used_for(self.layer) if self.used_for is not None and self.layer else None
        self.marks.set_used(used)
        self.large_marks.set_used(used)
        reason = self.marks.reason
        self.honest.setText(f"Dimmed: {reason}" if reason else "")
        self.honest.setVisible(bool(reason))

    def mark_unit(self, layer: str, channel: int, row: int, col: int) -> None:
        """Outline the unit whose arithmetic is shown (channel -1: none)."""
        here = layer == self.layer and channel >= 0
        self.marks.set_unit((channel, row, col) if here else None)
        self.large_marks.set_unit((0, row, col) if here and channel == self.selected else None)

    def _hovered(self, index: int, row: int, col: int) -> None:
        acts = self.prediction.activations.get(self.layer) if self.prediction is not None else None
        if index < 0 or acts is None or index >= len(acts):
            QToolTip.hideText()
            self.unitHovered.emit(self.layer, -1, -1, -1)
            return
        QToolTip.showText(QCursor.pos(), hover_text(self.layer, index, row, col, float(acts[index, row, col]),
                                                    self.marks) + "\nClick to see how it was computed.")
        self.unitHovered.emit(self.layer, index, row, col)

    def _refresh(self) -> None:
        why = self._why_empty()
        if why is not None:
            if self.message.text() != why:
                self.message.setText(why)
            self.stack.setCurrentIndex(0)
            self.chooser.info.setText("")
            self.grid.clear_maps()
            self.large.clear_maps()
            return
        self.stack.setCurrentIndex(1)
        acts = self.prediction.activations[self.layer]
        c, h, w = acts.shape
        lo, hi = float(acts.min()), float(acts.max())
        self.grid.set_maps(acts)
        hint = "" if self.selected is not None else " · click one to see it large"
        self.chooser.info.setText(f"{c} map{'s' * (c != 1)} · {h}×{w} · values {lo:.2g} … {hi:.2g}{hint}")
        if self.selected is not None and self.selected < c:
            self.large.set_maps(acts[self.selected], levels=self.grid.levels)
            self.grid.highlight(self.selected)
        self.marks.sync()
        self.large_marks.sync()

    # -- the detail --------------------------------------------------------------------------
    def _show_detail(self, on: bool) -> None:
        self.detail.setVisible(on)

    def _share_pane(self) -> None:
        total = sum(self.split.sizes()) or 2
        self.split.setSizes([total // 2, total - total // 2])

    def clear_selection(self) -> None:
        """No map chosen: the grid has the pane, and nothing names a map that is not shown."""
        self.selected = None
        self.large.clear_maps()
        self.kernel_pager.set_kernel(None)
        self.detail_title.setText("")
        self.grid.highlight(None)
        self._show_detail(False)
        if self.prediction is not None:
            self._refresh()

    def select_map(self, index: int) -> None:
        first = self.selected is None
        self.selected = index
        self._show_detail(True)
        if first:
            self._share_pane()
        self.detail_title.setText(f"{self.layer}, map {index} (same colour scale as the grid)")
        self._refresh()
        k = self.predictor.kernels(self.layer) if self.predictor else None
        if k is None or index >= k.shape[0]:
            self.kernel_pager.set_kernel(None, "Kernel: not available (no weights named in the model's metadata).")
        else:
            self.kernel_pager.set_kernel(k[index])   # [in, kh, kw]: one slice per input channel


class KernelsView(QWidget):
    """Learned filters read from the file: first layer as is, deeper layers per input channel."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.predictor = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        self.chooser = _Chooser("Layer")
        self.chooser.combo.currentTextChanged.connect(self._refresh)
        self.in_label = QLabel("  Input channel")
        self.in_combo = QComboBox()
        self.in_combo.currentIndexChanged.connect(lambda _i: self._draw())
        self.chooser.extra.addWidget(self.in_label)
        self.chooser.extra.addWidget(self.in_combo)
        lay.addWidget(self.chooser)
        self.stack = QStackedWidget()
        message_page, self.message = _message_page()
        self.stack.addWidget(message_page)
        self.grid = MapGrid(cmap=WEIGHT_CMAP, symmetric=True)
        self.stack.addWidget(self.grid)
        lay.addWidget(self.stack, 1)
        self.weights: np.ndarray | None = None
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
        self.in_combo.blockSignals(True)
        self.in_combo.clear()
        self.in_combo.addItems([str(i) for i in range(n_in)])
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
        c_in = max(0, self.in_combo.currentIndex())
        m = float(np.abs(w).max()) or 1.0
        self.grid.set_maps(w[:, c_in], levels=(-m, m))  # one scale for the whole layer
        where = "" if w.shape[1] == 1 else f", input channel {c_in} of {w.shape[1]}"
        n = w.shape[0]
        self.chooser.info.setText(f"{n} filter{'s' * (n != 1)} · {w.shape[2]}×{w.shape[3]}{where} · |w| ≤ {m:.2g}")
