"""The Train tab's "Live run" page: status, progress, the outcome, the curves with the first layer's
kernels and maps beside them (live_kernels), and the engine log.

A view: it is handed the RunState to draw and the words to show; the tab decides them.
The pyqtgraph curves are built on first show (pyqtgraph is not imported at app start).
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QSplitter, QVBoxLayout, QWidget

from digitpad.client.state import RunState

from ..text import Html, plain_label
from ..widgets import ResultBox, card, muted, thin_progress_bar

PLOTS_MIN = 280   # px: four charts with their axis labels apart; below this the page scrolls
LOG_MIN = 120     # px: the engine log's title and a few lines
IDLE_TEXT = ("Choose the settings on the left and press Start. The run uses the same engine as "
             "digitpad-train in a shell, in its own process.")


class LiveRunView(QWidget):
    useClicked = Signal()
    evaluateClicked = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 8, 0, 0)
        lay.setSpacing(10)
        head, hl = card(None)
        top = QHBoxLayout()
        self.status_title = plain_label("No run yet", "heading", wrap=True)   # it names the run: plain, wraps
        top.addWidget(self.status_title)
        top.addStretch(1)
        self.device_used = muted("", wrap=False)
        top.addWidget(self.device_used)
        hl.addLayout(top)
        self.progress = thin_progress_bar()
        hl.addWidget(self.progress)
        self.progress_text = muted(IDLE_TEXT)
        # Fixed height: a label whose text changes 10 times a second must not re-lay out the window.
        self.progress_text.setFixedHeight(2 * self.progress_text.fontMetrics().lineSpacing() + 4)
        self.progress_text.setAlignment(Qt.AlignLeft | Qt.AlignTop)
        hl.addWidget(self.progress_text)
        # The outcome: a model to use, a checkpoint to resume or export, or what went wrong.
        self.use_button = QPushButton("Use in the Draw tab")
        self.use_button.clicked.connect(self.useClicked)
        self.eval_button = QPushButton("Evaluate")
        self.eval_button.clicked.connect(self.evaluateClicked)
        self.result = ResultBox([self.use_button, self.eval_button])
        hl.addWidget(self.result)
        lay.addWidget(head)

        split = QSplitter(Qt.Vertical)
        plots, self._plots_layout = card(None)
        self._plots_layout.setContentsMargins(6, 6, 6, 6)
        self._plots_placeholder = muted("Curves appear here when a run starts.")
        self._plots_placeholder.setAlignment(Qt.AlignCenter)
        self._plots_layout.addWidget(self._plots_placeholder)
        split.addWidget(plots)
        plots.setMinimumHeight(PLOTS_MIN)
        logs, ll = card("Engine log")
        self.log = QPlainTextEdit()
        self.log.setObjectName("log")
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(3000)
        self.log.setFont(QFont("monospace", 9))
        ll.addWidget(self.log)
        logs.setMinimumHeight(LOG_MIN)
        split.addWidget(logs)
        split.setChildrenCollapsible(False)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 1)
        split.setSizes([520, 150])
        lay.addWidget(split, 1)
        self.curves = None
        self.kernels = None   # the first layer's kernels and maps, live (built with the curves)

    @property
    def result_text(self) -> QLabel:
        return self.result.label

    def ensure_plots(self) -> None:
        """Build the pyqtgraph curves (imports pyqtgraph: not at app start)."""
        if self.curves is not None:
            return
        from .curves import CurvesView
        from .live_kernels import LiveKernelsView

        self.curves = CurvesView()
        self.kernels = LiveKernelsView()
        self._plots_layout.removeWidget(self._plots_placeholder)
        self._plots_placeholder.deleteLater()
        row = QHBoxLayout()
        row.setSpacing(12)
        row.addWidget(self.curves, 1)
        row.addWidget(self.kernels)
        self._plots_layout.addLayout(row)
        self.kernels.show_snapshot(None, *RunState().snapshot_words())   # what it will show, until a run does
        self.curves.reset_live()

    def begin(self, clear_log: bool = True) -> None:
        """A run (or its resumption) is starting: empty curves, no outcome yet."""
        self.ensure_plots()
        self.curves.reset_live()
        if clear_log:
            self.log.clear()
        self.clear_outcome()

    def clear_outcome(self) -> None:
        """The run goes on (a resume): its progress line again, no outcome."""
        self.result.setVisible(False)
        self.progress_text.setVisible(True)

    def show_state(self, state: RunState) -> None:
        self.progress.setValue(int(state.progress * 1000))
        self.progress_text.setText(state.progress_text())
        if self.curves is not None:
            self.curves.show_live(state)
            self.kernels.show_snapshot(state.snapshot, *state.snapshot_words())

    def show_outcome(self, kind: str, text: Html | str, model_ready: bool) -> None:
        """The run's outcome in place of its progress line (the outcome says it all): the charts keep the
        height they had, rather than being squeezed until their axis labels pile up."""
        self.use_button.setVisible(model_ready)
        self.eval_button.setVisible(model_ready)
        self.progress_text.setVisible(False)
        self.result.show_result(kind, text)
