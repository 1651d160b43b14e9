"""The Train tab: set up a run, watch it learn, use the model; and the runs history."""
from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QAbstractItemView, QButtonGroup, QCheckBox, QComboBox, QDoubleSpinBox,
                               QFileDialog, QFormLayout, QFrame, QHBoxLayout, QHeaderView, QLabel,
                               QLineEdit, QMessageBox, QPlainTextEdit, QProgressBar, QPushButton,
                               QRadioButton, QScrollArea, QSpinBox, QSplitter,
                               QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from digitpad.client import runs as model
from digitpad.client.runs import (DATASETS, DEVICES, KNOWN_ARCHS, OPTIMIZERS, SCHEDULES, ArchInfo, RunSettings, RunState,
                    format_duration, format_params, list_runs)
from digitpad.core.paths import models_dir

from ..engine import ArchLister, DeviceProbe, TrainingRunner
from ..widgets import card

SETTINGS_KEY = "training_form"
REDRAW_MS = 100          # plots and progress redraw at most 10 times a second
DEVICE_TEXT = {"auto": "Auto (GPU if available)", "cpu": "CPU", "cuda": "CUDA GPU"}


def _muted(text: str = "", wrap: bool = True) -> QLabel:
    label = QLabel(text)
    label.setObjectName("muted")
    label.setWordWrap(wrap)
    return label


