"""The model's test images as a strip to pick from (the image bench of a model that takes pictures).

Pages of ``PAGE`` images come from ``digitpad.core.image_strip.strip_page`` on a worker thread (the
app's one pattern, ``threads.background``): the first read of a folder of pictures decodes 10,000
files (~3 s here; cached after that), and the strip says so, with progress, meanwhile. Each image
is labelled with its class; those the active model gets wrong are framed and named in red, its
answer in the tooltip. "More" appends the next page; the class box shows one class only. When the
set is nowhere, a line says where it looked and "Folder…" picks the data folder every tab shares.

The view only renders: the canonical images come made by the model's input adapter, and what is
shown of them by ``predictor.input.to_display``.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from digitpad.core.evaluation import TestSetError, TestSets
from digitpad.core.image_strip import StripPage, TestSetChoice, choose_test_set, describe, strip_page

from .. import style
from ..images import thumbnail
from ..text import set_tip
from ..threads import background
from ..widgets import muted, set_enabled, thin_progress_bar

PAGE = 50            # images per page: ten rows, a screenful at 1920x1080, two at 1280x720
ALL = -1             # the class box's "All classes"


class _Thumbnails(QListWidget):
    """The strip's list. Given the keyboard focus with no image chosen (the window opening on a photo
    model, a Tab), Qt would make the first image current, and so show it; here the first arrow key does."""

    def focusInEvent(self, event) -> None:
        if self.currentRow() < 0:
            QAbstractScrollArea.focusInEvent(self, event)
        else:
            super().focusInEvent(event)


class TestStrip(QWidget):
    """``chosen(image, caption)``: a test image was picked (canonical [C, S, S]). ``settings``: the
    app's SettingsStore (``datasets_folder`` is read and, through "Folder…", written)."""

    chosen = Signal(object, str)

    def __init__(self, settings, parent=None):
        super().__init__(parent)
        self.settings = settings
        self.predictor = None
        self.choice: TestSetChoice | None = None
        self.folder = None
        self.page: StripPage | None = None            # the last page read (its header facts)
        self.entries: list[tuple[int, np.ndarray, int, str]] = []   # per item: index, image, label, caption
        self.jobs = background("test images", self)
        self.test_sets = TestSets()
        self._replace = True
        self._keep_row = -1          # the row to keep chosen when the same pages come back for another model
        self._message = ""           # the line shown instead of the strip ("" : the strip is shown)
        self._build()

    # -- layout ----------------------------------------------------------------------------------
    def _build(self) -> None:
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(6)
        self.title = muted("", wrap=False)            # plain text (gui.text): it names the set's folder
        self.title.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Fixed)   # elided by its width, never wider
        col.addWidget(self.title)
        self.state = muted("")                        # it names folders
        self.state.setTextInteractionFlags(Qt.TextSelectableByMouse)
        col.addWidget(self.state)
        self.progress = thin_progress_bar(6)
        col.addWidget(self.progress)
        self.list = _Thumbnails()
        self.list.setViewMode(QListWidget.IconMode)
        self.list.setMovement(QListWidget.Static)
        self.list.setResizeMode(QListWidget.Adjust)
        self.list.setUniformItemSizes(True)
        self.list.setWordWrap(False)
        self.list.setTextElideMode(Qt.ElideRight)
        self.list.setSpacing(2)
        self.list.setStyleSheet("QListWidget { border: none; }")
        self.list.setDragEnabled(False)     # icon mode drags items by default; a picture dropped here opens
        self.list.setAcceptDrops(False)
        self.list.currentItemChanged.connect(self._current_changed)
        # The scroll bar always there: a bar that comes and goes changes the width, so the number of
        # columns, so the rows, so whether the bar is needed (the strip flipped between 4 and 5 columns).
        self.list.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOn)
        self.list.viewport().installEventFilter(self)
        col.addWidget(self.list, 1)
        foot = QHBoxLayout()
        foot.setSpacing(6)
        self.classes = QComboBox()
        self.classes.setMinimumWidth(110)
        set_tip(self.classes, "Show the test images of one class")
        self.classes.currentIndexChanged.connect(lambda _i: self._load(0, replace=True))
        foot.addWidget(self.classes)
        self.count = muted("", wrap=False)
        foot.addWidget(self.count)
        foot.addStretch(1)
        self.more = QPushButton("More")
        set_tip(self.more, f"The next {PAGE} test images")
        self.more.clicked.connect(lambda: self._load(len(self.entries), replace=False))
        foot.addWidget(self.more)
        self.folder_button = QPushButton("Folder…")
        set_tip(self.folder_button, "Choose the data folder that holds the test set (shared with the other tabs)")
        self.folder_button.clicked.connect(self._choose_folder)
        foot.addWidget(self.folder_button)
        col.addLayout(foot)
        self._set_state("")

    def _set_state(self, text: str, busy: bool = False) -> None:
        """A line instead of the strip (reading, not found, no such set); "" shows the strip."""
        self._message = text
        self.state.setText(text)
        self.state.setVisible(bool(text))
        self.progress.setVisible(busy)
        if busy:
            self.progress.setRange(0, 0)   # until the first progress report: a busy bar
        self.list.setVisible(not text)
        self._update_controls()

    def _update_controls(self) -> None:
        loaded = self.page is not None and not self._message
        more = loaded and len(self.entries) < self.page.matching
        set_enabled(self.more, more and not self.jobs.busy(),
                    "Every test image is shown." if loaded else "No test set is shown.")
        self.classes.setEnabled(loaded)
        self.count.setText(f"{len(self.entries):,} of {self.page.matching:,}" if loaded else "")

    # -- model and data --------------------------------------------------------------------------
    def set_predictor(self, predictor) -> None:
        """The active model (one that takes pictures): its test set, read if it is another."""
        self.predictor = predictor
        self.choice = None if predictor is None else choose_test_set(predictor, self.settings.values.datasets_folder)
        if self.choice is None:
            self._clear()
            if predictor is not None:
                c, s, _ = predictor.input_shape
                self._set_state(f"No test set of {s}×{s} {'colour' if c == 3 else 'grey'} images comes with "
                                "digitpad: open pictures of your own.")
            return
        folder = self.choice.find()
        same = (self.page is not None and folder == self.folder and self.page.dataset == self.choice.dataset)
        self.folder = folder
        if folder is None:
            self._clear()
            self._set_state(self.choice.not_found() + " Choose the folder that holds it with “Folder…”.")
            return
        if same:   # another model on the same images: the same pages, its own answers
            self._keep_row = self.list.currentRow()
            self._load(0, replace=True, count=max(PAGE, len(self.entries)))
        else:
            self._clear()
            self._load(0, replace=True)

    def _clear(self) -> None:
        self.jobs.cancel()
        self.page = None
        self.entries = []
        self.list.clear()
        self.classes.blockSignals(True)
        self.classes.clear()
        self.classes.blockSignals(False)

    def _choose_folder(self) -> None:
        start = str(self.folder or self.settings.values.datasets_folder or "")
        title = f"Folder that holds the {self.choice.title} test set" if self.choice else "Data folder"
        path = QFileDialog.getExistingDirectory(self, title, start)
        if path:
            self.use_folder(path)

    def use_folder(self, path: str) -> None:
        """Make ``path`` the data folder every tab shares, and read the test set from it."""
        self.settings.update(datasets_folder=str(path))
        self.set_predictor(self.predictor)

    def _label(self) -> int | None:
        k = self.classes.currentData()
        return None if k is None or k == ALL else int(k)

    def _load(self, start: int, replace: bool, count: int | None = None) -> None:
        if self.predictor is None or self.choice is None or self.folder is None:
            return
        count = count or PAGE
        if self.page is None:
            self._set_state(f"Reading the {self.choice.title} test set…", busy=True)
        self._replace = replace
        self.jobs.submit(strip_page, self.predictor, self.folder, self.choice.dataset, self.test_sets, start, count,
                         self._label(), on_done=self._page_ready, on_error=self._failed, on_progress=self._progress)
        self._update_controls()

    def _progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.state.setText(f"Reading the {self.choice.title} test set… {done:,} of {total:,} pictures "
                           "(decoded once, then cached)")

    def _failed(self, error: BaseException) -> None:
        message = str(error) if isinstance(error, TestSetError) else f"{type(error).__name__}: {error}"
        self._clear()
        self._set_state(f"The test images cannot be shown: {message}")

    # -- showing ---------------------------------------------------------------------------------
    def _page_ready(self, page: StripPage | None) -> None:
        if page is None:
            return
        first = self.page is None
        self.page = page
        if first:
            self._fill_classes(page.label_names)
        self._set_state("")
        self.title.setText(f"{self.choice.title} test set · framed red: the model is wrong")
        set_tip(self.title, f"{describe(page)}, from {page.folder}")
        keep = self.list.currentRow() if not self._replace else self._keep_row
        self._keep_row = -1
        self.list.blockSignals(True)
        if self._replace:
            self.list.clear()
            self.entries = []
        self._fit_grid()
        side = self.thumb_side()
        adapter, classes = self.predictor.input, self.predictor.classes
        for i, index in enumerate(page.indices):
            label, guess = int(page.labels[i]), int(page.predicted[i])
            name = page.label_names[label] if label < len(page.label_names) else str(label)
            said = classes[guess] if guess < len(classes) else str(guess)
            wrong = guess != label
            item = QListWidgetItem(self._icon(adapter.to_display(page.images[i]), side, wrong), name)
            set_tip(item, f"Test image {index:,}: {name}\nThe model says {said} ({page.probs[i, guess] * 100:.1f} %)")
            if wrong:
                item.setForeground(QColor(style.ERROR_TEXT))
            self.list.addItem(item)
            caption = f"{self.choice.title} test image {index:,} · {name}"
            self.entries.append((int(index), page.images[i], label, caption))
        if keep >= 0:
            self.list.setCurrentRow(keep)
        self.list.blockSignals(False)
        self._update_controls()

    def _fit_grid(self) -> None:
        """Whole columns across the strip's width, each as wide as it can be (longer class names fit)."""
        side = self.thumb_side()
        self.list.setIconSize(QSize(side, side))
        width = self.list.viewport().width()
        cols = max(1, width // (side + 10))
        grid = QSize(max(side + 10, width // cols), side + self.fontMetrics().height() + 12)
        if grid != self.list.gridSize():
            self.list.setGridSize(grid)

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Resize and obj is self.list.viewport():
            self._fit_grid()   # the viewport's width is final only here
        return False

    def thumb_side(self) -> int:
        """Two screen pixels per image pixel (crisp), 56 to 64 px."""
        s = self.predictor.input_size if self.predictor is not None else 32
        return max(56, min(64, 2 * s)) if s <= 32 else 64

    @staticmethod
    def _icon(shown: np.ndarray, side: int, wrong: bool):
        pix = thumbnail(shown, side)
        if wrong:
            p = QPainter(pix)
            p.setPen(QPen(QColor(style.MISTAKE_HIGH), 4))
            p.drawRect(pix.rect().adjusted(1, 1, -2, -2))
            p.end()
        return pix

    def _fill_classes(self, names: list[str]) -> None:
        self.classes.blockSignals(True)
        self.classes.clear()
        self.classes.addItem("All classes", ALL)
        for k, name in enumerate(names):
            self.classes.addItem(name, k)
        self.classes.blockSignals(False)

    def _current_changed(self, item, _previous) -> None:
        row = self.list.row(item) if item is not None else -1
        if 0 <= row < len(self.entries):
            _index, image, _label, caption = self.entries[row]
            self.chosen.emit(image, caption)

    def choose(self, row: int) -> None:
        """Pick the row-th image shown (as a click does)."""
        self.list.setCurrentRow(row)

    def forget_choice(self) -> None:
        """Another source is shown now: no image is marked chosen, and clicking any shows it again."""
        self.list.blockSignals(True)
        self.list.setCurrentRow(-1)
        self.list.clearSelection()
        self.list.blockSignals(False)

    def shutdown(self) -> None:
        self.jobs.shutdown()
