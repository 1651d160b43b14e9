"""The Feature maps inspector: every activation map of the chosen layer for the current drawing,
and the chosen map large beside its kernel.

The view is handed a Predictor and the latest Prediction; it never runs the model. It only
renders: what to show comes in through ``set_predictor`` / ``show_prediction``.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCursor
from PySide6.QtWidgets import (
    QBoxLayout,
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

from ..maps import MapGrid
from ..text import set_tip, show_tip
from .inspector_parts import LayerChooser, caption, message_page
from .kernels import KernelPager, reads_image
from .map_marks import MapMarks, hover_text
from .responses import FilterResponses

WIDE = 1.15          # a pane wider than this times its height puts the detail beside the grid


class FeatureMapsView(QWidget):
    """Every activation map of the chosen layer, live; click one to see it large beside its kernel.

    The grid takes the whole pane until a map is chosen; then the pane is shared between the
    grid and the detail (the map large, and its kernel), side by side on a wide pane and one
    above the other on a tall one.

    A click on a map in the grid opens it large, here (as the caption says); a click on a pixel of
    the large map emits ``unitClicked(layer, map, row, col)`` (its arithmetic, in the Arithmetic tab).
    Hovering emits ``unitHovered`` (map -1: left); ``used_for(layer)`` (set when the model's graph is
    read) gives the rows and columns that feed the next layer: the rest is dimmed (honest maps)."""

    unitClicked = Signal(str, int, int, int)
    unitHovered = Signal(str, int, int, int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.predictor = None
        self.prediction = None
        self.selected: int | None = None
        self.explained: tuple[str, int, int, int] | None = None   # the unit the Arithmetic tab shows
        self.used_for = None
        self.no_layers_hint = ""   # where else to look when the model has no layers to show
        self.prompt, self.pictures = "Draw a digit", False   # what to ask for while nothing is shown
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        self.chooser = LayerChooser("Layer")
        self.chooser.combo.currentTextChanged.connect(self._layer_changed)
        lay.addWidget(self.chooser)
        self.honest = caption("")
        self.honest.setVisible(False)
        lay.addWidget(self.honest)
        self.stack = QStackedWidget()
        empty_page, self.message = message_page()
        self.stack.addWidget(empty_page)
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
        self.large.pixelClicked.connect(lambda _i, r, c: self.unitClicked.emit(self.layer, self.selected, r, c))
        self.grid.hovered.connect(self._hovered)
        self.large.hovered.connect(lambda i, r, c: self._hovered(self.selected if i >= 0 else -1, r, c, True))

    def _detail(self) -> QWidget:
        self.detail = QWidget()
        col = QVBoxLayout(self.detail)
        col.setContentsMargins(0, 4, 0, 0)
        col.setSpacing(4)
        head = QHBoxLayout()
        self.detail_title = caption(wrap=True)   # two lines at most: the title and what a click does
        self.detail_title.setFixedHeight(2 * self.detail_title.fontMetrics().lineSpacing() + 2)
        self.detail_title.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Fixed)
        head.addWidget(self.detail_title, 1)
        self.close_detail = QToolButton(text="×")
        set_tip(self.close_detail, "Close the large map: the grid takes the whole pane again")
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
        self.responses = FilterResponses()   # the test images this map responds to most and least
        col.addWidget(self.responses)
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
            what = "the picture" if self.pictures else "your drawing"
            return f"{self.prompt}: each map of {self.layer} shows where it responds to {what}."
        return None

    def _layer_changed(self, _name: str) -> None:
        self.clear_selection()
        self.grid.clear_maps()
        self._place_unit_marks()
        self._refresh()
        self.show_used()

    def set_prompt(self, prompt: str, pictures: bool) -> None:
        """What to ask for while nothing is shown: a drawing, or (``pictures``) a picture."""
        self.prompt, self.pictures = prompt, pictures
        self._refresh()

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
        """Outline the unit whose arithmetic is shown (channel -1: none), on its layer's maps only."""
        self.explained = (layer, channel, row, col) if channel >= 0 else None
        self._place_unit_marks()

    def _place_unit_marks(self) -> None:
        """The explained unit's outline, where it belongs: on another layer's maps the same coordinates
        name another unit (conv1's 28x28 row 20 is past conv4's 7x7), so it is shown on none."""
        here = self.explained is not None and self.explained[0] == self.layer
        _, channel, row, col = self.explained if here else (None, -1, -1, -1)
        self.marks.set_unit((channel, row, col) if here else None)
        self.large_marks.set_unit((0, row, col) if here and channel == self.selected else None)

    def _hovered(self, index: int, row: int, col: int, large: bool = False) -> None:
        acts = self.prediction.activations.get(self.layer) if self.prediction is not None else None
        if index < 0 or acts is None or index >= len(acts):
            QToolTip.hideText()
            self.unitHovered.emit(self.layer, -1, -1, -1)
            return
        show_tip(QCursor.pos(), hover_text(self.layer, index, row, col, float(acts[index, row, col]), self.marks)
                 + ("\nClick to see how it was computed." if large else "\nClick to see this map large."))
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
        self.responses.show_channel(None, None, None)
        self.detail_title.setText("")
        self.grid.highlight(None)
        self.large_marks.set_unit(None)
        self._show_detail(False)
        if self.prediction is not None:
            self._refresh()

    def select_map(self, index: int) -> None:
        first = self.selected is None
        self.selected = index
        self._show_detail(True)
        if first:
            self._share_pane()
        self.detail_title.setText(f"{self.layer}, map {index} (same colour scale as the grid). Click a pixel "
                                  "to see how it was computed.")
        set_tip(self.detail_title, self.detail_title.text())
        self._refresh()
        k = self.predictor.kernels(self.layer) if self.predictor else None
        if k is None or index >= k.shape[0]:
            self.kernel_pager.set_kernel(None, "Kernel: not available (no weights named in the model's metadata).")
        else:
            # [in, kh, kw]: one slice per input channel (named, when they are the image's colours)
            self.kernel_pager.set_kernel(k[index], channel_names=reads_image(self.predictor, self.layer))
        self.responses.show_channel(self.predictor, self.layer, index)
        self._place_unit_marks()
