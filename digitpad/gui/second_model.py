"""The model the active one is compared with: one for the whole window (the Draw tab's Compare view and
the Evaluate tab show the same), held by the model controller as ``controller.second``.

A QObject without widgets, like the controller: ``load(path)`` opens it (a Predictor of its own, its
own ONNX Runtime session), ``clear()`` forgets it; ``changed`` says so to every view. A file that
cannot be opened leaves the previous choice and says why (``failed``). A file from elsewhere is made
inspectable on a worker thread, as the controller does for the active model; ``changed`` comes again
when it has been.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QComboBox, QFileDialog

from digitpad.core import foreign
from digitpad.core.inference import ModelLoadError, Predictor

from .text import set_item_tip
from .threads import background


class SecondModel(QObject):
    changed = Signal(object)     # the Predictor compared with, or None
    failed = Signal(str)         # why a model could not be opened, for the user

    def __init__(self, parent=None):
        super().__init__(parent)
        self.predictor: Predictor | None = None
        self._preparing = background("second-model", self)

    @property
    def path(self) -> Path | None:
        return self.predictor.path if self.predictor is not None else None

    def load(self, path: str | Path) -> bool:
        """Compare with the model at ``path`` (the same file again: nothing changes)."""
        if self.predictor is not None and Path(path) == self.predictor.path:
            return True
        try:
            predictor = Predictor(path, prepare=False)
        except ModelLoadError as e:
            self.failed.emit(f"Could not open the model to compare with: {e}")
            return False
        self.predictor = predictor
        self.changed.emit(predictor)
        if predictor.foreign_pending:
            self._preparing.submit(foreign.prepare_job, predictor, on_done=lambda setup: self._adopt(predictor, setup),
                                   on_error=lambda _e: self._adopt(predictor, None))
        return True

    def _adopt(self, predictor: Predictor, setup) -> None:
        if predictor is self.predictor:
            if setup is None:
                predictor.foreign_pending = False   # it predicts with the plain reading
            else:
                predictor.adopt(setup)
            self.changed.emit(predictor)

    def clear(self) -> None:
        self._preparing.cancel()
        if self.predictor is not None:
            self.predictor = None
            self.changed.emit(None)

    def shutdown(self) -> None:
        self._preparing.shutdown()


OPEN_FILE = "__open__"


class SecondModelPicker(QComboBox):
    """"(none)", the library's models but the active one, and "Open a file…": the second model, chosen in the
    Draw tab's Compare view or the Evaluate tab (the same ``SecondModel`` behind both). ``controller``: the
    model controller (its ``entries``, its active model, its ``second``)."""

    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self.controller = controller
        self.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(16)
        self.view().setTextElideMode(Qt.ElideMiddle)
        self.activated.connect(self._picked)
        controller.second.changed.connect(lambda _p: self.refresh())
        controller.libraryChanged.connect(self.refresh)
        controller.modelChanged.connect(lambda _p: self.refresh())
        self.refresh()

    def refresh(self) -> None:
        second = self.controller.second
        active = self.controller.predictor.path if self.controller.predictor is not None else None
        self.blockSignals(True)
        self.clear()
        self.addItem("(none)", None)
        for e in self.controller.entries:
            if active is None or e.path != active:
                self.addItem(e.name, str(e.path))
                set_item_tip(self, self.count() - 1, str(e.path))
        if second.path is not None and self.findData(str(second.path)) < 0:
            self.addItem(second.path.stem, str(second.path))
            set_item_tip(self, self.count() - 1, str(second.path))
        self.addItem("Open a file…", OPEN_FILE)
        self.setCurrentIndex(max(0, self.findData(str(second.path))) if second.path is not None else 0)
        self.blockSignals(False)

    def _picked(self, index: int) -> None:
        path = self.itemData(index)
        if path == OPEN_FILE:
            start = str(self.controller.library.models)
            path, _ = QFileDialog.getOpenFileName(self, "Open a model to compare with", start,
                                                  "ONNX models (*.onnx);;All files (*)")
            if not path:
                self.refresh()
                return
        if path is None:
            self.controller.second.clear()
        elif not self.controller.second.load(path):
            self.refresh()
