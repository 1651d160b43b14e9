"""The drawing surface: a square of paper, a round antialiased pen, strokes kept as data.

Two images are kept in step as you draw:
- ``_ink``: what the model sees, white ink on black, 8-bit grey, one pixel per logical
  pixel so ``to_array()`` is the same on every screen;
- ``_view``: what you see, the ink colour on transparency at the device pixel ratio so
  lines stay crisp on high-DPI screens.
Each new point is drawn incrementally (quadratic pieces through the midpoints between
samples, which smooths the polyline without lagging behind the pen). Undo pastes back what
the stroke painted over (``stroke_history``), so it costs one stroke however long the
drawing; redo paints one stroke; resizing and replay re-render from the stroke list.

The drawing has its own size (``side``, the ``size`` given: 400 in the app), whatever the
widget's: a larger window shows the canvas larger (``scale``), but the strokes, the model's
image and what ``to_array`` returns stay in the drawing's pixels, so a window resized does not
change a prediction. ``draw_stroke`` takes points as the pen gives them, on the widget.

Under the strokes there may be a picture (``set_base``: a test image, a photo's ink, a saved
sample's image): it is part of the drawing, so strokes, the eraser, undo, Clear and ``to_array``
treat it as ink drawn before them.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPen, QPointingDevice, QTabletEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from digitpad.core.preprocess import to_model_input

from . import style
from .stroke_history import StrokeHistory

PAPER, INK, FRAME, GUIDE = (QColor(c) for c in (style.PAPER, style.INK, style.FRAME, style.GUIDE))
# The model's image: white ink on black (MNIST's polarity); the eraser paints black.
MODEL_INK, MODEL_PAPER = QColor(255, 255, 255), QColor(0, 0, 0)
# Live updates are coalesced to at most one per 8 ms: twice a 60 Hz display's rate, so
# every frame shows a prediction at most half a frame old (a full-frame throttle would
# let a move wait 16 ms before processing even starts), while a 1000 Hz mouse or tablet
# still costs at most 125 updates a second.
EMIT_INTERVAL_S = 0.008
RERENDER_PATCHES = 32   # after a full re-render, the last strokes get undo patches again


@dataclass
class Stroke:
    """One pen-down polyline. Points are (x, y, pressure) in canvas pixels, pressure 0..1."""

    points: list[tuple[float, float, float]] = field(default_factory=list)
    width: float = 30.0
    eraser: bool = False


def _pressure_width(width: float, pressure: float) -> float:
    # Light touches still leave a visible line: width spans 35..100 % of the setting.
    return width * (0.35 + 0.65 * max(0.0, min(1.0, pressure)))


class DrawingCanvas(QWidget):
    changed = Signal()          # the drawing changed (coalesced to <= 125 Hz while drawing)
    strokeFinished = Signal()   # pen lifted: a good moment for slower work (saliency)
    historyChanged = Signal()   # undo/redo availability may have changed

    def __init__(self, size: int = 336, parent: QWidget | None = None):
        super().__init__(parent)
        self._size = size                  # the drawing's side, in its own pixels
        self.setFixedSize(size, size)      # on screen: set_side() makes it larger
        self.setSizePolicy(QSizePolicy.Fixed, QSizePolicy.Fixed)
        self.setFocusPolicy(Qt.StrongFocus)
        self.setMouseTracking(True)  # for the pen-size outline under the cursor
        self.setCursor(Qt.CrossCursor)
        self.setAttribute(Qt.WA_OpaquePaintEvent)
        self.pen_width = 30.0  # about MNIST's stroke (2-3 px of 20) for a digit filling the guide
        self.eraser = False
        self._strokes: list[Stroke] = []
        self._redo: list[Stroke] = []
        self._cleared: list[Stroke] = []   # what the last clear removed, for undo
        self._cleared_state = None         # (ink, view, patches, base, tag) as they were before a clear
        self._base: np.ndarray | None = None   # the picture under the strokes, [side, side] 0..1
        self.base_tag = None               # what the caller says the picture is (set_base's tag)
        self._history = StrokeHistory()
        self._painted = QRectF()           # what the stroke being drawn has touched so far
        self._current: Stroke | None = None
        self._hover: QPointF | None = None
        self._dpr = 0.0
        self._ink = QImage()
        self._view = QImage()
        self._allocate()
        self._last_emit = 0.0
        self._emit_timer = QTimer(self)
        self._emit_timer.setSingleShot(True)
        self._emit_timer.timeout.connect(self._emit_changed)

    # -- public API ------------------------------------------------------------------------
    @property
    def side(self) -> int:
        """The drawing's side in its own pixels (strokes, ``to_array``), whatever the widget's size."""
        return self._size

    @property
    def scale(self) -> float:
        """Screen pixels per drawing pixel."""
        return self.width() / self._size

    def set_side(self, pixels: int) -> None:
        """Show the canvas ``pixels`` wide on screen; the drawing keeps its own size (``side``)."""
        pixels = max(self._size, int(pixels))
        if pixels != self.width():
            self.setFixedSize(pixels, pixels)

    @property
    def strokes(self) -> list[Stroke]:
        """The strokes, in the drawing's pixels (``side``)."""
        return list(self._strokes)

    @property
    def base(self) -> np.ndarray | None:
        """The picture under the strokes ([side, side], 0..1, white on black), or None."""
        return self._base

    def base_only(self) -> bool:
        """True when the canvas shows its picture and nothing drawn over it."""
        return self._base is not None and not self._strokes and self._current is None

    def set_strokes(self, strokes: list[Stroke]) -> None:
        """Replace the drawing (replay, load): those strokes in the drawing's pixels, no picture under
        them; the redo history is dropped."""
        self._cleared, self._cleared_state = [], None
        self._strokes = [Stroke(list(s.points), s.width, s.eraser) for s in strokes]
        self._base, self.base_tag = None, None
        self._redo.clear()
        self._rerender()
        self._after_edit()

    def set_base(self, image: np.ndarray, tag=None) -> None:
        """Put a picture on the canvas in place of the drawing ([H, W] 0..1, white ink on black, any
        size: it fills the canvas), to be drawn over. Undo brings back what was there, as after a
        clear. ``tag``: kept as ``base_tag`` while this picture is on the canvas (the caller's word
        for what it is)."""
        if not self.is_empty():
            self._keep_for_undo()
        else:
            self._cleared, self._cleared_state = [], None
        self._current = None
        self._strokes, self._redo = [], []
        img = np.clip(np.nan_to_num(np.asarray(image, np.float32)), 0, 1)
        self._base = _fit(img, self._size)
        self.base_tag = tag
        self._history.reset(0)
        self._rerender()
        self._after_edit()

    def draw_stroke(self, points, width: float | None = None, eraser: bool | None = None,
                    pressures=None) -> None:
        """Draw one pen-down polyline as if drawn with the pen: points (and ``width``) in screen pixels
        on the canvas widget (the drawing's own pixels while the canvas is shown at its own size)."""
        k = 1.0 / self.scale
        points = [(float(p[0]) * k, float(p[1]) * k) for p in points]
        width = None if width is None else float(width) * k
        pts = [(float(p[0]), float(p[1])) for p in points]
        pts = [p for p in pts if math.isfinite(p[0]) and math.isfinite(p[1])]
        if not pts:
            return
        # Missing pressures (none given, or fewer than points) are full pressure.
        pressures = [float(p) for p in (pressures or [])][:len(pts)]
        pressures += [1.0] * (len(pts) - len(pressures))
        self._begin(pts[0][0], pts[0][1], pressures[0], width, eraser)
        for (x, y), pr in zip(pts[1:], pressures[1:]):
            self._extend(x, y, pr)
        self._finish()

    def clear(self) -> None:
        if self.is_empty():
            return
        # Undo right after a clear brings the whole drawing back: an Esc pressed by
        # accident should not cost the drawing.
        self._keep_for_undo()
        self._current = None
        self._strokes, self._base, self.base_tag = [], None, None
        self._redo.clear()
        self._ink.fill(0)
        self._view.fill(Qt.transparent)
        self.update()
        self._after_edit()

    def _keep_for_undo(self) -> None:
        """The drawing as it is (strokes, picture, both images and their undo patches), for an undo
        that brings it all back."""
        self._cleared = self._strokes or [None]   # [None]: a picture alone, still something to bring back
        self._cleared_state = (self._ink.copy(), self._view.copy(), self._history.take(), self._base,
                               self.base_tag)

    def undo(self) -> None:
        if not self._strokes and self._cleared:
            ink, view, patches, self._base, self.base_tag = self._cleared_state
            strokes = [s for s in self._cleared if s is not None]
            self._strokes, self._cleared, self._cleared_state = strokes, [], None
            if view.devicePixelRatio() == self._dpr:
                self._ink, self._view = ink, view
                self._history.restore(patches)
            else:
                self._rerender()   # moved to a screen with another scale since the clear
            self.update()
            self._after_edit()
        elif self._strokes:
            self._redo.append(self._strokes.pop())
            if self._current is not None or not self._history.undo(self._ink, self._view):
                self._rerender()   # mid-stroke, or a patch dropped for memory: the slow, sure way
            self.update()
            self._after_edit()

    def redo(self) -> None:
        if self._redo:
            s = self._redo.pop()
            self._strokes.append(s)
            if self._current is not None:
                self._rerender()
            else:
                self._history.begin(self._ink, self._view)
                self._history.end(self._render_stroke(s), self._dpr)
                self.update()
            self._after_edit()

    def can_undo(self) -> bool:
        return bool(self._strokes) or bool(self._cleared)

    def can_redo(self) -> bool:
        return bool(self._redo)

    def is_drawing(self) -> bool:
        """True while the pen is down."""
        return self._current is not None

    def is_empty(self) -> bool:
        return not self._strokes and self._current is None and self._base is None

    def to_array(self) -> np.ndarray:
        """The drawing as float32 [H, W] in 0..1, white ink on black (MNIST polarity)."""
        img = self._ink
        ptr = img.constBits()
        a = np.frombuffer(ptr, dtype=np.uint8, count=img.sizeInBytes()).reshape(img.height(), img.bytesPerLine())
        return a[:, :img.width()].astype(np.float32) * (1.0 / 255.0)

    # -- drawing -------------------------------------------------------------------------
    def _view_ratio(self) -> float:
        """Device pixels of the view image per drawing pixel: the screen's ratio times the scale."""
        return (self.devicePixelRatioF() or 1.0) * self.width() / self._size

    def _allocate(self) -> None:
        # The view is painted in the drawing's pixels at the screen's resolution: its device pixel
        # ratio carries the scale too, so a larger canvas stays crisp, not an enlarged 400 px image.
        ratio = self._view_ratio()
        self._dpr = ratio
        self._ink = QImage(self._size, self._size, QImage.Format_Grayscale8)
        self._ink.fill(0)
        side = int(round(self._size * ratio))
        self._view = QImage(side, side, QImage.Format_ARGB32_Premultiplied)
        self._view.setDevicePixelRatio(ratio)
        self._view.fill(Qt.transparent)

    def _paint_base(self) -> None:
        """The picture into both images: its values as the model's ink, and as ink on the paper."""
        if self._base is None:
            self._ink.fill(0)
            self._view.fill(Qt.transparent)
            return
        grey = np.ascontiguousarray(np.rint(self._base * 255).astype(np.uint8))
        n = self._size
        self._ink = QImage(grey.data, n, n, n, QImage.Format_Grayscale8).copy()
        rgba = np.empty((n, n, 4), np.uint8)
        rgba[..., :3] = (INK.red(), INK.green(), INK.blue())
        rgba[..., 3] = grey
        picture = QImage(rgba.data, n, n, 4 * n, QImage.Format_RGBA8888)
        self._view.fill(Qt.transparent)
        p = QPainter(self._view)
        p.setRenderHint(QPainter.SmoothPixmapTransform)
        p.drawImage(QRectF(0, 0, n, n), picture)
        p.end()

    def _rerender(self) -> None:
        """Paint the picture and every stroke again; the last few keep their patches, so the undos
        that follow are fast again."""
        self._paint_base()
        unpatched = max(0, len(self._strokes) - RERENDER_PATCHES)
        self._history.reset(unpatched)
        for i, s in enumerate(self._strokes):
            if i < unpatched:
                self._render_stroke(s)
            else:
                self._history.begin(self._ink, self._view)
                self._history.end(self._render_stroke(s), self._dpr)
        if self._current is not None:
            self._render_stroke(self._current)   # its start-of-stroke copy is stale now: no patch
            self._history.forget_current()
        self.update()

    def _render_stroke(self, s: Stroke) -> QRectF:
        """Repaint a stroke exactly as it was painted live (same pieces, same order), so
        undo, redo and replay give the same pixels as drawing did. Returns what it touched."""
        pts = s.points
        touched = self._paint_piece(s, None, pts[0], None)
        for n in range(2, len(pts) + 1):
            touched = touched.united(self._paint_piece(s, *_piece(pts, n)))
        if len(pts) >= 2:
            touched = touched.united(self._paint_piece(s, _mid(pts[-2], pts[-1]), None, pts[-1]))
        return touched

    def _paint_piece(self, s: Stroke, start, ctrl, end) -> QRectF:
        """Paint start -> end (a quadratic bend through ctrl if given) into both images."""
        if start is None:  # a dot
            start = end = ctrl
            ctrl = None
        pressure = (ctrl or end)[2]
        w = _pressure_width(s.width, pressure)
        path = QPainterPath(QPointF(start[0], start[1]))
        if ctrl is not None:
            path.quadTo(QPointF(ctrl[0], ctrl[1]), QPointF(end[0], end[1]))
        elif start[:2] == end[:2]:
            path.lineTo(QPointF(end[0] + 0.01, end[1]))  # a zero-length line draws no round cap
        else:
            path.lineTo(QPointF(end[0], end[1]))
        for image, colour in ((self._ink, MODEL_PAPER if s.eraser else MODEL_INK),
                              (self._view, INK)):
            p = QPainter(image)
            p.setRenderHint(QPainter.Antialiasing)
            if s.eraser and image is self._view:
                p.setCompositionMode(QPainter.CompositionMode_Clear)
            p.setPen(QPen(colour, w, Qt.SolidLine, Qt.RoundCap, Qt.RoundJoin))
            p.drawPath(path)
            p.end()
        return path.boundingRect().adjusted(-w, -w, w, w)

    def _to_screen(self, rect: QRectF) -> QRect:
        """A rectangle in the drawing's pixels, as widget pixels to repaint."""
        k = self.scale
        return QRectF(rect.x() * k, rect.y() * k, rect.width() * k, rect.height() * k).toAlignedRect()

    def _begin(self, x: float, y: float, pressure: float, width=None, eraser=None) -> None:
        self._redo.clear()
        self._cleared, self._cleared_state = [], None
        self._current = Stroke([(x, y, pressure)], float(width or self.pen_width),
                               self.eraser if eraser is None else bool(eraser))
        self._history.begin(self._ink, self._view)
        self._painted = self._paint_piece(self._current, None, self._current.points[0], None)
        self.update(self._to_screen(self._painted))
        self._schedule_changed()

    def _extend(self, x: float, y: float, pressure: float) -> None:
        s = self._current
        if s is None:
            return
        last = s.points[-1]
        if abs(x - last[0]) < 0.5 and abs(y - last[1]) < 0.5:
            return  # sub-pixel jitter: nothing to draw
        s.points.append((x, y, pressure))
        dirty = self._paint_piece(s, *_piece(s.points, len(s.points)))
        self._painted = self._painted.united(dirty)
        self.update(self._to_screen(dirty))
        self._schedule_changed()

    def _finish(self) -> None:
        s = self._current
        if s is None:
            return
        if len(s.points) >= 2:
            dirty = self._paint_piece(s, _mid(s.points[-2], s.points[-1]), None, s.points[-1])
            self._painted = self._painted.united(dirty)
            self.update(self._to_screen(dirty))
        self._history.end(self._painted, self._dpr)
        self._strokes.append(s)
        self._current = None
        self._after_edit()
        self.strokeFinished.emit()

    def _after_edit(self) -> None:
        self._emit_timer.stop()
        self._emit_changed()
        self.historyChanged.emit()

    # -- throttled change notification ----------------------------------------------------
    def _schedule_changed(self) -> None:
        if self._emit_timer.isActive():
            return  # an update is already due this frame; it will see this point too
        wait = EMIT_INTERVAL_S - (time.perf_counter() - self._last_emit)
        self._emit_timer.start(max(0, int(wait * 1000)))

    def _emit_changed(self) -> None:
        self._last_emit = time.perf_counter()
        self.changed.emit()

    # -- Qt events -------------------------------------------------------------------------
    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._hover = None
        if abs(self._view_ratio() - self._dpr) > 1e-6:
            self._reallocate()

    def _reallocate(self) -> None:
        """Shown at another size or on a screen with another scale: the view again, crisp, and the
        model's image as it was (the drawing's pixels do not change)."""
        self._allocate()
        self._rerender()

    def paintEvent(self, event) -> None:
        if abs(self._view_ratio() - self._dpr) > 1e-6:
            self._reallocate()
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        r = QRectF(self.rect())
        p.fillRect(r, PAPER)
        # Faint guide: MNIST digits fill the middle 20/28 of the field.
        guide = r.adjusted(r.width() * 4 / 28, r.height() * 4 / 28, -r.width() * 4 / 28, -r.height() * 4 / 28)
        p.setPen(QPen(GUIDE, 1, Qt.DashLine))
        p.drawRoundedRect(guide, 6, 6)
        p.drawImage(r, self._view)
        if self._hover is not None and self._current is None:
            w = self.pen_width * self.scale
            p.setPen(QPen(style.PEN_OUTLINE, 1))
            p.setBrush(Qt.NoBrush)
            p.drawEllipse(self._hover, w / 2, w / 2)
        p.setPen(QPen(FRAME, 1))
        p.drawRect(r.adjusted(0.5, 0.5, -0.5, -0.5))
        p.end()

    def _at(self, pos: QPointF) -> QPointF:
        """A position on the widget, in the drawing's pixels."""
        return pos / self.scale

    def mousePressEvent(self, e) -> None:
        if e.button() == Qt.LeftButton:
            self.setFocus(Qt.MouseFocusReason)
            pos = self._at(e.position())
            self._begin(pos.x(), pos.y(), 1.0)
        elif e.button() == Qt.RightButton and self._current is None:
            self.undo()  # right click: quick undo while drawing, like many sketch apps

    def mouseMoveEvent(self, e) -> None:
        if self._current is not None and e.buttons() & Qt.LeftButton:
            pos = self._at(e.position())
            self._extend(pos.x(), pos.y(), 1.0)
        else:
            self._move_hover(e.position())

    def mouseReleaseEvent(self, e) -> None:
        if e.button() == Qt.LeftButton and self._current is not None:
            pos = self._at(e.position())
            self._extend(pos.x(), pos.y(), 1.0)
            self._finish()

    def leaveEvent(self, e) -> None:
        self._move_hover(None)

    def _move_hover(self, pos: QPointF | None) -> None:
        """The pen's outline under the pointer (widget pixels)."""
        r = self.pen_width * self.scale / 2 + 2
        for q in (self._hover, pos):
            if q is not None:
                self.update(QRectF(q.x() - r, q.y() - r, 2 * r, 2 * r).toAlignedRect())
        self._hover = QPointF(pos) if pos is not None else None

    def tabletEvent(self, e: QTabletEvent) -> None:
        pos, pressure = self._at(e.position()), e.pressure()
        eraser_tip = e.pointerType() == QPointingDevice.PointerType.Eraser
        t = e.type()
        if t == QTabletEvent.TabletPress:
            self.setFocus(Qt.OtherFocusReason)
            self._begin(pos.x(), pos.y(), pressure, eraser=True if eraser_tip else None)
        elif t == QTabletEvent.TabletMove and self._current is not None:
            self._extend(pos.x(), pos.y(), pressure)
        elif t == QTabletEvent.TabletRelease and self._current is not None:
            self._finish()
        e.accept()  # no synthesised mouse events on top of the tablet ones

    def keyPressEvent(self, e) -> None:
        if e.key() in (Qt.Key_Escape, Qt.Key_Delete, Qt.Key_Backspace):
            self.clear()
        else:
            super().keyPressEvent(e)


