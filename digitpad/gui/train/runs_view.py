"""The Train tab's "Runs history" page: every run beside the models, its curves, two overlaid.

A view: it is handed the runs (``client.history.list_runs``) and says which the user chose
and what they asked for (use, resume, export as CSV, rename, delete); ``can_resume`` and
``change_blocker`` (set by the tab) say what is possible now and why not.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from digitpad.client.history import RunRecord
from digitpad.client.state import format_duration, plural

from ..text import set_tip
from ..widgets import card, muted, set_enabled

COLUMNS = ["Run", "Status", "Network", "Data", "Epochs", "Accuracy", "Duration", "Created"]
HEADER_TIPS = {5: "Test accuracy at the end of the run", 6: "How long it took (a fine-tune: from the button to "
               "the result)", 4: "Epochs run of epochs asked for"}
NUMERIC_COLUMNS = (4, 5, 6)
RUN_COLUMN = (150, 300)  # px: "digitpad-s-mnist-20261123-151004" whole if there is room; else elided in the middle


def data_words(run: RunRecord) -> str:
    """The data set, and for a fine-tune how many of the user's digits it learnt from."""
    dataset = str(run.config.get("dataset", "?"))
    if run.base_model is None:
        return dataset
    n = run.own_digits
    return f"{dataset} + {n if n is not None else ''} of yours".replace("  ", " ")


def created_words(created: str) -> str:
    """"11-23 15:39": the year is in the tooltip; the run names need the width more."""
    text = created.replace("T", " ")[:16]
    return text[5:] if len(text) == 16 else text


def details(run: RunRecord) -> str:
    c = run.config
    aug = "augmented" if c.get("augment") else "no augmentation"
    limit = c.get("limit")
    epochs = c.get("epochs")
    head = ""
    if run.base_model is not None:
        n = run.own_digits
        mine = plural(n, "of your digits", "of your digits") if n is not None else "your digits"
        head = f"Fine-tune of {run.base_model} on {mine}"
        f = run.finetune
        if "before" in f and "after" in f:
            head += f" (held-out: {f['before'] * 100:.0f} % → {f['after'] * 100:.0f} %)"
        if "seconds" in f and run.seconds is not None:
            head += (f"; {format_duration(f['seconds'])} from the button to the result, "
                     f"{format_duration(run.seconds)} of it training")
        head += ". "
    return (head + f"{c.get('arch')} on {c.get('dataset')} · "
            + (plural(epochs, "epoch") if isinstance(epochs, int) else f"{epochs} epochs")
            + f" · batch {c.get('batch_size')} · lr {c.get('lr')} · {c.get('optimizer')} · {c.get('schedule')} · "
              f"{aug} · seed {c.get('seed')}"
            + (f" · first {limit:,} images" if isinstance(limit, int) else ""))


