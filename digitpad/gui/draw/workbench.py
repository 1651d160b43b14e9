"""The drawing workbench tab: canvas and tools, the live answer, and the inspectors.

Data flow on every (throttled) canvas change, all on the UI thread and ~1-2 ms:
canvas.to_array() -> Predictor.input.from_drawing() (the model's own preprocessing: MNIST-style
28x28, or the UCI 8x8 counts) -> Predictor.predict() -> views.
Saliency goes to a worker thread; the pyqtgraph inspectors are built right after the
window first appears, so pyqtgraph's import does not delay the first paint.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from digitpad.core.handwriting.collection import Collection
from digitpad.core.preprocess import input_hints, to_model_input
from digitpad.core.saliency import timed_saliency

from .. import style
from ..canvas import DrawingCanvas
from ..text import plain_label, rich, rich_label, set_tip
from ..threads import background
from ..widgets import card, set_enabled
from .correction import CorrectionBar
from .input_view import ModelInputView
from .message_line import MessageLine
from .model_panel import ModelInfoView
from .prediction import PredictionPanel
from .stepwise import StepByStep

CANVAS_SIZE = 400


class Workbench(QWidget):
    """The Draw tab. ``collection``: where "Wrong? It was: d" saves drawings (My digits)."""

    predictionShown = Signal(object)   # the Prediction now on screen (None: empty canvas)
    sampleSaved = Signal(object)       # a drawing was saved to the collection (a Sample)

    def __init__(self, controller, collection: Collection, parent=None):
        super().__init__(parent)
        self.setObjectName("workbench")
        self.controller = controller
        self.collection = collection
        self.prediction = None
        self.model_input: np.ndarray | None = None
        self.feature_maps = None
        self.kernels_view = None
        self.arithmetic = None             # the Arithmetic inspector (arithmetic_tab.py), built with the others
        self.stepwise = StepByStep(self)   # the model's NumPy forward pass, read on a worker thread
        self.saliency = background("saliency", self)
        self.saliency_seconds = 0.0
        self._build()
        controller.modelChanged.connect(self._model_changed)
        controller.loadFailed.connect(self.show_error)

    # -- layout ----------------------------------------------------------------------------
    def _build(self) -> None:
        """Three columns sized for a 1280x720 window (tests/gui/test_layout.py): the canvas at its
        fixed size with the tools and the message line under it; the answer and the input the
        network sees, which shrink to their minimum there and grow on a larger screen; the
        inspectors, which take the rest of the width."""
        outer = QVBoxLayout(self)
        outer.setContentsMargins(14, 12, 14, 10)
        outer.setSpacing(10)
        self.banner = plain_label("", "banner", wrap=True)   # messages quote file names and files: plain text
        self.banner.setVisible(False)
        self.banner.mousePressEvent = lambda _e: self.banner.setVisible(False)  # click to dismiss
        outer.addWidget(self.banner)

        row = QHBoxLayout()
        row.setSpacing(12)
        outer.addLayout(row, 1)
        row.addWidget(self._draw_card(), 0)
        row.addWidget(self._answer_card(), 0)

        # Inspectors: pyqtgraph views are created after the first paint (see build_inspectors)
        inspect_card, il = card(None)
        il.setContentsMargins(6, 6, 6, 6)
        self.inspector = QTabWidget()
        self.inspector.setDocumentMode(True)
        self._maps_holder = self._placeholder("Loading feature maps…")
        self._kernels_holder = self._placeholder("Loading kernels…")
        self.inspector.addTab(self._maps_holder, "Feature maps")
        self._arithmetic_holder = self._placeholder("Loading…")
        self.inspector.addTab(self._kernels_holder, "Kernels")
        self.inspector.addTab(self._arithmetic_holder, "Arithmetic")
        self.model_info = ModelInfoView()
        self.shapes_view = None   # built with the inspectors: it imports the NumPy forward pass
        self.inspector.addTab(self._model_page(), "Model")
        il.addWidget(self.inspector)
        inspect_card.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        inspect_card.setMinimumWidth(360)
        row.addWidget(inspect_card, 1)

        # Shortcuts work anywhere in this tab, not only when the canvas has focus.
        for keys, slot in ((QKeySequence.Undo, self.canvas.undo), ("Ctrl+Shift+Z", self.canvas.redo),
                           (QKeySequence.Redo, self.canvas.redo), ("Esc", self.canvas.clear),
                           ("Delete", self.canvas.clear)):
            sc = QShortcut(QKeySequence(keys), self)
            sc.setContext(Qt.WidgetWithChildrenShortcut)
            sc.activated.connect(slot)

    def _model_page(self) -> QScrollArea:
        """The Model tab: what the file says about itself, then its shapes and formulas."""
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

    def _draw_card(self) -> QWidget:
        draw_card, dl = card("Draw")
        self.canvas = DrawingCanvas(size=CANVAS_SIZE)
        self.canvas.changed.connect(self.update_prediction)
        self.canvas.historyChanged.connect(self._update_tool_state)
        dl.addWidget(self.canvas, 0, Qt.AlignHCenter)
        dl.addLayout(self._tools())
        self.message = MessageLine()
        self.corrections = CorrectionBar(self.canvas, self.collection, shortcut_scope=self, message=self.message)
        self.corrections.saved.connect(self.sampleSaved)
        dl.addWidget(self.corrections)
        dl.addWidget(self.message)
        dl.addStretch(1)
        draw_card.setFixedWidth(CANVAS_SIZE + 30)
        return draw_card

    def _answer_card(self) -> QWidget:
        """The answer and the input the network sees. Both have a minimum that fits a 720 px
        window; a taller one gives them room up to a maximum each, and the rest stays below."""
        answer_card, outer = card("Prediction")
        column = QWidget()
        al = QVBoxLayout(column)
        al.setContentsMargins(0, 0, 0, 0)
        al.setSpacing(outer.spacing())
        self.panel = PredictionPanel()
        al.addWidget(self.panel)
        self.sees_label = sees = plain_label("WHAT THE NETWORK SEES", "cardTitle")
        al.addWidget(sees)
        self.input_view = ModelInputView()
        al.addWidget(self.input_view)
        self.saliency_box = QCheckBox("Show saliency (where it looks)")
        self.saliency_box.toggled.connect(self._saliency_toggled)
        al.addWidget(self.saliency_box)
        # Colour swatches as on the black image.
        self.saliency_legend = rich_label(rich(
            "<span style='background-color:{bg}; color:{supports}'>■</span> supports the answer   "
            "<span style='background-color:{bg}; color:{against}'>■</span> argues against",
            bg=style.INPUT_BG, supports=style.SUPPORTS, against=style.ARGUES_AGAINST), "muted")
        al.addWidget(self.saliency_legend)
        for label in (sees, self.saliency_box, self.saliency_legend):
            label.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Fixed)
        # Kept in place when hidden: turning saliency on must not move anything.
        policy = self.saliency_legend.sizePolicy()
        policy.setRetainSizeWhenHidden(True)
        self.saliency_legend.setSizePolicy(policy)
        self.saliency_legend.setVisible(False)
        # The column takes the height it can use (up to its items' maxima); the rest stays below it.
        column.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Expanding)
        column.setMaximumHeight(al.maximumSize().height())
        outer.addWidget(column, 100)
        outer.addStretch(1)
        answer_card.setFixedWidth(300)
        return answer_card

    def _placeholder(self, text: str) -> QWidget:
        w = QWidget()
        lay = QVBoxLayout(w)
        label = plain_label(text, "muted")
        label.setAlignment(Qt.AlignCenter)
        lay.addWidget(label)
        return w

    def _tools(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setSpacing(6)
        row.setContentsMargins(0, 0, 0, 0)
        self.pen_button = QToolButton(text="Pen", checkable=True, checked=True)
        self.eraser_button = QToolButton(text="Eraser", checkable=True)
        group = QButtonGroup(self)
        group.addButton(self.pen_button)
        group.addButton(self.eraser_button)
        self.eraser_button.toggled.connect(lambda on: setattr(self.canvas, "eraser", on))
        row.addWidget(self.pen_button)
        row.addWidget(self.eraser_button)
        self.width_slider = QSlider(Qt.Horizontal)
        self.width_slider.setRange(8, 60)
        self.width_slider.setValue(int(self.canvas.pen_width))
        self.width_slider.setFixedWidth(64)
        set_tip(self.width_slider, "Pen width")
        self.width_slider.valueChanged.connect(self._set_pen_width)
        row.addWidget(self.width_slider)
        self.width_label = plain_label(f"{int(self.canvas.pen_width)} px", "muted")
        self.width_label.setFixedWidth(36)
        row.addWidget(self.width_label)
        row.addStretch(1)
        self.undo_button = QToolButton(text="Undo")
        set_tip(self.undo_button, "Undo stroke (Ctrl+Z)")
        self.undo_button.clicked.connect(self.canvas.undo)
        self.redo_button = QToolButton(text="Redo")
        set_tip(self.redo_button, "Redo stroke (Ctrl+Shift+Z)")
        self.redo_button.clicked.connect(self.canvas.redo)
        self.clear_button = QToolButton(text="Clear")
        set_tip(self.clear_button, "Clear the canvas (Esc, Delete)")
        self.clear_button.clicked.connect(self.canvas.clear)
        for b in (self.undo_button, self.redo_button, self.clear_button):
            row.addWidget(b)
        for b in (self.pen_button, self.eraser_button, self.undo_button, self.redo_button, self.clear_button):
            # QSS padding is not part of QToolButton's size hint: make room for the text.
            b.setMinimumWidth(b.fontMetrics().horizontalAdvance(b.text()) + 18)
        self._update_tool_state()
        return row

    def _set_pen_width(self, value: int) -> None:
        self.canvas.pen_width = float(value)
        self.width_label.setText(f"{value} px")

    def _update_tool_state(self) -> None:
        set_enabled(self.undo_button, self.canvas.can_undo(), "Nothing to undo: the canvas is empty.")
        set_enabled(self.redo_button, self.canvas.can_redo(), "Nothing to redo: a stroke you undo can be redone.")
        set_enabled(self.clear_button, not self.canvas.is_empty(), "The canvas is empty.")

    def build_inspectors(self) -> None:
        """Create the pyqtgraph views and the shapes table (their imports are the slow part of the
        start); called once the window has painted its first frame."""
        if self.feature_maps is not None:
            return
        from .arithmetic_link import ArithmeticLink
        from .arithmetic_tab import ArithmeticTab
        from .feature_maps import FeatureMapsView
        from .kernels import KernelsView
        from .shapes_view import ShapesView

        self.shapes_view = ShapesView(self.stepwise)
        self._model_page_layout.insertWidget(1, self.shapes_view)   # under the model's description
        self.shapes_view.set_predictor(self.controller.predictor)
        self.feature_maps = FeatureMapsView()
        self.kernels_view = KernelsView()
        self.arithmetic = ArithmeticTab(self.stepwise)
        current = self.inspector.currentIndex()
        self.inspector.blockSignals(True)
        for index, (holder, view, title) in enumerate(((self._maps_holder, self.feature_maps, "Feature maps"),
                                                       (self._kernels_holder, self.kernels_view, "Kernels"),
                                                       (self._arithmetic_holder, self.arithmetic, "Arithmetic"))):
            self.inspector.removeTab(index)
            self.inspector.insertTab(index, view, title)
            holder.deleteLater()
        self.inspector.setCurrentIndex(current)
        self.inspector.blockSignals(False)
        self.feature_maps.set_predictor(self.controller.predictor)
        self.kernels_view.set_predictor(self.controller.predictor)
        self.feature_maps.show_prediction(self.prediction)
        self.arithmetic_link = ArithmeticLink(self)
        self.arithmetic.set_predictor(self.controller.predictor)
        self.arithmetic.set_input(self.model_input)
        self.stepwise.load(self.controller.predictor)   # after the first frame: onnx is read off the UI thread

    # -- models ----------------------------------------------------------------------------
    def open_model_dialog(self) -> None:
        start = str(self.controller.library.models)
        path, _ = QFileDialog.getOpenFileName(self, "Open an ONNX model", start, "ONNX models (*.onnx);;All files (*)")
        if path:
            self.controller.load(Path(path))

    def show_notice(self, message: str) -> None:
        """Something the user should know but that stops nothing (what was skipped at start)."""
        style.set_kind(self.banner, "warn")
        self.banner.setText(message + "   (click to dismiss)")
        self.banner.setVisible(True)

    def show_error(self, message: str) -> None:
        style.set_kind(self.banner, "error")
        self.banner.setText(message + "   (click to dismiss)")
        self.banner.setVisible(True)

    def _model_changed(self, predictor) -> None:
        self.banner.setVisible(False)
        self.message.drawing_changed()   # "Saved as 7" was about the drawing under the old model
        self.panel.set_classes(predictor.classes)
        rule = predictor.not_digit_rule
        self.panel.set_threshold(rule.threshold if rule is not None else None)
        self.model_info.show_model(predictor)
        size = predictor.input_size
        self.input_view.set_input_size(size)
        self.sees_label.setText("WHAT THE NETWORK SEES" + ("" if size == 28 else f" · {size} × {size}"))
        if self.feature_maps is not None:
            self.shapes_view.set_predictor(predictor)
            self.feature_maps.set_predictor(predictor)
            self.kernels_view.set_predictor(predictor)
            self.arithmetic.set_predictor(predictor)
            self.arithmetic_link.model_changed()
            self.stepwise.load(predictor)
        self.update_prediction()  # the same drawing, seen by the new model

    # -- the live loop ---------------------------------------------------------------------
    def update_prediction(self) -> None:
        predictor = self.controller.predictor
        img = self.canvas.to_array()
        # The hints and the reference image beside a smaller input are about the MNIST-style 28x28 image.
        x28 = to_model_input(img)
        if predictor is None or predictor.preprocessing == "mnist":
            x = x28
        else:
            x = predictor.input.from_drawing(img) if predictor.input.drawn else None
        self.model_input = x
        self.input_view.show_input(None if x is None else self._shown(x), None if x28 is None else x28[0, 0])
        self.message.drawing_changed()
        if not self.canvas.is_drawing():
            # Hints wait for the pen to lift: "very small" is true of every digit's first
            # millimetres, and nagging mid-stroke helps nobody.
            self.message.set_hints(input_hints(img, x28) if x28 is not None else [])
        if x is None or predictor is None:
            self.prediction = None
            self.panel.empty_text = ("Draw a digit on the canvas" if predictor is not None
                                     else "No model loaded: open an ONNX file")
            self.panel.show_probs(None)
        else:
            self.prediction = predictor.predict(x)
            self.panel.show_prediction(self.prediction)
        if self.feature_maps is not None:
            self.feature_maps.show_prediction(self.prediction)
            self.arithmetic.set_input(None if self.prediction is None else x)   # cheap: recomputed later, if shown
        if self.saliency_box.isChecked():
            self._request_saliency()
        self.predictionShown.emit(self.prediction)

    @property
    def hints(self) -> list[str]:
        return self.message.hints

    def _saliency_toggled(self, on: bool) -> None:
        self.input_view.set_saliency_visible(on)
        self.saliency_legend.setVisible(on)
        if on:
            self._request_saliency()

    def _request_saliency(self) -> None:
        """Where the network looks, for the input now shown; off the UI thread (a few ms a
        drawing at 60 Hz would eat most of each frame), the newest drawing wins."""
        x, predictor = self.model_input, self.controller.predictor
        if x is None or predictor is None:
            self.saliency.cancel()
            self.input_view.show_saliency_map(None)
            return
        self.saliency.submit(timed_saliency, predictor, x.copy(), on_done=self._saliency_ready,
                             on_error=lambda _e: self.input_view.show_saliency_map(None))

    def _saliency_ready(self, result) -> None:
        sal, _target, self.saliency_seconds = result
        self.input_view.show_saliency_map(sal)

    def _shown(self, x: np.ndarray) -> np.ndarray:
        """A canonical image as the input view shows it."""
        predictor = self.controller.predictor
        return predictor.input.to_display(x) if predictor is not None else np.asarray(x)[0, 0]

    def show_external_input(self, image, caption: str = "") -> bool:
        """Show a ready-made canonical image (e.g. a test image from the evaluation view: [C, S, S] of
        the active model's input) as if it had been drawn: prediction, feature maps, saliency.
        The canvas is cleared (Undo brings the drawing back); drawing again replaces the image.
        An image of another shape is refused with a one-line error, the drawing kept; returns
        whether it was shown."""
        predictor = self.controller.predictor
        if predictor is None:
            self.show_error("Cannot show the image: no model is loaded.")
            return False
        image = np.asarray(image, dtype=np.float32)
        try:
            x = predictor.input.canonical(image)
        except ValueError:
            c, s, _ = predictor.input_shape
            self.show_error(f"Cannot show a {'x'.join(map(str, image.shape))} image: the active model takes "
                            f"{s}x{s}{' colour' if c == 3 else ''} input.")
            return False
        if len(x) != 1:
            self.show_error(f"Cannot show {len(x)} images at once.")
            return False
        self.canvas.clear()
        self.model_input = x
        self.input_view.show_input(self._shown(x))
        self.message.set_hints([])
        self.message.set_status(caption)
        self.prediction = predictor.predict(x)
        self.panel.show_prediction(self.prediction)
        if self.feature_maps is not None:
            self.feature_maps.show_prediction(self.prediction)
            self.arithmetic.set_input(None if self.prediction is None else x)
        if self.saliency_box.isChecked():
            self._request_saliency()
        self.predictionShown.emit(self.prediction)
        return True

    def shutdown(self) -> None:
        self.saliency.shutdown()
        self.stepwise.shutdown()
