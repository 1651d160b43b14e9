"""The Map inspector: the model's test set as points in 2-D (``core.explore.TestSetMap``), coloured by
label, the model's mistakes crossed, and the input now shown as a live point among them with its
nearest test images beside. Hover a point to see its test image; click it to open it in the canvas.

The map is made on a worker thread (``core.explore.jobs``), only once the tab is first shown: the
PCA layout as soon as the model has run over the test set, the finished layout a few seconds later,
and from the cache at once the next time. Placing the input runs on the UI thread while the tab is
shown (~0.5 ms for the shipped model: the point moves in the frame the drawing changes in); while the
tab is hidden nothing is placed, so the drawing path is as it was.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QVBoxLayout, QWidget

from digitpad.core.explore import TestSetMap
from digitpad.core.explore.jobs import SharedTestSets, locate_test_set, map_job, refine_job

from .. import style
from ..elided import ElidedLabel
from ..images import thumbnail
from ..text import plain_label, set_tip
from ..threads import background
from ..widgets import JobStatus
from .image_row import ImageRow
from .inspector_parts import caption

NEAREST = 8          # test images shown beside the live point
HIT_PX = 7           # a point within this many screen pixels of the pointer is the one hovered or clicked


class TestMapView(QWidget):
    """``testChosen(image, caption)``: a test image to open (canonical [C, S, S]), as the strip's ``chosen``.
    ``settings``: the app's SettingsStore (its ``datasets_folder``); ``sets``: the test sets the Draw tab's
    explore views share."""

    __test__ = False
    testChosen = Signal(object, str)

    def __init__(self, settings, sets: SharedTestSets, parent=None):
        super().__init__(parent)
        self.settings, self.sets = settings, sets
        self.predictor = None
        self.map: TestSetMap | None = None
        self.test = None                   # the TestSet the map was made from (its images are shown)
        self.title = ""                    # the test set's name ("MNIST")
        self.x: np.ndarray | None = None   # the input now shown (placed when the tab is shown)
        self.placement = None
        self.hovered: int | None = None
        self._key = None                   # (model, folder, dataset) of the map shown or being made
        self._nearest: tuple[int, ...] = ()
        self.jobs = background("test-set map", self)
        self._build()

    # -- layout ----------------------------------------------------------------------------------------
    def _build(self) -> None:
        col = QVBoxLayout(self)
        col.setContentsMargins(8, 8, 8, 8)
        col.setSpacing(4)
        self.status = ElidedLabel()
        col.addWidget(self.status)
        self.job = JobStatus(self.status)
        self.progress = self.job.bar
        col.addWidget(self.progress)
        self.plot = pg.GraphicsLayoutWidget()
        self.plot.ci.layout.setContentsMargins(2, 2, 2, 2)
        self.view = self.plot.addViewBox(lockAspect=True, enableMenu=False)
        self.view.setDefaultPadding(0.03)
        self.classes: list[pg.ScatterPlotItem] = []
        self.names: list[pg.TextItem] = []
        # Near-black, half seen through: red would be a class's colour, and a weak model's thousand mistakes
        # must not hide the classes under them.
        self.crosses = pg.ScatterPlotItem(symbol="x", size=5, pen=None, brush=pg.mkBrush(20, 20, 30, 150))
        self.rings = pg.ScatterPlotItem(symbol="o", size=11, pen=pg.mkPen(style.LIVE_POINT, width=1.5),
                                        brush=None)
        self.hover_ring = pg.ScatterPlotItem(symbol="o", size=14, pen=pg.mkPen(style.ACCENT, width=2.5), brush=None)
        self.live = pg.ScatterPlotItem(symbol="star", size=22, pen=pg.mkPen(style.WHITE, width=1.5),
                                       brush=pg.mkBrush(style.LIVE_POINT))
        for z, item in enumerate((self.crosses, self.rings, self.hover_ring, self.live), 10):
            item.setZValue(z)
            self.view.addItem(item)
        scene = self.plot.scene()
        scene.sigMouseMoved.connect(self._mouse_moved)
        scene.sigMouseClicked.connect(self._mouse_clicked)
        col.addWidget(self.plot, 1)

        self._build_preview()
        below = QHBoxLayout()
        below.setSpacing(6)
        self.near_title = caption("Nearest:", wrap=False)
        set_tip(self.near_title, "The test images nearest to the input shown, in the model's own view of them "
                                 "(its last hidden layer): the ones it finds most alike")
        below.addWidget(self.near_title)
        self.nearest = ImageRow(NEAREST, 34)
        self.nearest.clicked.connect(self.open_index)
        below.addWidget(self.nearest, 1)
        col.addLayout(below)
        self.key_line = ElidedLabel()
        col.addWidget(self.key_line)
        self._say("")

    def _build_preview(self) -> None:
        """The hovered test image, over the plot's top left corner while the pointer is on a point."""
        self.hover_box = QFrame(self.plot)
        self.hover_box.setObjectName("mapPreview")
        self.hover_box.setStyleSheet(f"QFrame#mapPreview {{ background: {style.CARD}; border: 1px solid "
                                     f"{style.BORDER}; border-radius: 6px; }}")
        row = QHBoxLayout(self.hover_box)
        row.setContentsMargins(6, 6, 8, 6)
        self.preview = plain_label()
        self.preview.setFixedSize(56, 56)
        row.addWidget(self.preview)
        self.preview_text = plain_label()
        row.addWidget(self.preview_text)
        self.hover_box.move(6, 6)
        self.hover_box.setVisible(False)

    def _say(self, text: str, busy: bool = False) -> None:
        self.job.say(text, busy)

    # -- model and test set -------------------------------------------------------------------------------
    def set_predictor(self, predictor) -> None:
        """The active model: its map is made when the tab is shown (another model's never lingers)."""
        changed = predictor is not self.predictor
        self.predictor = predictor
        if changed:
            self._key = None
            self.jobs.cancel()
            self._clear()
            self._say("")
        if self.isVisible():
            self._request()

    def _request(self) -> None:
        """Make the map of the active model's test set, unless it is the one shown or being made."""
        where = locate_test_set(self.predictor, self.settings.values.datasets_folder)
        key = None if isinstance(where, str) else (self.predictor.path, self.predictor.digest, *where[:2])
        if key is not None and key == self._key:
            return
        self._key = key
        self.jobs.cancel()
        self._clear()
        if isinstance(where, str):
            self._say(where)
            return
        dataset, folder, self.title = where
        self._say(f"Running {self.predictor.name} over the {self.title} test set…", busy=True)
        self.jobs.submit(map_job, self.predictor, folder, dataset, self.sets, on_done=self._first_ready,
                         on_error=self._failed, on_progress=self.job.progress)

    def _failed(self, error: BaseException) -> None:
        self._key = None
        self._say(f"The map cannot be made: {error}")

    def _first_ready(self, result) -> None:
        if result is None:
            return
        self.map, self.test = result
        self._draw()
        if not self.map.final:
            self._say("First layout (PCA) shown; laying the points out by their neighbours…", busy=True)
            self.jobs.submit(refine_job, self.map, on_done=self._refined, on_error=self._failed,
                             on_progress=self.job.progress)

    def _refined(self, done: TestSetMap | None) -> None:
        if done is not None:
            self.map = done
            self._draw()

    def _clear(self) -> None:
        self.map, self.test, self.placement, self._nearest = None, None, None, ()
        for item in self.classes + self.names:
            self.view.removeItem(item)
        self.classes, self.names = [], []
        for item in (self.crosses, self.rings, self.hover_ring, self.live):
            item.setData([], [])
        self.nearest.clear()
        self._show_preview(None)
        self.key_line.set_text("")

    # -- drawing the map ----------------------------------------------------------------------------------
    def _class_names(self) -> list[str]:
        if self.test is not None and self.test.classes:
            return list(self.test.classes)
        return list(self.predictor.classes) if self.predictor is not None else []

    def _draw(self) -> None:
        m = self.map
        for item in self.classes + self.names:
            self.view.removeItem(item)
        self.classes, self.names = [], []
        names = self._class_names()
        count = max(len(names), int(m.labels.max()) + 1)
        for k in range(count):
            pts = m.points[m.labels == k]
            colour = style.class_colour(k, count)
            item = pg.ScatterPlotItem(pts[:, 0], pts[:, 1], symbol="o", size=4, pen=None, brush=pg.mkBrush(colour))
            item.setZValue(1)
            self.view.addItem(item)
            self.classes.append(item)
            if len(pts):
                cx, cy = np.median(pts, axis=0)
                name = names[k] if k < len(names) else str(k)
                label = pg.TextItem(name, color=style.TEXT, anchor=(0.5, 0.5), fill=pg.mkBrush(255, 255, 255, 190))
                label.setPos(float(cx), float(cy))
                label.setZValue(20)
                self.view.addItem(label)
                self.names.append(label)
        wrong = m.points[m.mistakes]
        self.crosses.setData(wrong[:, 0], wrong[:, 1])
        self.view.autoRange(padding=0.03)
        how = "neighbours kept together (UMAP's layout)" if m.final else "PCA, a first look"
        width = m.reduced.components.shape[0]
        self._say(f"{self.title} test set · {len(m):,} images · " + ("neighbour layout" if m.final else
                                                                      "first look (PCA)"))
        self.status.set_text(self.status.full, f"Each test image is a point placed by the {width:,} values the "
                             f"model's last layer reads for it ({m.feature}): images the model finds alike lie close "
                             f"together. Laid out by {how}. Drag to move, wheel to zoom.")
        self.key_line.set_text(f"Colour: class · × wrong ({int(m.mistakes.sum()):,}) · ★ the input · click a "
                               "point to open it",
                               "Each point is a test image, coloured by its true class; a cross marks one the model "
                               "gets wrong. The star is the input shown (your drawing, a test image), ringed its "
                               "nearest test images. Hover a point to see its image, click it to open it.")
        self._show_preview(None)
        self._place()

    # -- the live point -----------------------------------------------------------------------------------
    def show_input(self, x: np.ndarray | None) -> None:
        """The input now shown in the Draw tab (a canonical image of the active model, or None)."""
        self.x = x
        if self.isVisible():
            self._place()

    def _place(self) -> None:
        if self.map is None or self.x is None or tuple(self.x.shape[1:]) != tuple(self.predictor.input_shape):
            self.placement = None
            self.live.setData([], [])
            self.rings.setData([], [])
            if self._nearest:
                self._nearest = ()
                self.nearest.clear()
            return
        self.placement = at = self.map.locate(self.x, NEAREST)
        self.live.setData([float(at.position[0])], [float(at.position[1])])
        near = self.map.points[at.nearest]
        self.rings.setData(near[:, 0], near[:, 1])
        key = tuple(int(i) for i in at.nearest)
        if key != self._nearest:           # thumbnails only when the neighbours change, not every frame
            self._nearest = key
            self.nearest.set_images([(i, self.test.image(i), self._describe(i) + "\nClick to open it.", None)
                                     for i in key])

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._request()
        self._place()

    # -- hover and click ------------------------------------------------------------------------------------
    def _point_at(self, scene_pos) -> int | None:
        if self.map is None or not self.view.sceneBoundingRect().contains(scene_pos):
            return None
        p = self.view.mapSceneToView(scene_pos)
        px, py = self.view.viewPixelSize()
        pts = self.map.points
        d = ((pts[:, 0] - p.x()) / max(px, 1e-12)) ** 2 + ((pts[:, 1] - p.y()) / max(py, 1e-12)) ** 2
        i = int(np.argmin(d))
        return i if d[i] <= HIT_PX ** 2 else None

    def _mouse_moved(self, scene_pos) -> None:
        i = self._point_at(scene_pos)
        if i == self.hovered:
            return
        self.hovered = i
        if i is None:
            self.hover_ring.setData([], [])
        else:
            self.hover_ring.setData([float(self.map.points[i, 0])], [float(self.map.points[i, 1])])
        self._show_preview(i)

    def _mouse_clicked(self, event) -> None:
        if event.button() != Qt.LeftButton:
            return
        i = self._point_at(event.scenePos())
        if i is not None:
            event.accept()
            self.open_index(i)

    def _describe(self, i: int) -> str:
        names, m = self._class_names(), self.map
        label, said = int(m.labels[i]), int(m.predicted[i])
        name = names[label] if label < len(names) else str(label)
        answer = names[said] if said < len(names) else str(said)
        return f"Test image {i:,}: {name}\nthe model says {answer} ({m.confidence[i] * 100:.1f} %)"

    def _show_preview(self, i: int | None) -> None:
        if i is None or self.test is None:
            self.hover_box.setVisible(False)
            return
        self.preview.setPixmap(thumbnail(self.test.image(i), 56))
        self.preview_text.setText(self._describe(i) + "\nclick to open it")
        self.hover_box.adjustSize()
        # In the corner away from the point, so it never hides what it describes.
        at = self.plot.mapFromScene(self.view.mapViewToScene(pg.Point(*map(float, self.map.points[i]))))
        area = self.plot.viewport().rect()
        box = self.hover_box.size()
        x = 6 if at.x() > area.width() / 2 else area.width() - box.width() - 6
        y = 6 if at.y() > area.height() / 2 else area.height() - box.height() - 6
        self.hover_box.move(max(0, x), max(0, y))
        self.hover_box.setVisible(True)
        self.hover_box.raise_()

    def open_index(self, i: int) -> None:
        """Open test image ``i`` in the canvas (the Draw tab's render path for a test image)."""
        if self.test is None or not 0 <= i < len(self.test):
            return
        names, m = self._class_names(), self.map
        label = int(m.labels[i])
        name = names[label] if label < len(names) else str(label)
        self.testChosen.emit(self.test.image(i), f"{self.title} test image {i:,} · {name} (from the map)")

    def shutdown(self) -> None:
        self.jobs.shutdown()