class TrainingTab(QWidget):
    """Needs the app's ModelController (for the library folder and to switch models).

    ``useModel(Path)``: the user wants this model active in the drawing tab.
    ``evaluateModel(Path)``: ... and judged in the evaluation view.
    """

    useModel = Signal(Path)
    evaluateModel = Signal(Path)
    runFinished = Signal(str)       # completed | stopped | failed | cancelled (also after an export)

    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self.setObjectName("workbench")
        self.controller = controller
        self.archs: list[ArchInfo] = list(KNOWN_ARCHS)
        self.runner = TrainingRunner(self)
        self.other_run_busy = None   # a callable, True while My digits fine-tunes (one engine at a time)
        self._base_preset = "default"   # the preset a "custom" form was edited from
        self.runner.logLine.connect(self._log)
        self.runner.statusChanged.connect(self._status_changed)
        self.runner.finished.connect(self._finished)
        self.runner.exported.connect(self._exported)
        self.runner.event.connect(self._event)
        self.curves = None           # the live CurvesView (pyqtgraph), built on first show
        self.history_curves = None
        self._dirty = False
        self._quit_after_stop = None
        self._started_probes = False
        self._redraw = QTimer(self)
        self._redraw.setInterval(REDRAW_MS)
        self._redraw.timeout.connect(self._redraw_now)
        self.device_probe = DeviceProbe(self)
        self.device_probe.ready.connect(self._device_ready)
        self.arch_lister = ArchLister(self)
        self.arch_lister.ready.connect(self._archs_ready)
        self._build()
        self.set_settings(RunSettings.from_dict(self.controller.library.get(SETTINGS_KEY)))
        self.update_buttons()

    # == layout ===================================================================================
    def _build(self) -> None:
        outer = QHBoxLayout(self)
        outer.setContentsMargins(14, 12, 14, 10)
        outer.setSpacing(12)
        outer.addWidget(self._build_form(), 0)
        right = QTabWidget()
        right.setDocumentMode(True)
        self.views = right
        right.addTab(self._build_live(), "Live run")
        right.addTab(self._build_history(), "Runs history")
        right.currentChanged.connect(lambda i: self.refresh_history() if i == 1 else None)
        outer.addWidget(right, 1)

    def _build_form(self) -> QWidget:
        frame, lay = card("Set up a run")
        frame.setFixedWidth(380)
        frame.setStyleSheet("QPushButton:disabled { color: #b4bac6; background: #f6f7f9; }")
        form = QFormLayout()
        form.setHorizontalSpacing(10)
        form.setVerticalSpacing(7)
        form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)

        self.preset = QComboBox()
        for name, text in model.preset_names():
            self.preset.addItem(name, name)
            self.preset.setItemData(self.preset.count() - 1, text, Qt.ToolTipRole)
        self.preset.addItem("custom", "custom")
        self.preset.activated.connect(self._preset_chosen)
        form.addRow("Preset", self.preset)
        self.preset_note = _muted()
        form.addRow("", self.preset_note)

        self.arch = QComboBox()
        self.arch.currentIndexChanged.connect(self._arch_changed)
        form.addRow("Architecture", self.arch)
        self.arch_note = _muted()
        form.addRow("", self.arch_note)
        self.dataset = QComboBox()
        for key, text in DATASETS:
            self.dataset.addItem(text, key)
        form.addRow("Dataset", self.dataset)

        data_box = QWidget()
        dl = QVBoxLayout(data_box)
        dl.setContentsMargins(0, 0, 0, 0)
        dl.setSpacing(4)
        self.source_local = QRadioButton("Local folder with IDX files")
        self.source_download = QRadioButton("Download it")
        self.source_download.setToolTip("torchvision downloads the dataset into the app's data folder (once)")
        group = QButtonGroup(self)
        group.addButton(self.source_local)
        group.addButton(self.source_download)
        dl.addWidget(self.source_local)
        row = QHBoxLayout()
        self.data_dir = QLineEdit()
        self.data_dir.setPlaceholderText("folder with MNIST/raw/*.gz")
        browse = QPushButton("…")
        browse.setStyleSheet("padding: 4px 6px;")
        browse.setFixedWidth(34)
        browse.setToolTip("Choose the folder")
        browse.clicked.connect(self._browse_data)
        row.addWidget(self.data_dir, 1)
        row.addWidget(browse)
        dl.addLayout(row)
        dl.addWidget(self.source_download)
        self.source_local.toggled.connect(self.data_dir.setEnabled)
        form.addRow("Data", data_box)

        self.epochs = QSpinBox()
        self.epochs.setRange(1, 500)
        form.addRow("Epochs", self.epochs)
        self.batch = QSpinBox()
        self.batch.setRange(1, 8192)
        form.addRow("Batch size", self.batch)
        self.lr = QDoubleSpinBox()
        self.lr.setDecimals(5)
        self.lr.setRange(0.00001, 5.0)
        self.lr.setSingleStep(0.0005)
        form.addRow("Learning rate", self.lr)
        self.optimizer = QComboBox()
        for name in OPTIMIZERS:
            self.optimizer.addItem({"adamw": "AdamW", "sgd": "SGD (Nesterov momentum)"}[name], name)
        form.addRow("Optimizer", self.optimizer)
        self.schedule = QComboBox()
        for name in SCHEDULES:
            self.schedule.addItem({"onecycle": "One-cycle", "cosine": "Cosine decay",
                                   "constant": "Constant"}[name], name)
        form.addRow("LR schedule", self.schedule)
        self.augment = QCheckBox("Augment the images")
        self.augment.setToolTip("Random shifts, rotations, scaling and stroke width: slower to learn, "
                                "better on drawn digits")
        form.addRow("", self.augment)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2_147_483_647)
        form.addRow("Seed", self.seed)
        self.device = QComboBox()
        for name in DEVICES:
            self.device.addItem(DEVICE_TEXT[name], name)
        form.addRow("Device", self.device)
        self.device_note = _muted("checking for a CUDA GPU…")
        form.addRow("", self.device_note)
        self._set_cuda_enabled(False, "checking for a CUDA GPU…")
        self.name = QLineEdit()
        self.name.setPlaceholderText("automatic: arch-dataset-date-time")
        form.addRow("Model name", self.name)
        for w in (self.arch, self.dataset, self.epochs, self.batch, self.lr, self.optimizer, self.schedule,
                  self.augment, self.seed):
            sig = getattr(w, "valueChanged", None) or getattr(w, "currentIndexChanged", None) or w.toggled
            sig.connect(self._edited)

        inner = QWidget()
        inner.setLayout(form)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.NoFrame)
        scroll.setWidget(inner)
        inner.setMinimumWidth(0)
        for combo in (self.preset, self.arch, self.dataset, self.optimizer, self.schedule, self.device):
            combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(12)
        self.data_dir.setMinimumWidth(60)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        lay.addWidget(scroll, 1)

        self.problem_label = QLabel("")
        self.problem_label.setObjectName("hint")
        self.problem_label.setWordWrap(True)
        self.problem_label.setVisible(False)
        lay.addWidget(self.problem_label)
        buttons = QHBoxLayout()
        self.start_button = QPushButton("Start")
        self.start_button.setObjectName("primary")
        self.start_button.setStyleSheet("QPushButton { background: #3b6ef5; color: white; border-color: #3b6ef5;"
                                        " font-weight: 600; } QPushButton:disabled { background: #c9cfdb;"
                                        " border-color: #c9cfdb; }")
        self.start_button.clicked.connect(self.start)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop after the current step; the checkpoint is kept")
        self.stop_button.clicked.connect(self.stop)
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Continue the stopped run from its checkpoint")
        self.resume_button.clicked.connect(self.resume)
        for b in (self.start_button, self.stop_button, self.resume_button):
            buttons.addWidget(b)
        lay.addLayout(buttons)
        self.export_button = QPushButton("Export the stopped run's checkpoint")
        self.export_button.setToolTip("Write the partly trained network to the model library as it is now")
        self.export_button.clicked.connect(self.export_checkpoint)
        lay.addWidget(self.export_button)
        return frame

    def _build_live(self) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        lay.setContentsMargins(0, 8, 0, 0)
        lay.setSpacing(10)
        head, hl = card(None)
        top = QHBoxLayout()
        self.status_title = QLabel("No run yet")
        self.status_title.setObjectName("heading")  # style.py QSS
        top.addWidget(self.status_title)
        top.addStretch(1)
        self.device_used = _muted("", wrap=False)
        top.addWidget(self.device_used)
        hl.addLayout(top)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(8)
        self.progress.setStyleSheet("QProgressBar { background: #e2e5ec; border: none; border-radius: 4px; }"
                                    "QProgressBar::chunk { background: #3b6ef5; border-radius: 4px; }")
        hl.addWidget(self.progress)
        self.progress_text = _muted("Choose the settings on the left and press Start. The run uses the same "
                                    "engine as digitpad-train in a shell, in its own process.")
        # Fixed height: a label whose text changes 10 times a second must not re-lay out the window.
        self.progress_text.setFixedHeight(2 * self.progress_text.fontMetrics().lineSpacing() + 4)
        self.progress_text.setAlignment(Qt.AlignLeft | Qt.AlignTop)
        hl.addWidget(self.progress_text)
        # The outcome: a model to use, a checkpoint to resume or export, or what went wrong.
        self.result = QFrame()
        self.result.setObjectName("resultBox")
        rl = QHBoxLayout(self.result)
        rl.setContentsMargins(10, 8, 10, 8)
        self.result_text = QLabel("")
        self.result_text.setWordWrap(True)
        self.result_text.setTextInteractionFlags(Qt.TextSelectableByMouse)
        rl.addWidget(self.result_text, 1)
        self.use_button = QPushButton("Use in drawing tab")
        self.use_button.clicked.connect(lambda: self.runner.state.exported and self.useModel.emit(
            self.runner.state.exported))
        self.eval_button = QPushButton("Evaluate")
        self.eval_button.clicked.connect(lambda: self.runner.state.exported and self.evaluateModel.emit(
            self.runner.state.exported))
        rl.addWidget(self.use_button, 0, Qt.AlignTop)
        rl.addWidget(self.eval_button, 0, Qt.AlignTop)
        self.result.setVisible(False)
        hl.addWidget(self.result)
        lay.addWidget(head)

        split = QSplitter(Qt.Vertical)
        plots, pl = card(None)
        pl.setContentsMargins(6, 6, 6, 6)
        self._plots_layout = pl
        self._plots_placeholder = _muted("Curves appear here when a run starts.")
        self._plots_placeholder.setAlignment(Qt.AlignCenter)
        pl.addWidget(self._plots_placeholder)
        split.addWidget(plots)
        logs, ll = card("Engine log")
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(3000)
        self.log.setFont(QFont("monospace", 9))
        self.log.setStyleSheet("QPlainTextEdit { border: none; background: #fafbfc; }")
        ll.addWidget(self.log)
        split.addWidget(logs)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 1)
        split.setSizes([520, 150])
        lay.addWidget(split, 1)
        return page

    def _build_history(self) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        lay.setContentsMargins(0, 8, 0, 0)
        lay.setSpacing(10)
        top, tl = card(None)
        hint = _muted("Runs whose models are in the library folder. Select one to see its curves; select two "
                      "(Ctrl+click) to overlay them.")
        tl.addWidget(hint)
        self.runs_table = QTableWidget(0, 8)
        self.runs_table.setHorizontalHeaderLabels(["Run", "Status", "Architecture", "Dataset", "Epochs",
                                                   "Test accuracy", "Duration", "Created"])
        self.runs_table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.runs_table.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.runs_table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.runs_table.verticalHeader().setVisible(False)
        self.runs_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.runs_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
        self.runs_table.setMinimumHeight(140)
        self.runs_table.itemSelectionChanged.connect(self._history_selected)
        self.runs_table.doubleClicked.connect(lambda _i: self._use_selected_run())
        tl.addWidget(self.runs_table)
        row = QHBoxLayout()
        self.run_details = _muted("")
        self.run_details.setTextInteractionFlags(Qt.TextSelectableByMouse)
        row.addWidget(self.run_details, 1)
        self.history_use = QPushButton("Use in drawing tab")
        self.history_use.clicked.connect(self._use_selected_run)
        self.history_resume = QPushButton("Resume")
        self.history_resume.setToolTip("Continue this stopped run from its checkpoint")
        self.history_resume.clicked.connect(self.resume_selected_run)
        row.addWidget(self.history_resume, 0, Qt.AlignTop)
        self.history_refresh = QPushButton("Refresh")
        self.history_refresh.clicked.connect(self.refresh_history)
        row.addWidget(self.history_use, 0, Qt.AlignTop)
        row.addWidget(self.history_refresh, 0, Qt.AlignTop)
        tl.addLayout(row)
        lay.addWidget(top)
        plots, pl = card(None)
        pl.setContentsMargins(6, 6, 6, 6)
        self._history_plots_layout = pl
        lay.addWidget(plots, 1)
        self.runs: list = []
        return page

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.ensure_plots()
        self.start_probes()

    def start_probes(self) -> None:
        """Ask the engine (in child processes) for its architectures and about CUDA, once."""
        if not self._started_probes:
            self._started_probes = True
            self.device_probe.start()
            self.arch_lister.start()

    def ensure_plots(self) -> None:
        """Build the pyqtgraph views (imports pyqtgraph: not at app start)."""
        if self.curves is not None:
            return
        from .curves import CurvesView

        self.curves = CurvesView()
        self._plots_layout.removeWidget(self._plots_placeholder)
        self._plots_placeholder.deleteLater()
        self._plots_layout.addWidget(self.curves)
        self.history_curves = CurvesView()
        self._history_plots_layout.addWidget(self.history_curves)
        self.curves.reset_live()
        if self.runner.state.steps or self.runner.state.history:
            self.curves.show_live(self.runner.state)

    # == the form ===================================================================================
    def _fill_archs(self, selected: str) -> None:
        self.arch.blockSignals(True)
        self.arch.clear()
        for a in self.archs:
            self.arch.addItem(f"{a.name}  ·  {format_params(a.params)} params", a.name)
            self.arch.setItemData(self.arch.count() - 1, a.description, Qt.ToolTipRole)
        i = self.arch.findData(selected)
        if i < 0:
            self.arch.addItem(f"{selected}  ·  ? params", selected)
            i = self.arch.count() - 1
        self.arch.setCurrentIndex(i)
        self.arch.blockSignals(False)
        self._arch_changed()

    def _arch_changed(self, *_a) -> None:
        info = next((a for a in self.archs if a.name == self.arch.currentData()), None)
        self.arch_note.setText(f"{info.params:,} parameters: {info.description}" if info else "")

    def _archs_ready(self, archs: list) -> None:
        current = self.arch.currentData()
        self.archs = archs
        self._fill_archs(current)

    def _set_cuda_enabled(self, ok: bool, reason: str) -> None:
        item = self.device.model().item(DEVICES.index("cuda"))
        item.setEnabled(ok)
        item.setToolTip("" if ok else reason)
        if not ok and self.device.currentData() == "cuda":
            self.device.setCurrentIndex(DEVICES.index("auto"))
        self.device_note.setText("CUDA GPU available" if ok else f"CUDA unavailable: {reason}")

    def _device_ready(self, ok: bool, reason: str) -> None:
        self._set_cuda_enabled(ok, reason)
        wanted = getattr(self, "_wanted_device", None)
        if ok and wanted == "cuda":
            self.device.setCurrentIndex(DEVICES.index("cuda"))

    def _browse_data(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Folder with the IDX files", self.data_dir.text())
        if path:
            self.data_dir.setText(path)
            self.source_local.setChecked(True)

    def _preset_chosen(self, _index: int) -> None:
        name = self.preset.currentData()
        if name != "custom":
            self.set_settings(RunSettings.from_preset(name, self.settings()))

    def _edited(self, *_a) -> None:
        if getattr(self, "_filling", False):
            return
        name = self.preset.currentData()
        if name == "custom":
            return
        s = self.settings()
        ref = RunSettings.from_preset(name, s)
        if any(getattr(s, f) != getattr(ref, f) for f in model.PRESET_FIELDS):
            self._base_preset = name
            self.preset.setCurrentIndex(self.preset.findData("custom"))
            self.preset_note.setText(f"Edited from “{name}”; its extra data and weight averaging still apply.")

    def settings(self) -> RunSettings:
        return RunSettings(
            preset=self.preset.currentData() or "custom", base_preset=self._base_preset,
            arch=self.arch.currentData() or "digitpad",
            dataset=self.dataset.currentData(), download=self.source_download.isChecked(),
            data_dir=self.data_dir.text().strip(), epochs=self.epochs.value(), batch_size=self.batch.value(),
            lr=float(self.lr.value()), optimizer=self.optimizer.currentData(), schedule=self.schedule.currentData(),
            augment=self.augment.isChecked(), seed=self.seed.value(), device=self.device.currentData(),
            name=self.name.text().strip(), limit=getattr(self, "_limit", None))

    def set_settings(self, s: RunSettings) -> None:
        self._filling = True
        self._base_preset = s.preset if s.preset in model.PRESETS else s.base_preset
        try:
            i = self.preset.findData(s.preset)
            self.preset.setCurrentIndex(i if i >= 0 else self.preset.findData("custom"))
            self.preset_note.setText(dict(model.preset_names()).get(s.preset, "Your own settings."))
            self._fill_archs(s.arch)
            self.dataset.setCurrentIndex(max(0, self.dataset.findData(s.dataset)))
            self.data_dir.setText(s.data_dir)
            (self.source_download if s.download else self.source_local).setChecked(True)
            self.data_dir.setEnabled(not s.download)
            self.epochs.setValue(s.epochs)
            self.batch.setValue(s.batch_size)
            self.lr.setValue(s.lr)
            self.optimizer.setCurrentIndex(max(0, self.optimizer.findData(s.optimizer)))
            self.schedule.setCurrentIndex(max(0, self.schedule.findData(s.schedule)))
            self.augment.setChecked(s.augment)
            self.seed.setValue(s.seed)
            self._wanted_device = s.device
            i = self.device.findData(s.device)
            if self.device.model().item(i).isEnabled():
                self.device.setCurrentIndex(i)
            self.name.setText(s.name)
            self._limit = s.limit
        finally:
            self._filling = False

    def remember_settings(self) -> None:
        s = self.settings()
        s.name = ""      # a name is for one run, not for the next
        s.limit = None
        self.controller.library.set(SETTINGS_KEY, s.to_dict())

    # == running ==================================================================================
    def _other_busy(self) -> bool:
        return self.other_run_busy is not None and self.other_run_busy()

    def start(self) -> bool:
        if self.runner.is_running():
            return False
        s = self.settings()
        problems = s.problems([a.name for a in self.archs])
        if self._other_busy():
            problems.append("fine-tuning is running in the My digits tab; start when it has finished")
        out = s.out_path(models_dir())
        if not problems and out.exists():
            problems.append(f"a model named {out.stem} already exists; choose another name")
        self.problem_label.setText("Cannot start: " + "; ".join(problems))
        self.problem_label.setVisible(bool(problems))
        if problems:
            return False
        self.remember_settings()
        self.ensure_plots()
        self.curves.reset_live()
        self.log.clear()
        self.result.setVisible(False)
        self.runner.start(s, out)
        self._redraw.start()
        self.update_buttons()
        return True

    def stop(self) -> None:
        self.runner.stop()
        self.update_buttons()

    def resume(self) -> None:
        if self.runner.is_running() or self.runner.state.status != "stopped":
            return
        self.result.setVisible(False)
        self.runner.resume()
        self._redraw.start()
        self.update_buttons()

    def export_checkpoint(self) -> None:
        if self.runner.is_running() or self.runner.state.status != "stopped":
            return
        s = self.settings()
        self.runner.export_checkpoint(None if s.download else (self.runner.state.config.get("data_dir")
                                                              or s.data_dir))
        self.update_buttons()

    def update_buttons(self) -> None:
        running = self.runner.is_running()
        status = self.runner.state.status
        stopped = status == "stopped" and not running
        other = self._other_busy()
        self.start_button.setEnabled(not running and not other)
        self.start_button.setToolTip("Fine-tuning is running in the My digits tab." if other else "")
        self.stop_button.setEnabled(running and self.runner.mode != "export" and status != "stopping")
        self.resume_button.setEnabled(stopped)
        self.export_button.setEnabled(stopped and self.runner.state.exported is None)
        self.export_button.setVisible(stopped)
        for w in (self.preset, self.arch, self.dataset, self.source_local, self.source_download, self.data_dir,
                  self.epochs, self.batch, self.lr, self.optimizer, self.schedule, self.augment, self.seed,
                  self.device, self.name):
            w.setEnabled(not running and (w is not self.data_dir or self.source_local.isChecked()))

    def _log(self, line: str) -> None:
        self.log.appendPlainText(line)

    def _event(self, ev: dict) -> None:
        self._dirty = True
        if ev.get("event") == "start":
            self.device_used.setText(f"{ev.get('device', '')} · {ev.get('params', 0):,} parameters · "
                                     f"{ev.get('n_train', 0):,} training images")

    def _status_changed(self, status: str) -> None:
        words = {"starting": "Starting the engine…", "running": "Training", "stopping": "Stopping after this step…",
                 "exporting": "Exporting the checkpoint…", "completed": "Finished", "stopped": "Stopped",
                 "failed": "Failed", "cancelled": "Cancelled"}
        out = self.runner.state.out
        self.status_title.setText(words.get(status, status) + (f": {out.stem}" if out else ""))
        self._dirty = True
        self.update_buttons()

    def _redraw_now(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        st = self.runner.state
        self.progress.setValue(int(st.progress * 1000))
        self.progress_text.setText(st.progress_text())
        if self.curves is not None:
            self.curves.show_live(st)

    def _exported(self, path: Path) -> None:
        self.controller.libraryChanged.emit()   # the picker lists it at once (the watcher may lag)

    def _finished(self, final: str) -> None:
        self._dirty = True
        self._redraw_now()
        self._redraw.stop()
        st = self.runner.state
        self.result.setVisible(True)
        exported = st.exported is not None and st.exported.is_file()
        self.use_button.setVisible(exported)
        self.eval_button.setVisible(exported)
        if final == "failed":
            self._result_style("error")
            tail = "\n".join(list(st.stderr_tail)[-8:])
            what = "The export failed" if self.runner.mode == "export" else "The training run failed"
            kept = (" The checkpoint is kept: you can resume or export it." if self.runner.mode == "export"
                    else " Nothing was added to the model library.")
            self.result_text.setText(f"<b>{what}:</b> {html.escape(st.error)}.{kept}"
                                     + (f"<pre style='margin:6px 0 0 0'>{html.escape(tail)}</pre>" if tail else ""))
        elif exported:
            self._result_style("ok")
            acc = st.metrics.get("test_accuracy")
            acc_text = f" · test accuracy <b>{acc * 100:.2f} %</b>" if isinstance(acc, (int, float)) else ""
            partial = " (from the stopped run's checkpoint)" if self.runner.mode == "export" else ""
            self.result_text.setText(f"<b>Model ready{partial}:</b> {html.escape(st.exported.name)}{acc_text}"
                                     f" · {format_duration(st.elapsed_s)} of training. It is in the model "
                                     f"library; one click makes it the active model.")
        elif final == "stopped":
            self._result_style("warn")
            where = (f"epoch {st.epoch}/{st.epochs}, step {st.step:,}/{st.total_steps:,}" if st.total_steps
                     else "before the first step")
            self.result_text.setText(f"<b>Stopped</b> at {where}. The checkpoint is kept: <b>Resume</b> continues "
                                     f"the run; <b>Export</b> writes the network as it is now to the library.")
        elif final == "cancelled":
            self._result_style("warn")
            self.result_text.setText("<b>Cancelled</b> before training began. Nothing was written.")
        else:
            self._result_style("warn")
            self.result_text.setText("The run finished but no model file was written.")
        self.update_buttons()
        self.refresh_history()
        self.runFinished.emit(final)
        if self._quit_after_stop is not None:
            window, self._quit_after_stop = self._quit_after_stop, None
            window.close()

    def _result_style(self, kind: str) -> None:
        bg, fg = {"ok": ("#e7f6ec", "#17603a"), "warn": ("#fff6e0", "#7a5200"),
                  "error": ("#fdecec", "#9b1c1c")}[kind]
        self.result.setStyleSheet(f"QFrame#resultBox {{ background: {bg}; border-radius: 6px; }}"
                                  f" QFrame#resultBox QLabel {{ color: {fg}; }}")

    # == runs history =============================================================================
    def refresh_history(self) -> None:
        selected = {r.stem for r in self.selected_runs()}
        self.runs = list_runs(models_dir())
        t = self.runs_table
        t.blockSignals(True)
        t.setRowCount(len(self.runs))
        for i, r in enumerate(self.runs):
            c = r.config
            acc = r.accuracy
            cells = [r.stem, r.status, str(c.get("arch", "?")), str(c.get("dataset", "?")),
                     f"{len(r.history)}/{c.get('epochs', '?')}", f"{acc * 100:.2f} %" if acc is not None else "–",
                     format_duration(r.seconds), r.created.replace("T", " ")[:16]]
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if j in (4, 5, 6):
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                t.setItem(i, j, item)
        t.clearSelection()
        t.blockSignals(False)
        for i, r in enumerate(self.runs):
            if r.stem in selected:
                t.selectRow(i)
        if not selected and self.runs:
            t.selectRow(0)
        self._history_selected()

    def selected_runs(self) -> list:
        rows = sorted({i.row() for i in self.runs_table.selectedIndexes()})
        return [self.runs[r] for r in rows if r < len(self.runs)][:2] if hasattr(self, "runs") else []

    def _history_selected(self) -> None:
        runs = self.selected_runs()
        self.history_use.setEnabled(len(runs) == 1 and runs[0].has_model)
        self.history_resume.setEnabled(len(runs) == 1 and self._resumable(runs[0]))
        if len(runs) == 1:
            c = runs[0].config
            aug = "augmented" if c.get("augment") else "no augmentation"
            self.run_details.setText(
                f"{c.get('arch')} on {c.get('dataset')} · {c.get('epochs')} epochs · batch {c.get('batch_size')} · "
                f"lr {c.get('lr')} · {c.get('optimizer')} · {c.get('schedule')} · {aug} · seed {c.get('seed')}"
                + (f" · first {c['limit']:,} images" if c.get("limit") else ""))
        elif len(runs) == 2:
            self.run_details.setText(f"Comparing {runs[0].stem} (blue) with {runs[1].stem} (orange).")
        else:
            self.run_details.setText("No runs yet." if not self.runs else "")
        if self.history_curves is not None:
            self.history_curves.set_runs([(r.stem, r.curves()) for r in runs])

    def _resumable(self, run) -> bool:
        return (run.status.startswith("stopped") and run.checkpoint_path.is_file()
                and not self.runner.is_running())

    def resume_selected_run(self) -> bool:
        """Continue a stopped run from an earlier session (the window was closed mid-run)."""
        runs = self.selected_runs()
        if len(runs) != 1 or not self._resumable(runs[0]):
            return False
        r = runs[0]
        st = RunState(out=r.model_path, status="stopped", config=dict(r.config), checkpoint=r.checkpoint_path,
                      history=list(r.history), epochs=int(r.config.get("epochs") or 0), started_at=r.created)
        for step, loss, lr in ((s[0], s[1], s[2]) for s in r.steps):
            st.steps.append(int(step))
            st.losses.append(float(loss))
            st.lrs.append(float(lr))
        st.step = st.steps[-1] if st.steps else 0
        self.runner.state = st
        self.ensure_plots()
        self.curves.reset_live()
        self.log.clear()
        self.views.setCurrentIndex(0)
        self.resume()
        return True

    def _use_selected_run(self) -> None:
        runs = self.selected_runs()
        if len(runs) == 1 and runs[0].has_model:
            self.useModel.emit(runs[0].model_path)

    # == closing ==================================================================================
    def ask_stop_on_close(self) -> bool:
        """Overridable (tests): True when the user agrees to stop the run and quit."""
        answer = QMessageBox.question(
            self, "A training run is in progress",
            "Stop the training run and quit?\n\nThe run stops after its current step and keeps its "
            "checkpoint, so you can resume it next time.",
            QMessageBox.Yes | QMessageBox.No, QMessageBox.No)
        return answer == QMessageBox.Yes

    def confirm_close(self, window) -> bool:
        """Called by the main window's closeEvent. True: close now. False: not yet (the run is
        stopping and the window closes by itself when it has, or the user said no)."""
        self.remember_settings()
        if not self.runner.is_running():
            return True
        if self._quit_after_stop is not None:
            return False      # already stopping; the window closes when the engine exits
        if not self.ask_stop_on_close():
            return False
        self._quit_after_stop = window
        if self.runner.mode == "export":
            self.runner.kill()
        else:
            self.runner.stop()
        return False
