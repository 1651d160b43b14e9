"""The Draw tab's right card: Feature maps, Kernels, Arithmetic and Model, as tabs.

The pyqtgraph views and the shapes table are built after the window's first frame (``build``):
their imports are the slow part of the start, so placeholders stand in until then. The views only
render what they are handed: the model (``model_changed``) and each new answer (``show``).
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QScrollArea, QSizePolicy, QTabWidget, QVBoxLayout, QWidget

from ..text import plain_label
from ..widgets import Card
from .model_panel import ModelInfoView


def _placeholder(text: str) -> QWidget:
    w = QWidget()
    lay = QVBoxLayout(w)
    label = plain_label(text, "muted")
    label.setAlignment(Qt.AlignCenter)
    lay.addWidget(label)
    return w


class Inspectors:
    """``card`` (the right column) holding ``tabs``; the views exist once ``build`` has run.
    ``workbench``: the Draw tab, whose input view, step-by-step reader and controller they share."""

    def __init__(self, workbench):
        self.wb = workbench
        self.feature_maps = None
        self.kernels_view = None
        self.arithmetic = None         # the Arithmetic inspector (arithmetic_tab.py)
        self.arithmetic_link = None
        self.shapes_view = None        # it imports the NumPy forward pass
        self.test_map = None           # the test set's map (test_map.py)
        self.compare = None            # a second model beside the active one (compare_view.py)
        self.learn = None              # backpropagation for this drawing (learn_view.py)
        self.backward = None           # the arithmetic's backward side (arithmetic_backward.py)
        self.prompt, self.pictures = "Draw a digit", False
        self.card = Card(None)
        self.card.body.setContentsMargins(6, 6, 6, 6)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.setObjectName("inspectorTabs")   # seven tabs: narrower padding (style.py) fits them at 1280x720
        self._holders = [_placeholder("Loading feature maps…"), _placeholder("Loading kernels…"),
                         _placeholder("Loading…")]
        for holder, title in zip(self._holders, ("Feature maps", "Kernels", "Arithmetic")):
            self.tabs.addTab(holder, title)
        self.model_info = ModelInfoView()
        self.tabs.addTab(self._model_page(), "Model")
        self.card.body.addWidget(self.tabs)
        self.card.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.card.setMinimumWidth(360)

    def _model_page(self) -> QScrollArea:
        """The Model tab: what the file says about itself and what it takes, then its shapes and formulas."""
        page = QWidget()
        lay = QVBoxLayout(page)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.model_info)
        lay.addStretch(1)
        self._model_page_layout = lay
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        scroll.setWidget(page)
        return scroll

    def build(self, predictor, prediction, x: np.ndarray | None) -> None:
        if self.feature_maps is not None:
            return
        from .arithmetic_link import ArithmeticLink
        from .arithmetic_tab import ArithmeticTab
        from .feature_maps import FeatureMapsView
        from .kernels import KernelsView
        from .shapes_view import ShapesView

        stepwise = self.wb.stepwise
        self.shapes_view = ShapesView(stepwise)
        self._model_page_layout.insertWidget(1, self.shapes_view)   # under the model's description
        self.shapes_view.set_predictor(predictor)
        self.feature_maps = FeatureMapsView()
        self.kernels_view = KernelsView()
        self.arithmetic = ArithmeticTab(stepwise)
        current = self.tabs.currentIndex()
        self.tabs.blockSignals(True)
        for index, (holder, view, title) in enumerate(zip(self._holders, (self.feature_maps, self.kernels_view,
                                                                          self.arithmetic),
                                                          ("Feature maps", "Kernels", "Arithmetic"))):
            self.tabs.removeTab(index)
            self.tabs.insertTab(index, view, title)
            holder.deleteLater()
        self.tabs.setCurrentIndex(current)
        self.tabs.blockSignals(False)
        self.set_prompt(self.prompt, self.pictures)
        self.feature_maps.set_predictor(predictor)
        self.kernels_view.set_predictor(predictor)
        self.feature_maps.show_prediction(prediction)
        self.arithmetic_link = ArithmeticLink(self.wb)
        self.arithmetic.set_predictor(predictor)
        self.arithmetic.set_input(x)
        stepwise.load(predictor)   # after the first frame: onnx is read off the UI thread
        self._build_explore(predictor, prediction, x)

    def _build_explore(self, predictor, prediction, x) -> None:
        """The Map and Compare tabs, and what each feature map responds to: they share the test set read."""
        from digitpad.core.explore.jobs import SharedTestSets

        from .compare_view import CompareView
        from .test_map import TestMapView

        controller = self.wb.controller
        sets = SharedTestSets()
        self.test_map = TestMapView(controller.settings, sets)
        self.compare = CompareView(controller, sets)
        model_page = self.tabs.count() - 1        # the Model page stays last
        self.tabs.insertTab(model_page, self.test_map, "Map")
        self.tabs.insertTab(model_page + 1, self.compare, "Compare")
        self._build_learn(predictor, sets)
        self.feature_maps.responses.set_source(controller.settings, sets)
        for view in (self.test_map, self.compare, self.feature_maps.responses):
            view.testChosen.connect(self.wb.show_test_image)
        self.test_map.set_predictor(predictor)
        self.compare.set_predictor(predictor)
        self.test_map.show_input(x if prediction is not None else None)
        self.compare.show_input(prediction, x, self.wb.drawing)

    def _build_learn(self, predictor, sets) -> None:
        """The Learn tab (before Model) and the arithmetic's backward side: both read the tab's Backprop."""
        from .arithmetic_backward import BackwardSection
        from .learn_view import LearnView

        backprop = self.wb.backprop
        self.learn = LearnView(backprop, self.wb.controller.settings, sets)
        self.tabs.insertTab(self.tabs.count() - 1, self.learn, "Learn")
        self.learn.unitClicked.connect(self.arithmetic_link.explain_unit)
        self.learn.step_panel.saved.connect(lambda _path: self.wb.controller.refresh_library())   # in the list now
        self.backward = BackwardSection(backprop)
        self.arithmetic.panel.add_section(self.backward)
        self.backward.attach(self.arithmetic)
        self.learn.set_prompt(self.prompt, self.pictures)

    def set_prompt(self, prompt: str, pictures: bool) -> None:
        """What the views ask for while nothing is shown ("Draw a digit", "Pick a test image…")."""
        self.prompt, self.pictures = prompt, pictures
        for view in (self.feature_maps, self.arithmetic, self.learn):
            if view is not None:
                view.set_prompt(prompt, pictures)

    def model_changed(self, predictor) -> None:
        self.model_info.show_model(predictor)
        if self.feature_maps is None:
            return
        self.shapes_view.set_predictor(predictor)
        self.feature_maps.set_predictor(predictor)
        self.kernels_view.set_predictor(predictor)
        self.arithmetic.set_predictor(predictor)
        self.arithmetic_link.model_changed()
        self.wb.stepwise.load(predictor)
        self.test_map.set_predictor(predictor)
        self.compare.set_predictor(predictor)

    def show(self, prediction, x: np.ndarray | None) -> None:
        """A new answer: the maps follow it now, the arithmetic when it is shown (cheap here)."""
        if self.feature_maps is not None:
            self.feature_maps.show_prediction(prediction)
            self.arithmetic.set_input(None if prediction is None else x)
            self.test_map.show_input(None if prediction is None else x)
            self.compare.show_input(prediction, x, self.wb.drawing)

    def shutdown(self) -> None:
        if self.test_map is not None:
            for view in (self.test_map, self.compare, self.feature_maps.responses, self.learn):
                view.shutdown()
