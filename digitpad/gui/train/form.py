"""The Train tab's "Set up a run" card: one control per engine flag, starting from a preset.

A view: it shows a ``RunSettings`` and gives one back; what a run is and whether it may
start are the engine client's (``digitpad.client``) and the tab's business.
"""
from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from digitpad.client.estimate import estimate, run_config, samples_per_epoch
from digitpad.client.run_settings import (
    DATASETS,
    DEVICES,
    ENGINES,
    KNOWN_ARCHS,
    NUMPY_SCHEDULES,
    OPTIMIZERS,
    PRESET_FIELDS,
    PRESETS,
    RANGES,
    SCHEDULES,
    ArchInfo,
    RunSettings,
    format_params,
    preset_extras,
    preset_names,
)
from digitpad.client.state import format_duration, plural

from ..text import plain_label, set_item_tip, set_tip
from ..widgets import Card, muted, set_enabled
from . import presets

ENGINE_TEXT = {"torch": "PyTorch", "numpy": "NumPy, written from scratch"}
ENGINE_NOTE = {"torch": "",
               "numpy": "From-scratch NumPy engine: plain SGD on the CPU, no augmentation, seed004 only."}
DEVICE_TEXT = {"auto": "Auto (GPU if available)", "cpu": "CPU", "cuda": "CUDA GPU"}
OPTIMIZER_TEXT = {"adamw": "AdamW", "sgd": "SGD (Nesterov momentum)"}
SCHEDULE_TEXT = {"onecycle": "One-cycle", "cosine": "Cosine decay", "constant": "Constant"}


class _Rows(QGridLayout):
    """A label column and a field column, like QFormLayout, but a grid: QFormLayout gave
    word-wrapped notes in a scroll area too little height at 1280x720, cutting their first
    and last lines. (And its ``addRow(str, ...)`` makes an AutoText label: ``add_row``'s are plain.)"""

    def __init__(self):
        super().__init__()
        self.setHorizontalSpacing(10)
        self.setVerticalSpacing(7)
        self.setColumnStretch(1, 1)

    def add_row(self, label, field: QWidget) -> None:
        row = self.rowCount()
        if label:
            tall = field.sizeHint().height() > 40     # a group of controls: its label at the top
            align = Qt.AlignLeft | (Qt.AlignTop if tall else Qt.AlignVCenter)
            self.addWidget(plain_label(label) if isinstance(label, str) else label, row, 0, align)
        self.addWidget(field, row, 1)


