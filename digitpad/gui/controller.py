"""Which model is active. Loads through Predictor, keeps the old one on failure, tells views.

A QObject without widgets: the workbench, and later the training and evaluation tabs,
share one controller and react to its signals.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QObject, Signal

from digitpad.core.inference import ModelLoadError, Predictor
from digitpad.core.library import ModelLibrary


class ModelController(QObject):
    modelChanged = Signal(object)     # the new Predictor
    loadFailed = Signal(str)          # a message for the user; the previous model stays
    libraryChanged = Signal()         # models appeared or disappeared

    def __init__(self, library: ModelLibrary | None = None, parent=None):
        super().__init__(parent)
        self.library = library or ModelLibrary()
        self.predictor: Predictor | None = None
        self.startup_problems: list[str] = []
        self.load_error = ""   # why the last load() failed
        self._watcher: QFileSystemWatcher | None = None

    @property
    def settings(self):
        """The app's settings store (``digitpad.core.settings``), shared by every tab."""
        return self.library.settings

    def refresh_library(self) -> None:
        """A model file appeared or went away (an export, a fine-tune): the picker lists it at once,
        without waiting for the folder watcher."""
        self.libraryChanged.emit()

    def watch_user_models(self) -> None:
        """New exports from the training tab (or a shell) appear in the picker by themselves."""
        folder = self.library.models
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            return
        self._watcher = QFileSystemWatcher([str(folder)], self)
        self._watcher.directoryChanged.connect(lambda _p: self.libraryChanged.emit())

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
        self.modelChanged.emit(predictor)
        return True

    def load_startup_model(self) -> bool:
        """The last used model, else the shipped one, else any user model; False if none works."""
        for path in self.library.startup_candidates():
            try:
                self.predictor = Predictor(path)
            except ModelLoadError as e:
                self.startup_problems.append(str(e))
                continue
            self.library.remember(self.predictor.path)
            self.modelChanged.emit(self.predictor)
            return True
        return False
