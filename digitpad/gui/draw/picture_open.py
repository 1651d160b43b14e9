"""Pictures into the Draw tab: an image file (the Open dialog, a dropped file) or image data (a
dropped picture, the clipboard), for any model.

Reading is ``digitpad.core.picture`` (Pillow: EXIF rotation, alpha, palette, 16-bit; one sentence
when a file is damaged) and making the model's input is the model's own input adapter
(``predictor.input.from_picture``: a photo cropped and resized, a product picture the Fashion-MNIST
way, a photo of a handwritten digit made into ink and then MNIST's preprocessing). Both run on a
worker thread (the app's one pattern: ``threads.background``): a 12-megapixel PNG takes ~0.2 s to
decode, and the window stays live meanwhile; a newer picture supersedes one still being read.

The picture is kept reduced (longer side ``picture.WORK_SIDE``), which every preprocessing reduces
to anyway: it is shown small beside what the network sees, and read again when the model changes.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QMimeData, QObject, QStandardPaths, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QApplication, QFileDialog, QWidget

from digitpad.core import picture
from digitpad.core.model_input import InputAdapter

from ..images import qimage_array
from ..threads import background

FILTER = "Pictures ({});;All files (*)".format(" ".join(f"*{s}" for s in picture.SUFFIXES))


@dataclass
class Opened:
    """A picture read and made into a model's input."""

    name: str                  # what to call it: a file name, "the clipboard", "the dropped picture"
    width: int                 # as stored in the file (after its EXIF rotation)
    height: int
    picture: np.ndarray        # uint8 [h, w, 3], the longer side at most picture.WORK_SIDE
    x: np.ndarray | None       # the canonical image [1, C, S, S]; None: a digit model found no ink
    adapter: InputAdapter      # whose canonical image ``x`` is
    seconds: float = 0.0       # reading and preparing, on the worker

    @property
    def caption(self) -> str:
        return f"{self.name} · {self.width} × {self.height}"


def prepare(task, adapter: InputAdapter, source, name: str) -> Opened:
    """A background job: ``source`` (a path, bytes, or an array from a QImage) read as a picture and made
    into ``adapter``'s canonical image. Raises ``picture.PictureError`` with one sentence."""
    t0 = time.perf_counter()
    if isinstance(source, (str, Path, bytes, bytearray)):
        read = picture.load_picture(source, name)
        rgb, width, height = read.pixels, read.width, read.height
    else:
        rgb = picture.picture_array(source)
        height, width = rgb.shape[:2]
    small = picture.reduced(rgb)
    return Opened(name, width, height, small, adapter.from_picture(small), adapter, time.perf_counter() - t0)


def reread(task, adapter: InputAdapter, opened: Opened) -> Opened:
    """A background job: the same picture made into another model's canonical image."""
    t0 = time.perf_counter()
    return Opened(opened.name, opened.width, opened.height, opened.picture, adapter.from_picture(opened.picture),
                  adapter, time.perf_counter() - t0)


class PictureOpener(QObject):
    """``opened(Opened)`` when a picture is ready, ``failed(message)`` (one sentence) when it cannot be
    read. ``adapter()`` gives the active model's input adapter (None: no model)."""

    opened = Signal(object)
    failed = Signal(str)

    def __init__(self, adapter, parent: QObject | None = None):
        super().__init__(parent)
        self.adapter = adapter
        self.jobs = background("picture", self)
        self.folder = QStandardPaths.writableLocation(QStandardPaths.PicturesLocation) or str(Path.home())
        self.requested_at = 0.0    # perf_counter of the last request (benchmarks: request -> on screen)

    def _submit(self, job, *args) -> bool:
        adapter = self.adapter()
        if adapter is None:
            self.failed.emit("No model is loaded: open a model first.")
            return False
        self.requested_at = time.perf_counter()
        self.jobs.submit(job, adapter, *args, on_done=self.opened.emit, on_error=self._error)
        return True

    def _error(self, error: BaseException) -> None:
        if isinstance(error, picture.PictureError):
            self.failed.emit(str(error))
        else:   # a bug or a model that fails on this picture: one line, the rest of the tab untouched
            first = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
            self.failed.emit(f"The picture could not be used ({type(error).__name__}{': ' + first if first else ''}).")

    # -- sources ------------------------------------------------------------------------------------
    def open_file(self, path: str | Path) -> bool:
        path = Path(path)
        self.folder = str(path.parent)
        return self._submit(prepare, path, path.name)

    def open_image(self, image: QImage, name: str) -> bool:
        """Image data (the clipboard's, a drop's): converted here (a copy of its pixels), read on the worker."""
        if image.isNull():
            self.failed.emit(f"{name[:1].upper()}{name[1:]} holds no picture digitpad can read.")
            return False
        return self._submit(prepare, qimage_array(image), name)

    def reread(self, opened: Opened) -> bool:
        """The picture again, for the model now active."""
        return self._submit(reread, opened)

    def dialog(self, parent: QWidget) -> bool:
        path, _ = QFileDialog.getOpenFileName(parent, "Open an image", self.folder, FILTER)
        return bool(path) and self.open_file(path)

    def paste(self) -> bool:
        """The clipboard's picture, or the first file it names (copied in a file manager)."""
        mime = QApplication.clipboard().mimeData()
        if mime is None or not self.open_mime(mime, "the clipboard"):
            self.failed.emit("The clipboard holds no picture: copy an image, or an image file, first.")
            return False
        return True

    def open_mime(self, mime: QMimeData, name: str) -> bool:
        """A drop's or the clipboard's content: a local file first (the original bytes, EXIF and all),
        else the picture itself. False when it holds neither."""
        local = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()] if mime.hasUrls() else []
        if local:
            return self.open_file(local[0])
        if mime.hasUrls():
            self.failed.emit(f"Only files on this computer can be opened, not {mime.urls()[0].toString()[:120]}.")
            return True
        if mime.hasImage():
            data = mime.imageData()
            image = data if isinstance(data, QImage) else data.toImage() if isinstance(data, QPixmap) else QImage()
            return self.open_image(image, name)
        return False

    @staticmethod
    def can_open(mime: QMimeData | None) -> bool:
        """Whether a drag carries something :meth:`open_mime` takes."""
        return mime is not None and (mime.hasImage() or any(u.isLocalFile() for u in mime.urls()))

    def shutdown(self) -> None:
        self.jobs.shutdown()
