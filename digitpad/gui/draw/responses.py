"""What a filter responds to, under the enlarged map and its kernel: the test images whose strongest unit in
that map is highest, and those where it is lowest, each with the patch that unit sees outlined. Click
one to open it in the canvas.

Every layer's responses over the whole test set come from one pass of the model on a worker thread
(``core.explore.jobs.responses_job``, cached per model file); any other map of any layer is then a sort.
The view only renders the ``TopImages`` it is handed.
"""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QSizePolicy, QVBoxLayout, QWidget

from digitpad.core.explore import TopImages
from digitpad.core.explore.jobs import SharedTestSets, locate_test_set, responses_job

from ..elided import ElidedLabel
from ..threads import background
from ..widgets import thin_progress_bar
from .image_row import ImageRow

SHOWN = 8            # images in each row


class FilterResponses(QWidget):
    """``testChosen(image, caption)``: a test image to open. ``set_source(settings, sets)`` before use."""

    testChosen = Signal(object, str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.settings = self.sets = None
        self.predictor = None
        self.top: TopImages | None = None
        self.test = None
        self.title = ""
        self._asked: tuple | None = None
        self.jobs = background("filter responses", self)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 2, 0, 0)
        col.setSpacing(2)
        self.most_title = ElidedLabel()
        self.most = ImageRow(SHOWN, 34)
        self.least_title = ElidedLabel()
        self.least = ImageRow(SHOWN, 34)
        self.progress = thin_progress_bar(4)
        self.progress.setVisible(False)
        for w in (self.most_title, self.most, self.least_title, self.least, self.progress):
            col.addWidget(w)
        self.most.clicked.connect(self._open)
        self.least.clicked.connect(self._open)
        self.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Fixed)

    def set_source(self, settings, sets: SharedTestSets) -> None:
        self.settings, self.sets = settings, sets

    def show_channel(self, predictor, layer: str | None, channel: int | None) -> None:
        """The map now enlarged (None: none): its top and bottom images, made on a worker if need be."""
        self.predictor = predictor
        if predictor is None or layer is None or channel is None or self.settings is None:
            self._asked = None
            self.jobs.cancel()
            self._show(None)
            return
        where = locate_test_set(predictor, self.settings.values.datasets_folder)
        if isinstance(where, str):
            self._asked = None
            self._show(None, f"What it responds to needs the test set. {where}")
            return
        dataset, folder, self.title = where
        asked = (predictor.digest, folder, layer, channel)
        if asked == self._asked:
            return
        self._asked = asked
        self.most_title.set_text(f"Finding the {self.title} test images map {channel} responds to…")
        self.least_title.set_text("")
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.jobs.submit(responses_job, predictor, folder, dataset, self.sets, layer, channel, SHOWN,
                         on_done=self._ready, on_error=self._failed, on_progress=self._progress)

    def _progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    def _failed(self, error: BaseException) -> None:
        self._asked = None
        self._show(None, f"What it responds to cannot be found: {error}")

    def _ready(self, result) -> None:
        if result is not None:
            self._show(*result)

    def _name(self, i: int) -> str:
        names = self.test.classes or (self.predictor.classes if self.predictor is not None else [])
        label = int(self.test.labels[i])
        return names[label] if label < len(names) else str(label)

    def _show(self, top: TopImages | None, test=None) -> None:
        self.progress.setVisible(False)
        if top is None:
            self.top = None
            self.most_title.set_text(test if isinstance(test, str) else "")
            self.least_title.set_text("")
            self.most.clear()
            self.least.clear()
            return
        self.top, self.test = top, test

        def items(indices, values, units, patches):
            # An image that leaves the map at 0 has no strongest unit: nothing to outline.
            return [(int(i), test.image(int(i)),
                     f"Test image {int(i):,}: {self._name(int(i))}\n" +
                     (f"strongest unit ({r}, {c}) = {v:.3g}; outlined: the part of the image it sees" if v > 0 else
                      "no unit of this map responds (all 0)") + "\nClick to open it.",
                     None if f is None or v <= 0 else f.box)
                    for i, v, (r, c), f in zip(indices, values, units, patches)]
        self.most_title.set_text(f"Map {top.channel} responds most to (outlined: what it sees)",
                                 f"The {self.title} test images whose strongest unit in {top.layer}'s map "
                                 f"{top.channel} is highest, of all {len(test):,}; outlined, the part of each "
                                 "image that unit sees (its receptive field)")
        self.most.set_images(items(top.indices, top.values, top.units, top.patches))
        silent = f" ({top.silent:,} of {len(test):,} leave it at 0)" if top.silent else ""
        self.least_title.set_text(f"and least to{silent}")
        self.least.set_images(items(top.least, top.least_values, top.least_units, top.least_patches))

    def _open(self, i: int) -> None:
        if self.test is not None and 0 <= i < len(self.test):
            self.testChosen.emit(self.test.image(i), f"{self.title} test image {i:,} · {self._name(i)} "
                                                     f"(map {self.top.channel} of {self.top.layer} responds to it)")

    def shutdown(self) -> None:
        self.jobs.shutdown()
