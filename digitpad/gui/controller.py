"""Which model is active. Loads through Predictor, keeps the old one on failure, tells views.

A QObject without widgets: the workbench, and later the training and evaluation tabs,
share one controller and react to its signals. It also holds the library's listing
(``entries``) that the picker and Manage models show: listed at once when code asks
(``refresh_library``), with the models not described within ``LIST_BUDGET_S`` described on a
background thread; a change in the models folder is listed entirely in the background. The
UI thread never reads thousands of model files (a folder of 5,000 froze the window for seconds).
"""
from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QObject, Signal

from digitpad.core.fileio import resolved
from digitpad.core.inference import ModelLoadError, Predictor
from digitpad.core.library import ModelEntry, ModelLibrary

from .threads import background

LIST_BUDGET_S = 0.05   # describing models on the UI thread: at most this, then the rest in the background


class ModelController(QObject):
    modelChanged = Signal(object)     # the new Predictor
    loadFailed = Signal(str)          # a message for the user; the previous model stays
    libraryChanged = Signal()         # ``entries`` changed: models appeared, went or were described

    def __init__(self, library: ModelLibrary | None = None, parent=None):
        super().__init__(parent)
        self.library = library or ModelLibrary()
        self.entries: list[ModelEntry] = []   # the library as last listed
        self.predictor: Predictor | None = None
        self.startup_problems: list[str] = []
        self.load_error = ""   # why the last load() failed
        self._watcher: QFileSystemWatcher | None = None
        self._lister = background("library", self)

    @property
    def settings(self):
        """The app's settings store (``digitpad.core.settings``), shared by every tab."""
        return self.library.settings

    def refresh_library(self, describe_pending: bool = True) -> None:
        """A model file appeared or went away (an export, a fine-tune, a rename): list the library
        now, so the picker shows it at once; what could not be described within the budget is
        described in the background and sent again (``describe_pending`` False: not before
        :meth:`describe_pending` is called; the window's start does so after its first frame)."""
        self._lister.cancel()   # an older background listing must not land after this one
        self.entries = self.library.entries(budget_s=LIST_BUDGET_S)
        self.libraryChanged.emit()
        if describe_pending:
            self.describe_pending()

    def describe_pending(self) -> None:
        """Describe the listed models not described yet, in the background."""
        if any(e.pending for e in self.entries):
            self._list_in_background()

    def _list_in_background(self) -> None:
        def job(task):
            def stop() -> bool:
                time.sleep(0)   # hand the GIL to the UI thread between files (~0.1 ms of work each)
                return task.cancelled
            return self.library.entries(stop=stop)

        self._lister.submit(job, on_done=self._listed)

    def _listed(self, entries: list[ModelEntry]) -> None:
        self.entries = entries
        self.libraryChanged.emit()
        self.describe_pending()   # stopped early: the rest

    def watch_user_models(self) -> None:
        """New exports from the training tab (or a shell) appear in the picker by themselves."""
        folder = self.library.models
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            return
        self._watcher = QFileSystemWatcher([str(folder)], self)
        self._watcher.directoryChanged.connect(lambda _p: self._list_in_background())

    def shutdown(self) -> None:
        if self._watcher is not None:
            self._watcher.blockSignals(True)   # files keep changing while the window closes
        self._lister.shutdown()

    def load(self, path: str | Path) -> bool:
        """Switch to the model at path. On failure emit loadFailed and keep the current model."""
        try:
            predictor = Predictor(path)
        except ModelLoadError as e:
            kept = f" Still using {self.predictor.name}." if self.predictor else ""
            self.load_error = f"Could not open the model: {e}"
            self.loadFailed.emit(self.load_error + kept)
            return False
        self.predictor = predictor
        self.library.remember(predictor.path)
        if not any(e.key == str(resolved(predictor.path)) for e in self.entries):
            self.refresh_library()   # a file opened from elsewhere joins the list
        self.modelChanged.emit(predictor)
        return True

    def load_startup_model(self) -> bool:
        """The last used model, else the shipped one, else any user model; False if none works."""
        for path in self.library.iter_startup_candidates():   # lazily: the first that loads ends the search
            try:
                self.predictor = Predictor(path)
            except ModelLoadError as e:
                self.startup_problems.append(str(e))
                continue
            self.library.remember(self.predictor.path)
            self.modelChanged.emit(self.predictor)
            return True
        return False