def _piece(pts, n):
    """(start, control, end) of the piece drawn when point n-1 arrives: midpoint to
    midpoint, bent through the previous sample (a quadratic B-spline through the samples)."""
    if n == 2:
        return pts[0], None, _mid(pts[0], pts[1])
    return _mid(pts[n - 3], pts[n - 2]), pts[n - 2], _mid(pts[n - 2], pts[n - 1])


def _mid(a, b):
    return ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2, (a[2] + b[2]) / 2)


SMOOTH_FROM = 16   # px: a picture this small (an 8x8 test image) is enlarged in blocks, as the model sees it


def _fit(image: np.ndarray, side: int) -> np.ndarray:
    """[H, W] 0..1 stretched to [side, side]: smoothly (a 28x28 image becomes soft ink), or in blocks for a
    picture smaller than SMOOTH_FROM (8x8 counts smoothed looked like a blot, not the digit they are)."""
    if image.shape == (side, side):
        return image.astype(np.float32)
    h, w = image.shape
    grey = np.ascontiguousarray(np.rint(image * 255).astype(np.uint8))
    small = QImage(grey.data, w, h, w, QImage.Format_Grayscale8)
    mode = Qt.SmoothTransformation if min(h, w) >= SMOOTH_FROM else Qt.FastTransformation
    big = small.scaled(side, side, Qt.IgnoreAspectRatio, mode).convertToFormat(QImage.Format_Grayscale8)
    a = np.frombuffer(big.constBits(), np.uint8, big.sizeInBytes()).reshape(side, big.bytesPerLine())
    return a[:, :side].astype(np.float32) / 255.0


def save_drawing(collection, canvas: DrawingCanvas, label: int, source: str, image: np.ndarray | None = None):
    """Save what is on the canvas (its model input, and its strokes when they are all of it) in a
    ``digitpad.core.handwriting.collection.Collection``; None if there is no digit on it. ``image``:
    the 28x28 model input to keep instead of the canvas's (a test image shown as it is)."""
    x = to_model_input(canvas.to_array()) if image is None else image
    if x is None:
        return None
    strokes = canvas.strokes if canvas.base is None else None   # strokes over a picture are not all of it
    return collection.add(label, x, strokes, canvas_size=canvas.side, source=source)