class RunsHistoryView(QWidget):
    """``set_runs(runs)``; signals ``useRequested(Path)``, ``resumeRequested(RunRecord)``,
    ``refreshRequested()``, ``exportRequested(RunRecord)``, ``renameRequested(RunRecord)``,
    ``deleteRequested(RunRecord)``."""

    useRequested = Signal(Path)
    resumeRequested = Signal(object)
    refreshRequested = Signal()
    exportRequested = Signal(object)
    exportBestRequested = Signal(object)
    renameRequested = Signal(object)
    deleteRequested = Signal(object)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.runs: list[RunRecord] = []
        self.can_resume = lambda run: False
        self.why_not_resume = lambda run: "Only a stopped run can be resumed."
        self.why_not_best = lambda run: "The engine is not available."   # set by the tab: "" when it can
        self.change_blocker = lambda run, deleting: None
        self.curves = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 8, 0, 0)
        split = QSplitter(Qt.Vertical)
        split.setChildrenCollapsible(False)
        top, tl = card(None)
        tl.addWidget(muted("Runs whose models are in the library folder. Select one to see its curves; select "
                           "two (Ctrl+click) to overlay them."))
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        for j, tip in HEADER_TIPS.items():
            set_tip(self.table.horizontalHeaderItem(j), tip)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setTextElideMode(Qt.ElideMiddle)    # names differ at their end: keep both ends
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.Interactive)   # every column can be widened by hand
        header.setStretchLastSection(True)
        self.table.setMinimumHeight(110)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.table.doubleClicked.connect(lambda _i: self._use_selected())
        tl.addWidget(self.table, 1)
        self.details = muted("")
        self.details.setTextInteractionFlags(Qt.TextSelectableByMouse)
        tl.addWidget(self.details)
        row = QHBoxLayout()
        self.resume_button = QPushButton("Resume")
        set_tip(self.resume_button, "Continue this stopped run from its checkpoint")
        self.resume_button.clicked.connect(self._resume_selected)
        self.use_button = QPushButton("Use in the Draw tab")
        set_tip(self.use_button, "Make this run's model the active model")
        self.use_button.clicked.connect(self._use_selected)
        self.export_button = QPushButton("Export CSV…")
        set_tip(self.export_button, "Save this run's epoch records and step curve as a CSV table")
        self.export_button.clicked.connect(lambda: self._emit_one(self.exportRequested))
        self.best_button = QPushButton("Export best epoch")
        set_tip(self.best_button, "Write the epoch with the best test accuracy as a model of its own")
        self.best_button.clicked.connect(lambda: self._emit_one(self.exportBestRequested))
        self.rename_button = QPushButton("Rename…")
        set_tip(self.rename_button, "Rename the run: its model, checkpoint and logs together")
        self.rename_button.clicked.connect(lambda: self._emit_one(self.renameRequested))
        self.delete_button = QPushButton("Delete…")
        set_tip(self.delete_button, "Delete the run's model, checkpoint and logs (asks first)")
        self.delete_button.clicked.connect(lambda: self._emit_one(self.deleteRequested))
        self.refresh_button = QPushButton("Refresh")
        set_tip(self.refresh_button, "Read the models folder again")
        self.refresh_button.clicked.connect(self.refreshRequested)
        for b in (self.resume_button, self.use_button, self.export_button, self.best_button, self.rename_button,
                  self.delete_button):
            row.addWidget(b)
        row.addStretch(1)
        row.addWidget(self.refresh_button)
        tl.addLayout(row)
        split.addWidget(top)
        plots, self._plots_layout = card(None)
        self._plots_layout.setContentsMargins(6, 6, 6, 6)
        split.addWidget(plots)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        lay.addWidget(split, 1)
        self.split = split
        self._sized = False

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._sized:   # the table about half, the plots the rest (the table scrolls)
            self._sized = True
            total = max(sum(self.split.sizes()), 300)
            self.split.setSizes([total * 9 // 20, total - total * 9 // 20])
            self.fit_columns()

    def fit_columns(self) -> None:
        """Every column as wide as its contents, the run names as wide as what is left allows
        (within RUN_COLUMN; they elide in the middle below that). Then they are the user's to drag."""
        t = self.table
        if not self.runs:
            return
        t.resizeColumnsToContents()
        others = sum(t.columnWidth(j) for j in range(1, t.columnCount()))
        room = t.viewport().width() - others - 2
        lo, hi = RUN_COLUMN
        t.setColumnWidth(0, max(lo, min(hi, t.columnWidth(0), room)))

    def ensure_plots(self) -> None:
        if self.curves is None:
            from .curves import CurvesView

            self.curves = CurvesView()
            self._plots_layout.addWidget(self.curves)
            self.curves.set_runs(self.selected_runs())

    def set_runs(self, runs: list[RunRecord]) -> None:
        """Show these runs, keeping the selection (else the newest run is selected)."""
        selected = {r.stem for r in self.selected_runs()}
        first_fill = not self.runs and self.table.rowCount() == 0
        self.runs = list(runs)
        t = self.table
        with QSignalBlocker(t):
            t.setRowCount(len(self.runs))
            for i, r in enumerate(self.runs):
                c, acc = r.config, r.accuracy
                epochs = c.get("epochs", "?")
                cells = [r.stem, r.status, str(c.get("arch", "?")), data_words(r), f"{len(r.history)}/{epochs}",
                         f"{acc * 100:.2f} %" if acc is not None else "–",
                         format_duration(r.duration), created_words(r.created)]
                tips = [f"{r.stem}\n{r.model_path}", "", "", details(r) if r.base_model else "",
                        f"{plural(len(r.history), 'epoch')} run of {epochs}", "",
                        self._duration_tip(r), r.created.replace("T", " ")]
                for j, (text, tip) in enumerate(zip(cells, tips)):
                    item = QTableWidgetItem(text)
                    set_tip(item, tip or text)
                    if j in NUMERIC_COLUMNS:
                        item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                    t.setItem(i, j, item)
            if first_fill and self.isVisible():
                self.fit_columns()
            t.clearSelection()
            for i, r in enumerate(self.runs):
                if r.stem in selected:
                    t.selectRow(i)
            if not t.selectedIndexes() and self.runs:
                t.selectRow(0)
        self._selection_changed()

    @staticmethod
    def _duration_tip(r: RunRecord) -> str:
        if r.finetune.get("seconds") is not None and r.seconds is not None:
            return (f"{format_duration(r.finetune['seconds'])} from the button to the result (as My digits showed); "
                    f"training alone took {format_duration(r.seconds)}")
        return "The engine's training time, from its start to the last epoch"

    def selected_runs(self) -> list[RunRecord]:
        """The selected runs (at most two: the overlay compares a pair)."""
        rows = sorted({i.row() for i in self.table.selectedIndexes()})
        return [self.runs[r] for r in rows if r < len(self.runs)][:2]

    def update_buttons(self) -> None:
        runs = self.selected_runs()
        one = runs[0] if len(runs) == 1 else None
        pick = "Select one run first." if not runs else "Select only one run for this."
        if one is None:
            for b in (self.use_button, self.resume_button, self.export_button, self.best_button, self.rename_button,
                      self.delete_button):
                set_enabled(b, False, pick)
            return
        set_enabled(self.use_button, one.has_model,
                    "This run has no model file yet: resume it, or export its checkpoint from the form.")
        set_enabled(self.resume_button, self.can_resume(one), self.why_not_resume(one))
        set_enabled(self.export_button, bool(one.history or one.steps), "This run has no records yet.")
        why = self.why_not_best(one)
        set_enabled(self.best_button, not why, why)
        why = self.change_blocker(one, False)
        set_enabled(self.rename_button, why is None, why or "")
        why = self.change_blocker(one, True)
        set_enabled(self.delete_button, why is None, why or "")

    def _selection_changed(self) -> None:
        runs = self.selected_runs()
        self.update_buttons()
        if len(runs) == 1:
            self.details.setText(details(runs[0]))
        elif len(runs) == 2:
            self.details.setText("Two runs overlaid: the legend above the plots names their colours.")
        else:
            self.details.setText("No runs yet." if not self.runs else "")
        if self.curves is not None:
            self.curves.set_runs(runs)

    def _emit_one(self, signal) -> None:
        runs = self.selected_runs()
        if len(runs) == 1:
            signal.emit(runs[0])

    def _use_selected(self) -> None:
        runs = self.selected_runs()
        if len(runs) == 1 and runs[0].has_model:
            self.useRequested.emit(runs[0].model_path)

    def _resume_selected(self) -> None:
        runs = self.selected_runs()
        if len(runs) == 1 and self.can_resume(runs[0]):
            self.resumeRequested.emit(runs[0])
