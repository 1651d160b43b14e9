"""The Train tab's "Runs history" page: every run beside the models, its curves, two overlaid.

A view: it is handed the runs (``client.history.list_runs``) and says which the user chose.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from digitpad.client.history import RunRecord
from digitpad.client.state import format_duration

from ..widgets import card, muted

COLUMNS = ["Run", "Status", "Architecture", "Dataset", "Epochs", "Test accuracy", "Duration", "Created"]
NUMERIC_COLUMNS = (4, 5, 6)


def details(run: RunRecord) -> str:
    c = run.config
    aug = "augmented" if c.get("augment") else "no augmentation"
    limit = c.get("limit")
    return (f"{c.get('arch')} on {c.get('dataset')} · {c.get('epochs')} epochs · batch {c.get('batch_size')} · "
            f"lr {c.get('lr')} · {c.get('optimizer')} · {c.get('schedule')} · {aug} · seed {c.get('seed')}"
            + (f" · first {limit:,} images" if isinstance(limit, int) else ""))


class RunsHistoryView(QWidget):
    """``set_runs(runs)``; ``useRequested(Path)``, ``resumeRequested(RunRecord)``, ``refreshRequested()``.
    ``can_resume`` (set by the tab) says whether a run can be resumed now."""

    useRequested = Signal(Path)
    resumeRequested = Signal(object)
    refreshRequested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.runs: list[RunRecord] = []
        self.can_resume = lambda run: False
        self.curves = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 8, 0, 0)
        lay.setSpacing(10)
        top, tl = card(None)
        tl.addWidget(muted("Runs whose models are in the library folder. Select one to see its curves; select "
                           "two (Ctrl+click) to overlay them."))
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
        self.table.setMinimumHeight(140)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.table.doubleClicked.connect(lambda _i: self._use_selected())
        tl.addWidget(self.table)
        row = QHBoxLayout()
        self.details = muted("")
        self.details.setTextInteractionFlags(Qt.TextSelectableByMouse)
        row.addWidget(self.details, 1)
        self.use_button = QPushButton("Use in drawing tab")
        self.use_button.clicked.connect(self._use_selected)
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Continue this stopped run from its checkpoint")
        self.resume_button.clicked.connect(self._resume_selected)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refreshRequested)
        for b in (self.resume_button, self.use_button, self.refresh_button):
            row.addWidget(b, 0, Qt.AlignTop)
        tl.addLayout(row)
        lay.addWidget(top)
        plots, self._plots_layout = card(None)
        self._plots_layout.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(plots, 1)

    def ensure_plots(self) -> None:
        if self.curves is None:
            from .curves import CurvesView

            self.curves = CurvesView()
            self._plots_layout.addWidget(self.curves)

    def set_runs(self, runs: list[RunRecord]) -> None:
        """Show these runs, keeping the selection (else the newest run is selected)."""
        selected = {r.stem for r in self.selected_runs()}
        self.runs = list(runs)
        t = self.table
        with QSignalBlocker(t):
            t.setRowCount(len(self.runs))
            for i, r in enumerate(self.runs):
                c, acc = r.config, r.accuracy
                cells = [r.stem, r.status, str(c.get("arch", "?")), str(c.get("dataset", "?")),
                         f"{len(r.history)}/{c.get('epochs', '?')}", f"{acc * 100:.2f} %" if acc is not None else "–",
                         format_duration(r.seconds), r.created.replace("T", " ")[:16]]
                for j, text in enumerate(cells):
                    item = QTableWidgetItem(text)
                    if j in NUMERIC_COLUMNS:
                        item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                    t.setItem(i, j, item)
            t.clearSelection()
            for i, r in enumerate(self.runs):
                if r.stem in selected:
                    t.selectRow(i)
            if not selected and self.runs:
                t.selectRow(0)
        self._selection_changed()

    def selected_runs(self) -> list[RunRecord]:
        """The selected runs (at most two: the overlay compares a pair)."""
        rows = sorted({i.row() for i in self.table.selectedIndexes()})
        return [self.runs[r] for r in rows if r < len(self.runs)][:2]

    def update_buttons(self) -> None:
        runs = self.selected_runs()
        one = runs[0] if len(runs) == 1 else None
        self.use_button.setEnabled(one is not None and one.has_model)
        self.resume_button.setEnabled(one is not None and self.can_resume(one))

    def _selection_changed(self) -> None:
        runs = self.selected_runs()
        self.update_buttons()
        if len(runs) == 1:
            self.details.setText(details(runs[0]))
        elif len(runs) == 2:
            self.details.setText(f"Comparing {runs[0].stem} (blue) with {runs[1].stem} (orange).")
        else:
            self.details.setText("No runs yet." if not self.runs else "")
        if self.curves is not None:
            self.curves.set_runs([(r.stem, r.curves()) for r in runs])

    def _use_selected(self) -> None:
        runs = self.selected_runs()
        if len(runs) == 1 and runs[0].has_model:
            self.useRequested.emit(runs[0].model_path)

    def _resume_selected(self) -> None:
        runs = self.selected_runs()
        if len(runs) == 1 and self.can_resume(runs[0]):
            self.resumeRequested.emit(runs[0])