class RunForm(Card):
    """``settings()`` / ``set_settings(s)``; the Start, Stop, Resume and Export buttons are
    public for the tab to connect and enable."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Set up a run", parent)
        lay = self.body
        self.setFixedWidth(380)
        self.archs: list[ArchInfo] = list(KNOWN_ARCHS)
        self.base_preset = "default"        # the preset a "custom" form was edited from
        self.wanted_device = "auto"         # remembered choice, applied once CUDA is known to work
        self.limit: int | None = None       # not in the form: tests and quick trials set it
        self._filling = False

        form = _Rows()
        self.history: list = []              # past runs (client.history.RunRecord): the time estimate
        self.preset = QComboBox()
        for name, _text in preset_names():
            self.preset.addItem(presets.item_text(name), name)
            set_item_tip(self.preset, self.preset.count() - 1, presets.note(name))
        self.preset.addItem("Custom (your own settings)", "custom")
        self.preset.activated.connect(self._preset_chosen)
        form.add_row("Preset", self.preset)
        self.preset_note = muted()
        form.add_row("", self.preset_note)
        self.estimate_note = muted()
        form.add_row("", self.estimate_note)
        self.engine = QComboBox()
        for name in ENGINES:
            self.engine.addItem(ENGINE_TEXT.get(name, name), name)
        set_tip(self.engine, "Which engine trains: PyTorch, or the NumPy one written from scratch")
        self.engine.currentIndexChanged.connect(self._engine_changed)
        form.add_row("Engine", self.engine)
        self.engine_note = muted()
        form.add_row("", self.engine_note)
        self.arch = QComboBox()
        self.arch.currentIndexChanged.connect(self._arch_changed)
        form.add_row("Architecture", self.arch)
        self.arch_note = muted()
        form.add_row("", self.arch_note)
        self.dataset = QComboBox()
        for key, text in DATASETS:
            self.dataset.addItem(text, key)
        form.add_row("Dataset", self.dataset)
        # What this engine, arch and data set cannot do together: said while editing, not only at Start.
        self.fit_note = plain_label("", "hint", wrap=True)
        self.fit_note.setVisible(False)
        form.add_row("", self.fit_note)
        form.add_row("Data", self._data_source())
        self.epochs = QSpinBox()
        self.epochs.setRange(*RANGES["epochs"])
        form.add_row("Epochs", self.epochs)
        self.batch = QSpinBox()
        self.batch.setRange(*RANGES["batch_size"])
        form.add_row("Batch size", self.batch)
        self.lr = QDoubleSpinBox()
        self.lr.setDecimals(5)
        self.lr.setRange(*RANGES["lr"])
        self.lr.setSingleStep(0.0005)
        form.add_row("Learning rate", self.lr)
        self.optimizer = QComboBox()
        for name in OPTIMIZERS:
            self.optimizer.addItem(OPTIMIZER_TEXT[name], name)
        form.add_row("Optimizer", self.optimizer)
        self.schedule = QComboBox()
        for name in SCHEDULES:
            self.schedule.addItem(SCHEDULE_TEXT[name], name)
        form.add_row("LR schedule", self.schedule)
        self.augment = QCheckBox("Augment the images")
        set_tip(self.augment, "Random shifts, rotations, scaling and stroke width: slower to learn, "
                              "better on drawn digits")
        form.add_row("", self.augment)
        self.seed = QSpinBox()
        self.seed.setRange(*RANGES["seed"])
        form.add_row("Seed", self.seed)
        self.device = QComboBox()
        for name in DEVICES:
            self.device.addItem(DEVICE_TEXT[name], name)
        form.add_row("Device", self.device)
        self.device_note = muted()
        form.add_row("", self.device_note)
        self.set_cuda(False, "checking for a CUDA GPU…")
        self.name = QLineEdit()
        self.name.setPlaceholderText("automatic: arch-dataset-date-time")
        form.add_row("Model name", self.name)
        form.setRowStretch(form.rowCount(), 1)   # spare height below the last row, not between the notes
        for w in (self.engine, self.arch, self.dataset, self.epochs, self.batch, self.lr, self.optimizer, self.schedule,
                  self.augment, self.seed):
            sig = getattr(w, "valueChanged", None) or getattr(w, "currentIndexChanged", None) or w.toggled
            sig.connect(self._edited)
        for combo in (self.preset, self.engine, self.arch, self.dataset, self.optimizer, self.schedule, self.device):
            combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(12)

        inner = QWidget()
        inner.setLayout(form)
        form.setContentsMargins(0, 0, 6, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        scroll.setWidget(inner)
        lay.addWidget(scroll, 1)

        self.problem_label = plain_label("", "hint", wrap=True)   # problems quote the name typed: plain text
        self.problem_label.setVisible(False)
        lay.addWidget(self.problem_label)
        buttons = QHBoxLayout()
        self.start_button = QPushButton("Start")
        self.start_button.setObjectName("primary")
        self.stop_button = QPushButton("Stop")
        set_tip(self.stop_button, "Stop after the current step; the checkpoint is kept")
        self.resume_button = QPushButton("Resume")
        set_tip(self.resume_button, "Continue the stopped run from its checkpoint")
        for b in (self.start_button, self.stop_button, self.resume_button):
            buttons.addWidget(b)
        lay.addLayout(buttons)
        self.export_button = QPushButton("Export the stopped run's checkpoint")
        set_tip(self.export_button, "Write the partly trained network to the model library as it is now")
        lay.addWidget(self.export_button)
        self.editable_widgets = (self.preset, self.engine, self.arch, self.dataset, self.source_local,
                                 self.source_download, self.data_dir, self.browse, self.epochs, self.batch, self.lr,
                                 self.optimizer,
                                 self.schedule, self.augment, self.seed, self.device, self.name)

    def _data_source(self) -> QWidget:
        box = QWidget()
        col = QVBoxLayout(box)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(4)
        self.source_local = QRadioButton("Local folder with IDX files")
        self.source_download = QRadioButton("Download it")
        set_tip(self.source_download, "torchvision downloads the dataset into the app's data folder (once)")
        group = QButtonGroup(self)
        group.addButton(self.source_local)
        group.addButton(self.source_download)
        col.addWidget(self.source_local)
        row = QHBoxLayout()
        self.data_dir = QLineEdit()
        self.data_dir.setPlaceholderText("folder with MNIST/raw/*.gz")
        self.data_dir.setMinimumWidth(60)
        self.browse = QPushButton("…")
        self.browse.setStyleSheet("padding: 4px 6px;")
        self.browse.setFixedWidth(34)
        set_tip(self.browse, "Choose the folder")
        self.browse.clicked.connect(self._browse_data)
        row.addWidget(self.data_dir, 1)
        row.addWidget(self.browse)
        col.addLayout(row)
        col.addWidget(self.source_download)
        self.source_local.toggled.connect(lambda on: self._data_dir_enabled(on))
        return box

    # -- what the form holds -------------------------------------------------------------------
    def settings(self) -> RunSettings:
        return RunSettings(
            preset=self.preset.currentData() or "custom", base_preset=self.base_preset,
            engine=self.engine.currentData() or "torch", arch=self.arch.currentData() or "digitpad",
            dataset=self.dataset.currentData(), download=self.source_download.isChecked(),
            data_dir=self.data_dir.text().strip(), epochs=self.epochs.value(), batch_size=self.batch.value(),
            lr=float(self.lr.value()), optimizer=self.optimizer.currentData(), schedule=self.schedule.currentData(),
            augment=self.augment.isChecked(), seed=self.seed.value(), device=self.device.currentData(),
            name=self.name.text().strip(), limit=self.limit)

    def set_settings(self, s: RunSettings) -> None:
        self._filling = True
        self.base_preset = s.preset if s.preset in PRESETS else s.base_preset
        try:
            i = self.preset.findData(s.preset)
            self.preset.setCurrentIndex(i if i >= 0 else self.preset.findData("custom"))
            self.preset_note.setText(presets.note(s.preset) or "Your own settings.")
            self.engine.setCurrentIndex(max(0, self.engine.findData(s.engine)))
            self._fill_archs(s.arch)
            self.dataset.setCurrentIndex(max(0, self.dataset.findData(s.dataset)))
            self.data_dir.setText(s.data_dir)
            (self.source_download if s.download else self.source_local).setChecked(True)
            self._data_dir_enabled(not s.download)
            _set_spin(self.epochs, s.epochs)
            _set_spin(self.batch, s.batch_size)
            _set_spin(self.lr, s.lr)
            self.optimizer.setCurrentIndex(max(0, self.optimizer.findData(s.optimizer)))
            self.schedule.setCurrentIndex(max(0, self.schedule.findData(s.schedule)))
            self.augment.setChecked(s.augment)
            _set_spin(self.seed, s.seed)
            self.wanted_device = s.device
            i = self.device.findData(s.device)
            if self.device.model().item(i).isEnabled():
                self.device.setCurrentIndex(i)
            self.name.setText(s.name)
            self.limit = s.limit
        finally:
            self._filling = False
        self._apply_engine_limits()
        self._edited()   # values that differ from the named preset's make the form "custom", as an edit would

    # -- how long it will take (measured from this machine's runs) ---------------------------
    def set_history(self, runs: list) -> None:
        self.history = list(runs)
        self.update_estimate()

    def update_estimate(self) -> None:
        s = self.settings()
        try:
            n = samples_per_epoch(run_config(s))
        except Exception:   # noqa: BLE001 (a form the engine rejects: the problems line says why)
            n = None
        work = f"{plural(s.epochs, 'epoch')} × {n:,} images" if n else plural(s.epochs, "epoch")
        found = estimate(s, self.history) if n else None
        if found is not None:
            self.estimate_note.setText(f"{found.words(format_duration)} Work: {work}.")
        else:
            self.estimate_note.setText(f"Work: {work}. No run of {s.arch} on this machine yet, so no time "
                                       f"estimate: the Live run shows the speed and ETA as it goes.")

    def _data_dir_enabled(self, on: bool) -> None:
        for w in (self.data_dir, self.browse):
            set_enabled(w, on, "“Download it” is chosen: the engine fetches the data set, no folder needed.")

    def set_editable(self, on: bool) -> None:
        """Locked while a run goes on: the form shows what is running."""
        for w in self.editable_widgets:
            if w in (self.data_dir, self.browse) and on and not self.source_local.isChecked():
                self._data_dir_enabled(False)
            else:
                set_enabled(w, on, "A run is in progress: the form shows its settings until it ends.")
        if on:
            self._apply_engine_limits()

    def show_problems(self, problems: list[str]) -> None:
        self.problem_label.setText("Cannot start: " + "; ".join(problems))
        self.problem_label.setVisible(bool(problems))

    # -- architectures and devices (the engine's answers arrive after start-up) ----------------
    def set_archs(self, archs: list[ArchInfo]) -> None:
        current = self.arch.currentData()
        self.archs = list(archs)
        self._fill_archs(current)

    def _fill_archs(self, selected: str) -> None:
        with QSignalBlocker(self.arch):
            self.arch.clear()
            for a in self.archs:
                self.arch.addItem(f"{a.name}  ·  {format_params(a.params)} params", a.name)
                set_item_tip(self.arch, self.arch.count() - 1, a.description)
            i = self.arch.findData(selected)
            if i < 0:
                self.arch.addItem(f"{selected}  ·  ? params", selected)
                i = self.arch.count() - 1
            self.arch.setCurrentIndex(i)
        self._arch_changed()

    def _arch_changed(self, *_a) -> None:
        info = next((a for a in self.archs if a.name == self.arch.currentData()), None)
        self.arch_note.setText(f"{info.params:,} parameters: {info.description}" if info else "")
        self._show_fit()

    # -- the engine and what it can do ---------------------------------------------------------
    def _engine_changed(self, *_a) -> None:
        """Choosing the NumPy engine by hand: its settings where the form holds one it cannot run."""
        if not self._filling and self.engine.currentData() == "numpy":
            self._filling = True
            try:
                self.optimizer.setCurrentIndex(self.optimizer.findData("sgd"))
                if self.schedule.currentData() not in NUMPY_SCHEDULES:
                    self.schedule.setCurrentIndex(self.schedule.findData("constant"))
                self.augment.setChecked(False)
                self.device.setCurrentIndex(DEVICES.index("cpu"))
            finally:
                self._filling = False
        self._apply_engine_limits()

    def _apply_engine_limits(self) -> None:
        """The NumPy engine trains with plain SGD on the CPU, without augmentation, on a constant or
        cosine schedule: those controls are locked (saying why) while it is chosen."""
        numpy = self.engine.currentData() == "numpy"
        self.engine_note.setText(ENGINE_NOTE.get(self.engine.currentData(), ""))
        self.engine_note.setVisible(bool(self.engine_note.text()))
        why = "The NumPy engine does not do this: choose the PyTorch engine for it."
        if self.engine.isEnabled():   # not while a run locks the form
            set_enabled(self.optimizer, not numpy, "The NumPy engine trains with plain SGD (no momentum).")
            set_enabled(self.augment, not numpy, why)
            set_enabled(self.device, not numpy, "The NumPy engine runs on the CPU.")
        onecycle = self.schedule.model().item(self.schedule.findData("onecycle"))
        onecycle.setEnabled(not numpy)
        set_tip(onecycle, "The NumPy engine's schedule is constant or cosine." if numpy else "")
        self._show_fit()

    def _show_fit(self) -> None:
        problems = self.settings().engine_problems(self.archs) if hasattr(self, "fit_note") else []
        self.fit_note.setText("Will not run: " + "; ".join(problems) if problems else "")
        self.fit_note.setVisible(bool(problems))

    def set_cuda(self, ok: bool, reason: str) -> None:
        item = self.device.model().item(DEVICES.index("cuda"))
        item.setEnabled(ok)
        set_tip(item, "" if ok else reason)
        if not ok and self.device.currentData() == "cuda":
            self.device.setCurrentIndex(DEVICES.index("auto"))
        if ok and self.wanted_device == "cuda":
            self.device.setCurrentIndex(DEVICES.index("cuda"))
        self.device_note.setText("CUDA GPU available" if ok else f"CUDA unavailable: {reason}")

    # -- editing -------------------------------------------------------------------------------
    def _browse_data(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Folder with the datasets", self.data_dir.text())
        if path:
            self.data_dir.setText(path)
            self.source_local.setChecked(True)

    def _preset_chosen(self, _index: int) -> None:
        name = self.preset.currentData()
        if name != "custom":
            self.set_settings(RunSettings.from_preset(name, self.settings()))

    def _edited(self, *_a) -> None:
        """A change away from the preset's values makes the form "custom" (edited from that preset)."""
        name = self.preset.currentData()
        if self._filling:
            return
        self._show_fit()
        self.update_estimate()
        if name == "custom":
            return
        s = self.settings()
        ref = RunSettings.from_preset(name, s)
        if any(getattr(s, f) != getattr(ref, f) for f in PRESET_FIELDS):
            self.base_preset = name
            self.preset.setCurrentIndex(self.preset.findData("custom"))
            extras = preset_extras(name)
            self.preset_note.setText(f"Edited from the preset “{presets.title(name)}” ({name})"
                                     + (f"; it still brings {', '.join(extras)}." if extras else "."))


def _set_spin(spin, value) -> None:
    """``value`` within the spin box's range: Qt's setValue raises OverflowError past 32 bits, and
    RunSettings.from_dict already keeps remembered values in RANGES; this holds for any caller."""
    spin.setValue(min(max(value, spin.minimum()), spin.maximum()))
