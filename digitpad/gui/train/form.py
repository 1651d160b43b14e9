"""The Train tab's "Set up a run" card: one control per engine flag, starting from a preset.

A view: it shows a ``RunSettings`` and gives one back; what a run is and whether it may
start are the engine client's (``digitpad.client``) and the tab's business.
"""
from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
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
    arch_fits,
    format_params,
    input_kind,
    offered_archs,
    preset_extras,
    preset_for,
    preset_names,
)
from digitpad.client.state import format_duration, plural
from digitpad.core.archs import ARCHS

from ..text import plain_label, set_item_tip, set_tip
from ..widgets import Card, muted, set_enabled, set_help
from . import presets
from .data_source import DataSource

ENGINE_TEXT = {"torch": "PyTorch", "numpy": "NumPy, written from scratch"}
ENGINE_NOTE = {"torch": "",
               "numpy": "From-scratch NumPy engine: plain SGD on the CPU, no augmentation, seed004 only."}
DEVICE_TEXT = {"auto": "Auto (GPU if available)", "cpu": "CPU", "cuda": "CUDA GPU"}
OPTIMIZER_TEXT = {"adamw": "AdamW", "sgd": "SGD"}   # SGD's words follow the run's momentum (_name_sgd)
SCHEDULE_TEXT = {"onecycle": "One-cycle", "cosine": "Cosine decay", "constant": "Constant"}
# What "Augment the images" does, by the kind of images (the engine's augment.py): drawn digits, photos.
AUGMENT_TEXT = {1: "Random shifts, rotations, scaling and stroke width: slower to learn, better on drawn digits",
                3: "Random crops with padding and horizontal flips: slower to learn, better on photos it has "
                   "not seen"}


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
    public for the tab to connect and enable.

    ``dataChanged``: the data set or where it comes from changed (the tab looks at it again).
    ``datasetChosen``: the user picked a data set (the tab shows its samples)."""

    dataChanged = Signal()
    datasetChosen = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Set up a run", parent)
        lay = self.body
        self.setFixedWidth(380)
        self.archs: list[ArchInfo] = list(KNOWN_ARCHS)   # as the engine lists them (its answer replaces these)
        self.engine_answered = False
        self.train_images: tuple[str, int] | None = None   # (data set, training images) the data preview counted
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
        set_item_tip(self.dataset, self.dataset.findData("folder"), "Your own labelled pictures: a folder per class")
        self.dataset.currentIndexChanged.connect(self._dataset_changed)
        self.dataset.activated.connect(self._dataset_chosen)
        self._dataset_before = "mnist"        # to go back to when choosing a picture folder is cancelled
        form.add_row("Dataset", self.dataset)
        # What this engine, arch and data set cannot do together: said while editing, not only at Start.
        self.fit_note = plain_label("", "hint", wrap=True)
        self.fit_note.setVisible(False)
        form.add_row("", self.fit_note)
        self.data = DataSource()
        self.data.changed.connect(self._data_edited)
        self.source_local, self.source_download = self.data.source_local, self.data.source_download
        self.data_dir, self.browse = self.data.data_dir, self.data.browse
        form.add_row("Data", self.data)
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
        set_tip(self.augment, AUGMENT_TEXT[1])
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
        self.editable_widgets = (self.preset, self.engine, self.arch, self.dataset, self.epochs, self.batch,
                                 self.lr, self.optimizer, self.schedule, self.augment, self.seed, self.device,
                                 self.name)

    # -- what the form holds -------------------------------------------------------------------
    def settings(self) -> RunSettings:
        data_dir, download, image_folder = self.data.values()
        return RunSettings(
            preset=self.preset.currentData() or "custom", base_preset=self.base_preset,
            engine=self.engine.currentData() or "torch", arch=self.arch.currentData() or "digitpad",
            dataset=self.dataset.currentData(), download=download, data_dir=data_dir, image_folder=image_folder,
            epochs=self.epochs.value(), batch_size=self.batch.value(),
            lr=float(self.lr.value()), optimizer=self.optimizer.currentData(), schedule=self.schedule.currentData(),
            augment=self.augment.isChecked(), seed=self.seed.value(), device=self.device.currentData(),
            name=self.name.text().strip(), limit=self.limit)

    def _source(self) -> tuple:
        s = self.settings()
        return s.dataset, s.data_dir, s.download, s.image_folder

    def set_settings(self, s: RunSettings) -> None:
        source = self._source()
        self._filling = True
        self.base_preset = s.preset if s.preset in PRESETS else s.base_preset
        try:
            i = self.preset.findData(s.preset)
            self.preset.setCurrentIndex(i if i >= 0 else self.preset.findData("custom"))
            self.preset_note.setText(presets.note(s.preset) or "Your own settings.")
            self.engine.setCurrentIndex(max(0, self.engine.findData(s.engine)))
            self.dataset.setCurrentIndex(max(0, self.dataset.findData(s.dataset)))   # first: it decides the archs
            self._dataset_before = self.dataset.currentData()
            self._fill_archs(s.arch)
            self.data.set_values(s.data_dir, s.download, s.image_folder)
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
        self._name_sgd()
        if self._source() != source:
            self.dataChanged.emit()

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
        if n is None and self.train_images and self.train_images[0] == s.dataset:
            # the engine cannot know a folder it has not read; the preview counted it
            n = min(self.train_images[1], s.limit) if s.limit else self.train_images[1]
        work = f"{plural(s.epochs, 'epoch')} × {n:,} images" if n else plural(s.epochs, "epoch")
        found = estimate(s, self.history) if n else None
        if found is not None:
            self.estimate_note.setText(f"{found.words(format_duration)} Work: {work}.")
        else:
            self.estimate_note.setText(f"Work: {work}. No run of {s.arch} on this machine yet, so no time "
                                       f"estimate: the Live run shows the speed and ETA as it goes.")

    def set_editable(self, on: bool) -> None:
        """Locked while a run goes on: the form shows what is running."""
        why = "A run is in progress: the form shows its settings until it ends."
        for w in self.editable_widgets:
            set_enabled(w, on, why)
        self.data.set_editable(on, why)
        if on:
            self._apply_engine_limits()

    def show_problems(self, problems: list[str]) -> None:
        self.problem_label.setText("Cannot start: " + "; ".join(problems))
        self.problem_label.setVisible(bool(problems))

    # -- architectures and devices (the engine's answers arrive after start-up) ----------------
    def set_archs(self, archs: list[ArchInfo]) -> None:
        """The engine's own list (``--list-archs``), once it has answered."""
        current = self.arch.currentData()
        self.archs = list(archs)
        self.engine_answered = True
        self._fill_archs(current)

    def known_archs(self) -> list[str]:
        """The archs a run may name: the engine's once it has answered, else the zoo's and the list shown."""
        names = [a.name for a in self.archs]
        return names if self.engine_answered else list(dict.fromkeys([*ARCHS, *names]))

    def _arch_info(self, name: str):
        return next((a for a in self.archs if a.name == name), None) or ARCHS.get(name)

    def _fill_archs(self, selected: str) -> None:
        """The archs that take the chosen data set's images (size and channels); one that does not is
        listed only while it is the one chosen (the fit note says why it will not run)."""
        offered = self.offered()
        with QSignalBlocker(self.arch):
            self.arch.clear()
            for a in offered:
                self.arch.addItem(f"{a.name}  ·  {format_params(a.params)} params", a.name)
                set_item_tip(self.arch, self.arch.count() - 1, a.description)
            i = self.arch.findData(selected)
            if i < 0 and selected:
                info = self._arch_info(selected)
                self.arch.addItem(f"{selected}  ·  {format_params(info.params) if info else '?'} params", selected)
                i = self.arch.count() - 1
            self.arch.setCurrentIndex(max(i, 0))
        self._arch_changed()

    def offered(self, dataset: str | None = None) -> list:
        """The archs offered for a data set's images (the zoo's until the engine has said what it builds)."""
        return offered_archs(dataset or self.dataset.currentData(), self.archs, engine_only=self.engine_answered)

    def _arch_changed(self, *_a) -> None:
        offered = [a.name for a in self.offered()]
        if self.arch.currentData() in offered and self.arch.count() > len(offered):
            self._fill_archs(self.arch.currentData())      # one that does not fit was listed while chosen
            return
        info = self._arch_info(self.arch.currentData())
        self.arch_note.setText(f"{info.params:,} parameters: {info.description}" if info else "")
        self._show_fit()

    # -- the data set --------------------------------------------------------------------------
    def _dataset_changed(self, *_a) -> None:
        self.data.set_dataset(self.dataset.currentData())
        kind = input_kind(self.dataset.currentData())
        set_help(self.augment, AUGMENT_TEXT.get(kind[1] if kind else 1, AUGMENT_TEXT[1]))
        if not self._filling:          # set_settings fills the archs itself, for the settings it is given
            self._fill_archs(self.arch.currentData())
            self.dataChanged.emit()

    def _dataset_chosen(self, _index: int) -> None:
        """The user picked a data set. A picture folder is asked for at once (cancelled: back to the data
        set before). Archs follow the images: when the arch chosen cannot take them, the engine's preset
        for this data set is applied, or else the first arch that can."""
        key = self.dataset.currentData()
        if key == "folder" and not self.data.values()[2] and not self.data.browse_images():
            self.dataset.setCurrentIndex(max(0, self.dataset.findData(self._dataset_before)))
            return
        self._dataset_before = key
        info = self._arch_info(self.arch.currentData())
        if info is None or not arch_fits(info, key):
            name = preset_for(key)
            if name is not None:
                s = RunSettings.from_preset(name, self.settings())
                s.dataset = key        # a folder of photos trains with CIFAR-10's recipe, on the folder
                self.set_settings(s)
            elif offered := self.offered(key):
                self.arch.setCurrentIndex(self.arch.findData(offered[0].name))
        self.datasetChosen.emit()

    def _data_edited(self) -> None:
        if not self._filling:
            self.dataChanged.emit()

    def show_data(self, preview) -> None:
        """What the tab found in the data (``client.data_preview.DataPreview``)."""
        self.data.show_preview(preview)
        n = preview.total("train") if preview.problem is None else None
        self.train_images = (preview.dataset, n) if n else None
        self.update_estimate()

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
    def _preset_chosen(self, _index: int) -> None:
        name = self.preset.currentData()
        if name == "custom":
            return
        s = RunSettings.from_preset(name, self.settings())
        if self.dataset.currentData() == "folder" and input_kind(s.dataset) == input_kind("folder"):
            s.dataset = "folder"       # a photo recipe keeps the user's pictures
        self.set_settings(s)

    def _name_sgd(self) -> None:
        """SGD as this run would train: plain (seed004, the NumPy engine: momentum 0) or with Nesterov momentum
        (the presets' momentum, which the form does not show); the form called both "Nesterov momentum"."""
        m = self.settings().momentum()
        self.optimizer.setItemText(self.optimizer.findData("sgd"),
                                   "SGD, plain (no momentum)" if m == 0 else f"SGD (Nesterov momentum {m:g})")

    def _edited(self, *_a) -> None:
        """A change away from the preset's values makes the form "custom" (edited from that preset)."""
        name = self.preset.currentData()
        if self._filling:
            return
        self._name_sgd()
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
