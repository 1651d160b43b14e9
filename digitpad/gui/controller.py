"""Which model is active. Loads through Predictor, keeps the old one on failure, tells views.

A QObject without widgets: the workbench, and later the training and evaluation tabs,
share one controller and react to its signals.

A file from elsewhere (no digitpad metadata) opens at once with its remembered input
convention, or the plain reading; finding its conv layers and scoring its convention
(``core.foreign.prepare``: onnx's import and a few hundred model runs) goes to a worker
thread, and ``modelChanged`` is emitted again when the model has taken the result.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QObject, Signal

from digitpad.core import foreign
from digitpad.core.convention import Convention
from digitpad.core.inference import ModelLoadError, Predictor
from digitpad.core.library import ModelLibrary

from .threads import background


def _prepare(task, predictor: Predictor) -> foreign.ForeignSetup:
    """A background job: what makes a file from elsewhere inspectable (the file read again, checked
    to be the one opened)."""
    return foreign.prepare(predictor, predictor.path.read_bytes())


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
        self.prepare_error = ""   # why a file from elsewhere could not be made inspectable
        self._watcher: QFileSystemWatcher | None = None
        self._preparing = background("foreign-model", self)

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
        self.modelChanged.emit(predictor)
        if predictor.foreign_pending:
            self.prepare_error = ""
            self._preparing.submit(_prepare, predictor, on_done=lambda setup: self._adopt(predictor, setup),
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

    def shutdown(self) -> None:
        self._preparing.shutdown()

    def load_startup_model(self) -> bool:
        """The last used model, else the shipped one, else any user model; False if none works."""
        for path in self.library.startup_candidates():
            try:
                predictor = Predictor(path, prepare=False)
            except ModelLoadError as e:
                self.startup_problems.append(str(e))
                continue
            self._activate(predictor)
            return True
        return False
