"""Ties the Draw tab's views together for the arithmetic of a unit (issue 11).

- A pixel clicked in the Feature maps tab's enlarged map opens its arithmetic in the Arithmetic
  tab, and is outlined on that layer's maps (a click in the grid only enlarges the map).
- Hovering a unit (either tab) outlines its receptive field on the model input ("What the
  network sees"); when the pointer leaves, the explained unit's field stays outlined while the
  Arithmetic tab is shown.
- When the model's graph has been read (gui.draw.stepwise), the feature maps learn which rows
  and columns feed the next layer (honest maps).

Everything here runs on the UI thread and costs well under a millisecond per event
(``Predictor.receptive_field`` ~0.1 ms); the graph itself was read on a worker.
"""
from __future__ import annotations

from PySide6.QtCore import QObject

from digitpad.core.inference import ExplainUnavailable

STAGES_HINT = "Every stage its graph computes can be explored, number by number, in the Arithmetic tab."


class ArithmeticLink(QObject):
    """Connects ``workbench``'s feature maps, Arithmetic tab, input view and inspector tabs."""

    def __init__(self, workbench):
        super().__init__(workbench)
        self.wb = workbench
        self.field_box: tuple[int, int, int, int] | None = None   # the explained unit's receptive field
        self._fields: dict[tuple, tuple[int, int, int, int] | None] = {}   # geometry only: kept per model
        fm, tab = workbench.feature_maps, workbench.arithmetic
        fm.unitClicked.connect(self.explain_unit)
        fm.unitHovered.connect(lambda layer, c, r, col: self.show_field((layer, (c, r, col)) if c >= 0 else None))
        tab.unitHovered.connect(lambda stage, index: self.show_field((stage, index) if index else None))
        tab.unitShown.connect(self._unit_shown)
        workbench.inspector.currentChanged.connect(lambda _i: self.show_field(None))
        workbench.stepwise.changed.connect(self._stepwise_changed)
        self._stepwise_changed()

    @property
    def predictor(self):
        return self.wb.controller.predictor

    def _ready(self) -> bool:
        stepwise = self.wb.stepwise
        return self.predictor is not None and stepwise.ready and stepwise.predictor is self.predictor

    def model_changed(self) -> None:
        self.field_box = None
        self._fields = {}
        self.wb.input_view.set_outline(None)
        self._stepwise_changed()

    def explain_unit(self, layer: str, channel: int, row: int, col: int) -> None:
        """Open the arithmetic of unit (channel, row, col) of a layer in the Arithmetic tab."""
        self.wb.arithmetic.show_unit(layer, (channel, row, col))
        self.wb.inspector.setCurrentWidget(self.wb.arithmetic)

    def _unit_shown(self, stage: str, index) -> None:
        self.field_box = self.field_of(stage, index)
        if self.wb.inspector.currentWidget() is self.wb.arithmetic:
            self.wb.input_view.set_outline(self.field_box)
        layer = self.layer_of(stage) if len(index) == 3 else None
        self.wb.feature_maps.mark_unit(layer or "", *(index if layer else (-1, -1, -1)))

    def layer_of(self, stage: str) -> str | None:
        """The feature-map layer whose maps are ``stage`` (None: no layer shows it)."""
        if not self._ready():
            return None
        for layer in self.predictor.layers:
            try:
                if self.predictor.stage_name(layer) == stage:
                    return layer
            except ExplainUnavailable:
                continue
        return None

    def field_of(self, stage: str, index) -> tuple[int, int, int, int] | None:
        """(top, left, bottom, right) of the input pixels a unit depends on; None if unknown."""
        if not self._ready():
            return None
        key = (stage, tuple(index))
        if key not in self._fields:
            try:
                field = self.predictor.receptive_field(stage, *index, *([0] * (3 - len(index))))
                self._fields[key] = field.box if field.box[2] >= field.box[0] else None
            except Exception:   # noqa: BLE001  an outline is a nicety: never an error on hover
                return None
            if len(self._fields) > 4096:
                self._fields.clear()
        return self._fields[key]

    def show_field(self, unit) -> None:
        """Outline the hovered unit's receptive field; ``None``: the pointer left a map."""
        if unit is not None:
            self.wb.input_view.set_outline(self.field_of(*unit))
        elif self.wb.inspector.currentWidget() is self.wb.arithmetic:
            self.wb.input_view.set_outline(self.field_box)
        else:
            self.wb.input_view.set_outline(None)

    def _stepwise_changed(self) -> None:
        if self.wb.stepwise.predictor is not self.predictor:
            return
        p = self.predictor

        def used_for(layer: str):
            try:
                return p.used_map(layer)
            except ExplainUnavailable:
                return None

        fm = self.wb.feature_maps
        fm.used_for = used_for if self._ready() else None
        fm.show_used()
        fm.set_no_layers_hint(STAGES_HINT if self._ready() and not p.layers else "")   # a model from elsewhere
