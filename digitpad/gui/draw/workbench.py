"""The Draw tab: what the model is given (a drawing, or a picture), the live answer, and the inspectors.

A digit model is drawn for: the canvas card (``draw_card``), where a photo or scan of a handwritten
digit can be opened too. A model that takes pictures (CIFAR-10, a folder of images, Fashion-MNIST)
gets the image bench instead (``picture_card``): its test images to pick from, and pictures opened,
dropped or pasted (``picture_open``). Every input reaches the screen the same way, ``_render``:

    a drawing:   canvas.to_array() -> predictor.input.from_drawing()   (every canvas change, ~1 ms)
    a picture:   file / drop / clipboard -> worker: decode, predictor.input.from_picture()
    a test image: the strip's page, made by predictor.input.from_rows() on a worker (or Evaluate's)
        -> _render(canonical image) -> Predictor.predict() -> answer, input view, maps, arithmetic, saliency

For a digit model a picture or a test image goes on the canvas (``DrawingCanvas.set_base``), to be
drawn over: while nothing is drawn over it the model reads it exactly as it was given (``Shown``, the
canvas's ``base_tag``: a test image answers as Evaluate said); once drawn over, the canvas is the
drawing. The canvas grows with the window (``_fit_canvas``); the drawing keeps its own 400 pixels.

Saliency goes to a worker thread; the pyqtgraph inspectors are built right after the window first
appears (``inspectors.build``), so pyqtgraph's import does not delay the first paint.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QVBoxLayout, QWidget

from digitpad.core import picture
from digitpad.core.handwriting.collection import Collection
from digitpad.core.preprocess import input_hints, to_model_input
from digitpad.core.saliency import timed_saliency

from .. import style
from ..canvas import Stroke
from ..text import plain_label
from ..threads import background
from .answer_card import AnswerCard
from .backprop import Backprop
from .draw_card import CANVAS_SIZE, DrawCard
from .inspectors import Inspectors
from .picture_card import PictureCard
from .picture_open import Opened, PictureOpener, reread
from .stepwise import StepByStep
from .timeline_view import TimelineView
from .wording import words_for

CANVAS_MAX = 880          # px on screen: beyond this a larger canvas helps nobody draw
INSPECTORS_MIN = 500      # px the right card keeps beside a larger canvas (a kernel's title, the grids)


def ink_square(rgb: np.ndarray) -> np.ndarray:
    """A photo of a handwritten digit as the canvas shows it: its ink (``picture.paper_to_ink``, what a
    digit model's preprocessing reads) where it is on the paper, the shorter side padded to a square (a
    stretched photo would change the digit's shape)."""
    ink = picture.paper_to_ink(picture.picture_array(rgb))
    h, w = ink.shape
    side = max(h, w)
    square = np.zeros((side, side), np.float32)
    square[(side - h) // 2:(side - h) // 2 + h, (side - w) // 2:(side - w) // 2 + w] = ink
    return square


@dataclass(frozen=True, eq=False)
class Shown:
    """A picture or test image put on the canvas, as the model reads it until it is drawn over."""

    kind: str                          # "picture" or "test"
    x: np.ndarray                      # the canonical image
    reference: np.ndarray | None = None
    reference_caption: str = ""
    reference_region: tuple | None = None


class Workbench(QWidget):
    """The Draw tab. ``collection``: where "Wrong? It was: d" saves drawings (My digits)."""

    predictionShown = Signal(object)   # the Prediction now on screen (None: nothing shown)
    sampleSaved = Signal(object)       # a drawing was saved to the collection (a Sample)

    def __init__(self, controller, collection: Collection, parent=None):
        super().__init__(parent)
        self.setObjectName("workbench")
        self.controller = controller
        self.collection = collection
        self.prediction = None
        self.model_input: np.ndarray | None = None
        self.drawing: np.ndarray | None = None  # the canvas's image when the input shown is a drawing (Compare)
        self.source: str | None = None        # what is shown: "drawing", "picture", "test" (None: nothing)
        self.opened: Opened | None = None     # the picture last opened (read again for another model)
        self.takes_pictures = False           # the active model's source: pictures, not the canvas
        self.words = words_for(None)          # what the tab asks for, in the model's terms
        self._before_drag = None              # the message line's text while a drag is over the tab
        self.stepwise = StepByStep(self)      # the model's NumPy forward pass, read on a worker thread
        self.backprop = Backprop(self)        # the loss's gradients for the input shown, on a worker thread
        self.saliency = background("saliency", self)
        self.saliency_seconds = 0.0
        self.opener = PictureOpener(lambda: controller.predictor.input if controller.predictor else None, self)
        self.opener.opened.connect(self._picture_ready)
        self.opener.failed.connect(lambda text: self.line.set_status(text, problem=True))
        self._build()
        self.setAcceptDrops(True)
        controller.modelChanged.connect(self._model_changed)
        controller.loadFailed.connect(self.show_error)

    # -- layout ----------------------------------------------------------------------------
    def _build(self) -> None:
        """Three columns sized for a 1280x720 window (tests/gui/test_layout.py): the canvas (or the
        image bench) at its fixed width; the answer and the input the network sees, which shrink to
        their minimum there and grow on a larger screen; the inspectors, which take the rest."""
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
        self.draw_card = DrawCard(self.collection)
        self.draw_card.canvas.changed.connect(self.update_prediction)
        self.corrections.saved.connect(self.sampleSaved)
        self.corrections.saved.connect(   # the "Wrong? It was" label is the loss's (None: the save was undone)
            lambda sample: self.backprop.set_correction(None if sample is None else sample.label))
        self.corrections.exact_image = self._exact_28
        self.picture_card = PictureCard(self.controller.settings, CANVAS_SIZE + 30)
        self.picture_card.setVisible(False)
        self.picture_card.strip.chosen.connect(self.show_test_image)
        for card in (self.draw_card, self.picture_card):
            card.open_button.clicked.connect(lambda: self.opener.dialog(self))
            card.paste_button.clicked.connect(self.opener.paste)
            row.addWidget(card, 0)
        self.answer = AnswerCard()
        self.answer.saliency_box.toggled.connect(self._saliency_toggled)
        row.addWidget(self.answer, 0)
        self.inspectors = Inspectors(self)
        self.inspectors.model_info.conventionChosen.connect(self.controller.use_convention)
        row.addWidget(self.inspectors.card, 1)
        self.timeline = TimelineView(self)   # the run's snapshots: a scrubber above the inspectors
        self.inspectors.card.body.insertWidget(0, self.timeline)

        # Shortcuts work anywhere in this tab, not only when the canvas has focus; the canvas's only
        # while the canvas is this model's source.
        self._canvas_shortcuts = [self._shortcut(keys, slot) for keys, slot in (
            (QKeySequence.Undo, self.canvas.undo), ("Ctrl+Shift+Z", self.canvas.redo),
            (QKeySequence.Redo, self.canvas.redo), ("Esc", self.canvas.clear), ("Delete", self.canvas.clear))]
        self._shortcut(QKeySequence.Paste, self.opener.paste)
        self._shortcut("Ctrl+Shift+O", lambda: self.opener.dialog(self))

    def _shortcut(self, keys, slot) -> QShortcut:
        sc = QShortcut(QKeySequence(keys), self)
        sc.setContext(Qt.WidgetWithChildrenShortcut)
        sc.activated.connect(slot)
        return sc

    # The parts other code and the tests reach through the tab.
    canvas = property(lambda self: self.draw_card.canvas)
    corrections = property(lambda self: self.draw_card.corrections)
    message = property(lambda self: self.draw_card.message)
    undo_button = property(lambda self: self.draw_card.undo_button)
    redo_button = property(lambda self: self.draw_card.redo_button)
    clear_button = property(lambda self: self.draw_card.clear_button)
    strip = property(lambda self: self.picture_card.strip)
    panel = property(lambda self: self.answer.panel)
    input_view = property(lambda self: self.answer.input_view)
    sees_label = property(lambda self: self.answer.sees_label)
    saliency_box = property(lambda self: self.answer.saliency_box)
    inspector = property(lambda self: self.inspectors.tabs)
    model_info = property(lambda self: self.inspectors.model_info)
    shapes_view = property(lambda self: self.inspectors.shapes_view)
    feature_maps = property(lambda self: self.inspectors.feature_maps)
    kernels_view = property(lambda self: self.inspectors.kernels_view)
    arithmetic = property(lambda self: self.inspectors.arithmetic)
    arithmetic_link = property(lambda self: self.inspectors.arithmetic_link)

    @property
    def line(self):
        """The message line of the card shown: what was opened, or why it could not be."""
        return self.picture_card.message if self.takes_pictures else self.draw_card.message

    def build_inspectors(self) -> None:
        """Create the pyqtgraph views and the shapes table (their imports are the slow part of the
        start); called once the window has painted its first frame."""
        self.inspectors.build(self.controller.predictor, self.prediction, self.model_input)

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
        had_pictures = self.takes_pictures
        self._set_source_kind(predictor)
        self.answer.show_model(predictor)
        self.backprop.set_predictor(predictor)
        self.inspectors.model_changed(predictor)
        if self.takes_pictures:
            self.strip.set_predictor(predictor)
        elif not had_pictures or self.source != "picture" or self.opened is None:
            # The canvas, seen by the new model: a drawing, or the picture on it (read exactly as it was
            # given when the new model takes its shape, else as a drawing).
            self.update_prediction()
            return
        # What was shown, seen by the new model: the same picture read for it, or the same test image
        # when the new model takes images of its shape.
        if self.source == "picture" and self.opened is not None and predictor is not None:
            try:   # on this thread: the kept picture is at most 512 px (2-10 ms), and no old image lingers
                again = reread(None, predictor.input, self.opened)
            except Exception:   # noqa: BLE001  this model cannot read it: show nothing rather than fail
                again = None
            if again is not None and again.x is not None:
                self._picture_ready(again)
                return
            self.source = None
        if self.source == "test" and predictor is not None and self.model_input is not None \
                and self.model_input.shape[1:] == predictor.input_shape:
            self._render(self.model_input)
        elif self.takes_pictures:
            self.source = None
            self.line.set_status("")   # what it said was about an image no longer shown
            self._render(None)
        else:
            self.update_prediction()   # the same drawing, seen by the new model

    def _set_source_kind(self, predictor) -> None:
        """The canvas for a digit model, the image bench for one that takes pictures; the words for it."""
        pictures = predictor is not None and not predictor.input.drawn
        self.takes_pictures = pictures
        self.words = words_for(predictor)
        self.draw_card.setVisible(not pictures)
        self.picture_card.setVisible(pictures)
        self.draw_card.set_words(self.words)
        for sc in self._canvas_shortcuts:
            sc.setEnabled(not pictures)
        if not pictures:
            self.strip.set_predictor(None)   # no test set read for a model that does not take it
        self.inspectors.set_prompt(self.words.prompt, pictures)
        self._fit_canvas()

    # -- the canvas's size -----------------------------------------------------------------
    def _fit_canvas(self) -> None:
        """The canvas as large as the tab's room allows: the page's height less the rest of the draw
        card, and its width less the answer and the inspectors' share; never below the drawing's own
        400 px (a smaller window scrolls) nor above CANVAS_MAX. Measured on the page's viewport, not
        this widget, which is never smaller than its minimum (it would never shrink again)."""
        if self.takes_pictures:
            return
        room = self.parentWidget().size() if self.parentWidget() is not None else self.size()
        outer = self.layout()
        m, gap = outer.contentsMargins(), outer.spacing()
        card = self.draw_card
        rest = card.minimumSizeHint().height() - self.canvas.height()   # the card but the canvas
        banner = self.banner.sizeHint().height() + gap if self.banner.isVisible() else 0
        tall = room.height() - m.top() - m.bottom() - banner - rest
        row = self.layout().itemAt(1).layout().spacing()
        wide = room.width() - m.left() - m.right() - 2 * row - self.answer.width() - INSPECTORS_MIN \
            - (card.width() - self.canvas.width())
        card.set_canvas_side(max(self.canvas.side, min(CANVAS_MAX, tall, wide)))

    def showEvent(self, event) -> None:
        super().showEvent(event)
        holder = self.parentWidget()
        if holder is not None and not holder.property("digitpadCanvasFit"):
            holder.setProperty("digitpadCanvasFit", True)
            holder.installEventFilter(self)   # the page's viewport: its size is the room there is
        self._fit_canvas()

    def eventFilter(self, obj, event) -> bool:
        if obj is self.parentWidget() and event.type() == QEvent.Resize:
            self._fit_canvas()
        return super().eventFilter(obj, event)

    # -- the live loop ---------------------------------------------------------------------
    def update_prediction(self) -> None:
        """The canvas's drawing, for a digit model (every canvas change: this is the 60 Hz path)."""
        predictor = self.controller.predictor
        if self.takes_pictures:
            return   # the canvas is hidden: its drawing waits for a digit model
        shown = self.canvas.base_tag if self.canvas.base_only() else None
        if isinstance(shown, Shown) and predictor is not None and shown.x.shape[1:] == predictor.input_shape:
            # A picture on the canvas, not drawn over: the model reads it exactly as it was given.
            self.message.drawing_changed()
            self.message.set_hints([])
            self.source, self.drawing = shown.kind, None
            self._render(shown.x, shown.reference, shown.reference_caption, shown.reference_region)
            return
        img = self.canvas.to_array()
        # The hints and the reference image beside a smaller input are about the MNIST-style 28x28 image.
        x28 = to_model_input(img)
        mnist = predictor is None or predictor.preprocessing == "mnist"
        x = x28 if mnist else predictor.input.from_drawing(img)
        self.message.drawing_changed()
        if not self.canvas.is_drawing():
            # Hints wait for the pen to lift: "very small" is true of every digit's first
            # millimetres, and nagging mid-stroke helps nobody.
            self.message.set_hints(input_hints(img, x28) if x28 is not None else [])
        small = x is not None and x28 is not None and predictor is not None and predictor.input_size != x28.shape[-1]
        self.source = "drawing" if x is not None else None
        self.drawing = img if x is not None else None
        self._render(x, x28[0, 0] if small else None, "reduced from\nthis 28 × 28")

    def _render(self, x: np.ndarray | None, reference: np.ndarray | None = None, reference_caption: str = "",
                reference_region=None) -> None:
        """The one way a new input reaches the screen: canonical image ``x`` (None: nothing to show) through
        the model, and every view shown again. ``reference``: what it was made from, shown small beside
        (``reference_region``: the part of it the model keeps)."""
        predictor = self.controller.predictor
        self.model_input = x
        shown = None if x is None else predictor.input.to_display(x) if predictor is not None else x[0, 0]
        self.input_view.show_input(shown, reference, reference_caption, reference_region)
        if x is None or predictor is None:
            self.prediction = None
            self.panel.empty_text = self.words.empty
            self.panel.show_probs(None)
        else:
            self.prediction = predictor.predict(x)
            self.panel.show_prediction(self.prediction)
        self.backprop.set_input(None if self.prediction is None else x,
                                None if self.prediction is None else self.prediction.top)
        self.inspectors.show(self.prediction, x)
        if self.saliency_box.isChecked():
            self._request_saliency()
        self.predictionShown.emit(self.prediction)

    def _show_input(self, kind: str, x: np.ndarray, status: str, reference=None, reference_caption: str = "",
                    reference_region=None, on_canvas: np.ndarray | None = None) -> None:
        """A ready canonical image in place of the drawing. For a digit model it goes on the canvas, to
        be drawn over (Undo brings the drawing before it back): ``on_canvas`` (a photo's ink, as a drawing
        of it), else the image itself; the image bench shows it as it is."""
        if kind != "test":
            self.strip.forget_choice()
        self.drawing = None   # (Compare reads the canvas's drawing only when the input shown is one)
        self.line.set_hints([])
        if self.takes_pictures:
            self.source = kind
            self.line.set_status(status)
            self._render(x, reference, reference_caption, reference_region)
            return
        predictor = self.controller.predictor
        if reference is None and predictor is not None and predictor.input_size < 28:
            reference_caption = "a test image:\nno drawing reduced"   # the 28x28 box beside an 8x8 input
        shown = Shown(kind, x, reference, reference_caption, reference_region)
        if on_canvas is None:
            on_canvas = predictor.input.to_display(x) if predictor is not None else x[0, 0]
        self.canvas.set_base(np.asarray(on_canvas, np.float32).reshape(on_canvas.shape[:2]), tag=shown)   # renders
        self.line.set_status(status)

    def _exact_28(self) -> np.ndarray | None:
        """The 28x28 MNIST-style image a correction keeps while a test image or photo is on the canvas, not
        drawn over (the image itself, not the canvas's copy of it); None: the canvas's drawing."""
        shown = self.canvas.base_tag if self.canvas.base_only() else None
        if isinstance(shown, Shown) and shown.x.shape[1:] == (1, 28, 28) and self.controller.predictor is not None \
                and self.controller.predictor.preprocessing == "mnist":
            return shown.x
        return None

    def show_sample(self, sample) -> None:
        """A saved My digits sample on the canvas, to be looked at again or drawn over: its strokes when it
        has them (at this canvas's size), else its 28x28 image."""
        if self.takes_pictures:
            self.show_error("The active model takes pictures, not drawings: choose a digit model to open a sample.")
            return
        if sample.strokes:
            k = self.canvas.side / sample.canvas_size if sample.canvas_size else 1.0
            self.canvas.set_strokes([Stroke([(x * k, y * k, pr) for x, y, pr in np.asarray(st.points).tolist()],
                                            st.width * k, st.eraser) for st in sample.strokes])
        else:
            self.canvas.set_base(sample.image.astype(np.float32) / 255.0)
        self.line.set_status(f"Your {sample.label} from My digits: draw over it, or Clear.")

    @property
    def hints(self) -> list[str]:
        return self.message.hints

    # -- pictures and test images ----------------------------------------------------------
    def show_test_image(self, image, caption: str = "") -> bool:
        return self.show_external_input(image, caption)

    def show_external_input(self, image, caption: str = "") -> bool:
        """Show a ready-made canonical image (a test image: [C, S, S] of the active model's input) as if
        it had been drawn: prediction, feature maps, saliency. An image of another shape is refused
        with a one-line error, the drawing kept; returns whether it was shown."""
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
        self._show_input("test", x, caption)
        return True

    def _picture_ready(self, opened: Opened) -> None:
        predictor = self.controller.predictor
        if predictor is None:
            return
        if opened.adapter is not predictor.input:   # read for a model no longer active: read it for this one
            self.opener.reread(opened)
            return
        if opened.x is None:   # a digit model, and no ink stands out from the paper
            self.line.set_status(f"No handwriting found in {opened.name}: a dark digit on light paper, filling "
                                 "much of the picture, reads best.", problem=True)
            return
        self.opened = opened
        s = predictor.input_size
        what = ("the ink found on the paper, read as a drawing. Draw over it, or Clear."
                if predictor.input.drawn else
                f"the network sees it as the {s} × {s} {'RGB' if predictor.input.colour else 'grey'} image beside "
                "the answer.")
        region = predictor.input.picture_region(opened.width, opened.height)
        if region is not None:   # as fractions: the picture kept is smaller than the one in the file
            region = (region[0] / opened.width, region[1] / opened.height, region[2] / opened.width,
                      region[3] / opened.height)
        self._show_input("picture", opened.x, f"{opened.caption}: {what}", opened.picture,
                         f"opened\n{opened.width} × {opened.height}", region,
                         ink_square(opened.picture) if predictor.input.drawn else None)

    def dragEnterEvent(self, event) -> None:
        if PictureOpener.can_open(event.mimeData()):
            event.acceptProposedAction()
            self._before_drag = (self.line.status, self.line.problem)
            self.line.set_status("Drop it to open it here.")

    def dragLeaveEvent(self, event) -> None:
        self._end_drag()

    def _end_drag(self) -> None:
        if self._before_drag is not None:
            self.line.set_status(*self._before_drag)
            self._before_drag = None

    def dropEvent(self, event) -> None:
        self._end_drag()
        if self.opener.open_mime(event.mimeData(), "the dropped picture"):
            event.acceptProposedAction()

    # -- saliency --------------------------------------------------------------------------
    def _saliency_toggled(self, on: bool) -> None:
        self.answer.set_saliency_visible(on)
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

    def shutdown(self) -> None:
        self.saliency.shutdown()
        self.stepwise.shutdown()
        self.backprop.shutdown()
        self.opener.shutdown()
        self.strip.shutdown()
        self.inspectors.shutdown()
        self.timeline.shutdown()
