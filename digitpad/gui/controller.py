"""Which model is active. Loads through Predictor, keeps the old one on failure, tells views.

A QObject without widgets: the workbench, and later the training and evaluation tabs,
share one controller and react to its signals. It also holds the library's listing
(``entries``) that the picker and Manage models show: listed at once when code asks
(``refresh_library``), with the models not described within ``LIST_BUDGET_S`` described on a
background thread; a change in the models folder is listed entirely in the background. The
UI thread never reads thousands of model files (a folder of 5,000 froze the window for seconds).

A file from elsewhere (no digitpad metadata) opens at once with its remembered input
convention, or the plain reading; finding its conv layers and scoring its convention
(``core.foreign.prepare``: onnx's import and a few hundred model runs) goes to a worker
thread, and ``modelChanged`` is emitted again when the model has taken the result.
"""
from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QObject, Signal

from digitpad.core import foreign
from digitpad.core.convention import Convention
from digitpad.core.fileio import resolved
from digitpad.core.inference import ModelLoadError, Predictor
from digitpad.core.library import ModelEntry, ModelLibrary

from .second_model import SecondModel
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
        self.prepare_error = ""   # why a file from elsewhere could not be made inspectable
        self._watcher: QFileSystemWatcher | None = None
        self._preparing = background("foreign-model", self)
        self.second = SecondModel(self)        # the model the active one is compared with (None: not comparing)
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
        self._preparing.shutdown()
        self.second.shutdown()

    def load(self, path: str | Path) -> bool:
        """Switch to the model at path. On failure emit loadFailed and keep the current model."""
        try:
            predictor = Predictor(path, prepare=False)
        except ModelLoadError as e:
            kept = f" Still using {self.predictor.name}." if self.predictor else ""
            self.load_error = f"Could not open the model: {e}"
            self.loadFailed.emit(self.load_error + kept)
            return False
        self._activate(predictor)
        return True

    def _activate(self, predictor: Predictor) -> None:
        self.predictor = predictor
        self.library.remember(predictor.path)
        if not any(e.key == str(resolved(predictor.path)) for e in self.entries):
            self.refresh_library()   # a file opened from elsewhere joins the list
        self.modelChanged.emit(predictor)
        if predictor.foreign_pending:
            self.prepare_error = ""
            self._preparing.submit(foreign.prepare_job, predictor, on_done=lambda setup: self._adopt(predictor, setup),
                                   on_error=lambda e: self._prepare_failed(predictor, e))
        else:
            self._preparing.cancel()

    def _adopt(self, predictor: Predictor, setup: foreign.ForeignSetup) -> None:
        if predictor is self.predictor:   # still the active model
            predictor.adopt(setup)
            self.modelChanged.emit(predictor)

    def _prepare_failed(self, predictor: Predictor, error: BaseException) -> None:
        if predictor is self.predictor:
            predictor.foreign_pending = False
            text = str(error).strip().splitlines()
            self.prepare_error = (f"{predictor.name}: its layers and input convention could not be found "
                                  f"({text[0][:200] if text else type(error).__name__}); it predicts with the "
                                  "plain reading.")
            self.modelChanged.emit(predictor)

    def use_convention(self, chosen: Convention) -> None:
        """The user picked another input convention for the active file from elsewhere."""
        if self.predictor is not None and self.predictor.convention is not None:
            self.predictor.use_convention(chosen)
            self.modelChanged.emit(self.predictor)

    def load_startup_model(self) -> bool:
        """The last used model, else the shipped one, else any user model; False if none works."""
        for path in self.library.iter_startup_candidates():   # lazily: the first that loads ends the search
            try:
                predictor = Predictor(path, prepare=False)
            except ModelLoadError as e:
                self.startup_problems.append(str(e))
                continue
            self._activate(predictor)
            return True
        return False
