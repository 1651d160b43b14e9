"""Feature maps and kernels: what each layer computes for the current drawing, and with what.

Both views are handed a Predictor and the latest Prediction; they never run the model.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCursor
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSplitter, QToolTip, QVBoxLayout, QWidget

from .map_marks import MapMarks, hover_text
from .maps import WEIGHT_CMAP, MapGrid


def _caption(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("muted")
    label.setWordWrap(True)
    return label


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
        self.info = _caption("")
        self.info.setWordWrap(False)
        # Fixed size: it changes every frame while drawing, and a fixed-size label
        # does not make Qt re-lay out the window.
        self.info.setFixedSize(420, self.info.sizeHint().height() + 4)
        col.addWidget(self.info)


class FeatureMapsView(QWidget):
    """Every activation map of the chosen layer, live; click one to see it large beside its kernel.
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
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        self.chooser = _Chooser("Layer")
        self.chooser.combo.currentTextChanged.connect(self._layer_changed)
        lay.addWidget(self.chooser)
        self.message = _caption("")
        self.message.setAlignment(Qt.AlignCenter)
        lay.addWidget(self.message)
        self.honest = _caption("")
        self.honest.setVisible(False)
        lay.addWidget(self.honest)
        split = QSplitter(Qt.Vertical)
        self.grid = MapGrid()
        self.grid.clicked.connect(self.select_map)
        split.addWidget(self.grid)
        detail = QWidget()
        dl = QHBoxLayout(detail)
        dl.setContentsMargins(0, 0, 0, 0)
        left = QVBoxLayout()
        self.detail_title = _caption("Click a map to see it large, next to the kernel that made it.")
        left.addWidget(self.detail_title)
        self.large = MapGrid()
        left.addWidget(self.large, 1)
        dl.addLayout(left, 3)
        right = QVBoxLayout()
        self.kernel_title = _caption("")
        right.addWidget(self.kernel_title)
        self.kernel = MapGrid(cmap=WEIGHT_CMAP, symmetric=True)
        right.addWidget(self.kernel, 1)
        dl.addLayout(right, 2)
        split.addWidget(detail)
        split.setSizes([460, 240])
        lay.addWidget(split, 1)
        self.split = split
        self.marks, self.large_marks = MapMarks(self.grid), MapMarks(self.large)
        self.grid.pixelClicked.connect(lambda i, r, c: self.unitClicked.emit(self.layer, i, r, c))
        self.large.pixelClicked.connect(lambda _i, r, c: self.unitClicked.emit(self.layer, self.selected, r, c))
        self.grid.hovered.connect(self._hovered)
        self.large.hovered.connect(lambda i, r, c: self._hovered(self.selected if i >= 0 else -1, r, c))

    @property
    def layer(self) -> str:
        return self.chooser.combo.currentText()

    def set_predictor(self, predictor) -> None:
        self.predictor = predictor
        self.selected = None
        layers = predictor.layers if predictor else []
        combo = self.chooser.combo
        combo.blockSignals(True)
        previous = combo.currentText()
        combo.clear()
        combo.addItems(layers)
        if previous in layers:
            combo.setCurrentText(previous)
        combo.blockSignals(False)
        combo.setEnabled(bool(layers))
        if predictor is None:
            self.message.setText("No model loaded.")
        elif not layers:
            self.message.setText("This model exposes no layer activations (no act:* outputs"
                                 + (" and no digitpad metadata" if predictor.metadata is None else "")
                                 + "), so there are no feature maps to show. Predictions still work.")
        else:
            self.message.setText("")
        self.message.setVisible(not layers)
        self.split.setVisible(bool(layers))
        self.grid.clear_maps()
        self.large.clear_maps()
        self.kernel.clear_maps()
        self.detail_title.setText("Click a map to see it large, next to the kernel that made it.")
        self.kernel_title.setText("")
        self._show_detail(False)
        self.used_for = None
        self.show_used()

    def _show_detail(self, on: bool) -> None:
        self.large.setVisible(on)
        self.kernel.setVisible(on)

    def show_prediction(self, prediction) -> None:
        self.prediction = prediction
        if not self.isVisible():
            return  # refreshed in showEvent: no work for a hidden tab
        self._refresh()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._refresh()

    def _layer_changed(self, _name: str) -> None:
        self.selected = None
        self._show_detail(False)
        self.grid.clear_maps()
        self.large.clear_maps()
        self.kernel.clear_maps()
        self.show_used()
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
        acts = None
        if self.prediction is not None and self.layer:
            acts = self.prediction.activations.get(self.layer)
        if acts is None:
            self.chooser.info.setText("Draw something to see this layer's maps." if self.layer else "")
            self.grid.clear_maps()
            self.large.clear_maps()
            return
        c, h, w = acts.shape
        lo, hi = float(acts.min()), float(acts.max())
        self.grid.set_maps(acts)
        self.chooser.info.setText(f"{c} maps · {h}×{w} · values {lo:.2g} … {hi:.2g}")
        if self.selected is not None and self.selected < c:
            self.large.set_maps(acts[self.selected], levels=self.grid.levels)
            self.grid.highlight(self.selected)
        self.marks.sync()
        self.large_marks.sync()

    def select_map(self, index: int) -> None:
        self.selected = index
        self._show_detail(True)
        self.detail_title.setText(f"{self.layer}, map {index} (same colour scale as the grid)")
        self._refresh()
        k = self.predictor.kernels(self.layer) if self.predictor else None
        if k is None or index >= k.shape[0]:
            self.kernel.clear_maps()
            self.kernel_title.setText("Kernel: not available (no weights named in the model's metadata).")
            return
        w = k[index]  # [in, kh, kw]: one slice per input channel
        self.kernel.set_maps(w)
        self.kernel_title.setText(f"Its kernel: {w.shape[0]} input channel{'s' * (w.shape[0] > 1)}, "
                                  f"{w.shape[1]}×{w.shape[2]}")


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
        self.message = _caption("")
        self.message.setAlignment(Qt.AlignCenter)
        lay.addWidget(self.message)
        self.grid = MapGrid(cmap=WEIGHT_CMAP, symmetric=True)
        lay.addWidget(self.grid, 1)
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
        self.message.setVisible(not layers)
        self.grid.setVisible(bool(layers))
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
        self.chooser.info.setText(f"{w.shape[0]} filters · {w.shape[2]}×{w.shape[3]}{where} · |w| ≤ {m:.2g}")
