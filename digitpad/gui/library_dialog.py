"""Manage models: the model library as a table, with Rename and Delete (each model with its run's
files, ``run_actions``), and Remove from list for a file opened from elsewhere (the file is left
where it is). Opened from the model picker's "Manage…"."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from digitpad.core.library import ModelEntry

from . import run_actions
from .model_picker import entry_text
from .text import set_tip
from .widgets import muted, set_enabled

COLUMNS = ["Model", "Network", "Data set", "Test accuracy", "Where"]
SOURCE_WORDS = {"shipped": "shipped with the app", "user": "your models folder", "opened": "opened from {folder}"}


def where(entry: ModelEntry) -> str:
    """Where a model is, in words ("opened from Downloads"; the whole path is in the tooltip)."""
    return SOURCE_WORDS.get(entry.source, entry.source).format(folder=entry.path.parent.name or entry.path.parent)


class LibraryDialog(QDialog):
    """``controller``: the app's ModelController; ``engine_slot``: to know which model an engine uses."""

    def __init__(self, controller, engine_slot=None, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Manage models")
        self.resize(820, 420)
        self.controller = controller
        self.engine_slot = engine_slot
        self.entries: list[ModelEntry] = []
        lay = QVBoxLayout(self)
        lay.addWidget(muted(f"Models in {controller.library.models}. Renaming or deleting a model takes its "
                            f"checkpoint and run logs with it."))
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setTextElideMode(Qt.ElideMiddle)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        # The names take what the other columns leave, cut in the middle; "Where" is read whole (it was
        # squeezed into "open…om …" as the last, stretched column of a narrow dialog).
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.Stretch)
        header.setStretchLastSection(False)
        self.table.itemSelectionChanged.connect(self.update_buttons)
        lay.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.use_button = QPushButton("Make active")
        set_tip(self.use_button, "Use this model in every tab")
        self.use_button.clicked.connect(self._use)
        self.rename_button = QPushButton("Rename…")
        set_tip(self.rename_button, "Give the model (and its run's files) a new name")
        self.rename_button.clicked.connect(self._rename)
        self.delete_button = QPushButton("Delete…")
        set_tip(self.delete_button, "Delete the model and every file of its run (asks first)")
        self.delete_button.clicked.connect(self._delete)
        self.remove_button = QPushButton("Remove from list")
        set_tip(self.remove_button, "Take a model opened from elsewhere off this list; its file stays where it is")
        self.remove_button.clicked.connect(self._remove)
        for b in (self.use_button, self.rename_button, self.delete_button, self.remove_button):
            row.addWidget(b)
        row.addStretch(1)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        row.addWidget(buttons)
        lay.addLayout(row)
        controller.libraryChanged.connect(self.refresh)
        controller.modelChanged.connect(lambda _p: self.refresh())
        controller.refresh_library()   # listed afresh when opened (emits libraryChanged: refresh)

    def refresh(self) -> None:
        chosen = self.selected()
        self.entries = self.controller.entries
        t = self.table
        t.setRowCount(len(self.entries))
        active = self.controller.predictor.path.resolve() if self.controller.predictor else None
        for i, e in enumerate(self.entries):
            meta = e.metadata
            acc = meta.metrics.get("test_accuracy") if meta else None
            name = e.name + ("  (active)" if active is not None and e.path.resolve() == active else "")
            cells = [name, meta.arch if meta else "–", meta.dataset if meta else "–",
                     f"{acc * 100:.2f} %" if isinstance(acc, (int, float)) and acc <= 1 else "–",
                     where(e)]
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                set_tip(item, f"{entry_text(e)}\n{e.path}")
                if j == 3:
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                t.setItem(i, j, item)
        for i, e in enumerate(self.entries):
            if chosen is not None and e.key == chosen.key:
                t.selectRow(i)
        self.update_buttons()

    def selected(self) -> ModelEntry | None:
        rows = {i.row() for i in self.table.selectedIndexes()}
        return self.entries[rows.pop()] if len(rows) == 1 and self.entries else None

    def update_buttons(self) -> None:
        e = self.selected()
        none = "Select a model first."
        if e is None:
            for b in (self.use_button, self.rename_button, self.delete_button, self.remove_button):
                set_enabled(b, False, none)
            return
        active = self.controller.predictor is not None and self.controller.predictor.path.resolve() == e.path.resolve()
        set_enabled(self.use_button, not active, "This is already the active model.")
        why = run_actions.change_blocker(e.path, self.controller, self.engine_slot, deleting=False)
        set_enabled(self.rename_button, why is None, why or "")
        why = run_actions.change_blocker(e.path, self.controller, self.engine_slot, deleting=True)
        set_enabled(self.delete_button, why is None, why or "")
        set_enabled(self.remove_button, e.source == "opened" and not active,
                    "The active model stays on the list: make another one active first." if active else
                    "Only a model opened from elsewhere can be taken off the list (this one is listed from "
                    "where it is: delete it to take it away).")

    def _use(self) -> None:
        e = self.selected()
        if e is not None:
            self.controller.load(e.path)

    def _rename(self) -> None:
        e = self.selected()
        if e is not None and run_actions.change_blocker(e.path, self.controller, self.engine_slot, False) is None:
            run_actions.ask_rename(self, e.path, self.controller)
            self.refresh()

    def _remove(self) -> None:
        e = self.selected()
        if e is not None and e.source == "opened" and self.controller.library.forget(e.path):
            self.controller.refresh_library()

    def _delete(self) -> None:
        e = self.selected()
        if e is not None and run_actions.change_blocker(e.path, self.controller, self.engine_slot, True) is None:
            run_actions.ask_delete(self, e.path, self.controller)
            self.refresh()
