"""Teach it your handwriting: the correction row under the canvas and the "My digits" tab.

- :class:`CorrectionBar`: "Wrong? It was: 0 1 … 9". A click, or a digit key anywhere in
  the Draw tab, saves the drawing (its strokes at full resolution and the 28x28 model
  input) with that label in the user's collection.
- :class:`MyDigitsView`: the collection per digit (delete selected), export / import as
  one .npz, and a guided mode that asks for each digit three times on its own canvas.
- :class:`FineTunePanel` (in the My digits tab): "Fine-tune on my digits" runs the training
  engine (the Train tab's runner) from the active model on the user's digits mixed with
  MNIST, then shows held-out accuracy before and after and offers the new model.
- :func:`install` adds both to a ``MainWindow`` (one call from app.py).

The data side is ``collection.Collection`` and ``finetune`` (Qt-free, tested on their own).
"""
from __future__ import annotations

import html
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QObject, QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (QComboBox, QFileDialog, QFrame, QHBoxLayout, QLabel, QListWidget,
                               QListWidgetItem, QMessageBox, QProgressBar, QPushButton, QSizePolicy, QToolButton,
                               QVBoxLayout, QWidget)

from digitpad.core.handwriting import finetune
from digitpad.core.handwriting.collection import Collection, CollectionError
from digitpad.core.preprocess import to_model_input

from ..canvas import DrawingCanvas

GUIDED_REPEATS = 3


def _pixmap(image28: np.ndarray, scale: int = 2) -> QPixmap:
    a = np.ascontiguousarray(255 - np.asarray(image28, np.uint8))   # dark ink on white, like paper
    img = QImage(a.data, 28, 28, 28, QImage.Format_Grayscale8).copy()
    return QPixmap.fromImage(img).scaled(28 * scale, 28 * scale, Qt.KeepAspectRatio, Qt.SmoothTransformation)


def save_canvas(collection: Collection, canvas: DrawingCanvas, label: int, source: str):
    """Save what is on the canvas with its label; None if the canvas has no digit on it."""
    x = to_model_input(canvas.to_array())
    if x is None:
        return None
    return collection.add(label, x, canvas.strokes, canvas_size=canvas.width(), source=source)


class CorrectionBar(QWidget):
    saved = Signal(object)   # the Sample

    def __init__(self, canvas: DrawingCanvas, collection: Collection, shortcut_scope: QWidget | None = None,
                 parent=None):
        super().__init__(parent)
        self.canvas = canvas
        self.collection = collection
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(3)
        label = QLabel("Wrong? It was:")
        label.setObjectName("muted")
        # The Draw card is 400 px inside: ten buttons at their natural 36 px squeezed this label
        # to "Wron". The label keeps its full width; the buttons share what is left (22-30 px each).
        label.setMinimumWidth(label.sizeHint().width())
        label.setSizePolicy(QSizePolicy.Fixed, QSizePolicy.Preferred)
        lay.addWidget(label)
        self.label = label
        self.buttons = []
        for d in range(10):
            b = QToolButton()
            b.setText(str(d))
            b.setToolTip(f"Save this drawing as a {d} in My digits (key {d})")
            b.setMinimumWidth(22)
            b.setMaximumWidth(30)
            b.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
            b.setStyleSheet("QToolButton { padding-left: 0px; padding-right: 0px; }")
            b.clicked.connect(lambda _=False, d=d: self.correct(d))
            lay.addWidget(b)
            self.buttons.append(b)
        lay.addStretch(0)
        self.status = QLabel("")
        self.status.setObjectName("muted")
        scope = shortcut_scope or self
        self.shortcuts = []
        for d in range(10):
            sc = QShortcut(QKeySequence(str(d)), scope)
            sc.setContext(Qt.WidgetWithChildrenShortcut)
            sc.activated.connect(lambda d=d: self.correct(d))
            self.shortcuts.append(sc)

    def correct(self, label: int):
        try:
            sample = save_canvas(self.collection, self.canvas, label, "correction")
        except OSError as e:
            self.status.setText(f"Could not save: {e.strerror or e}")
            return None
        if sample is None:
            self.status.setText("Draw a digit first.")
            return None
        n = self.collection.counts()[label]
        self.status.setText(f"Saved as {label}: {n} {'sample' if n == 1 else 'samples'} of {label} in My digits.")
        self.saved.emit(sample)
        return sample


class MyDigitsView(QWidget):
    changed = Signal()

    def __init__(self, collection: Collection, controller=None, parent=None):
        super().__init__(parent)
        self.collection = collection
        self.guided_queue: list[int] = []
        outer = QHBoxLayout(self)
        outer.setContentsMargins(14, 12, 14, 10)

        left = QVBoxLayout()
        outer.addLayout(left, 1)
        top = QHBoxLayout()
        self.filter = QComboBox()
        self.filter.addItem("All digits", None)
        for d in range(10):
            self.filter.addItem(f"Digit {d}", d)
        self.filter.currentIndexChanged.connect(self.refresh)
        top.addWidget(self.filter)
        self.counts_label = QLabel("")
        self.counts_label.setObjectName("muted")
        top.addWidget(self.counts_label, 1)
        left.addLayout(top)
        self.list = QListWidget()
        self.list.setViewMode(QListWidget.IconMode)
        self.list.setIconSize(QSize(56, 56))
        self.list.setResizeMode(QListWidget.Adjust)
        self.list.setSelectionMode(QListWidget.ExtendedSelection)
        self.list.setMovement(QListWidget.Static)
        left.addWidget(self.list, 1)
        buttons = QHBoxLayout()
        self.delete_button = QPushButton("Delete selected")
        self.delete_button.clicked.connect(self.delete_selected)
        self.export_button = QPushButton("Export…")
        self.export_button.clicked.connect(self._export_dialog)
        self.import_button = QPushButton("Import…")
        self.import_button.clicked.connect(self._import_dialog)
        for b in (self.delete_button, self.export_button, self.import_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        left.addLayout(buttons)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        left.addWidget(self.message)

        right = QVBoxLayout()
        outer.addLayout(right, 0)
        self.prompt = QLabel("Guided: draw each digit 3 times, so the model can learn your hand.")
        self.prompt.setWordWrap(True)
        right.addWidget(self.prompt)
        self.canvas = DrawingCanvas(size=280)
        right.addWidget(self.canvas, 0, Qt.AlignHCenter)
        row = QHBoxLayout()
        self.start_button = QPushButton("Start guided set")
        self.start_button.clicked.connect(self.start_guided)
        self.next_button = QPushButton("Save and next (Enter)")
        self.next_button.clicked.connect(self.guided_next)
        self.skip_button = QPushButton("Skip")
        self.skip_button.clicked.connect(self.guided_skip)
        for b in (self.start_button, self.next_button, self.skip_button):
            row.addWidget(b)
        right.addLayout(row)
        right.addSpacing(14)
        self.finetune = FineTunePanel(collection, controller)
        right.addWidget(self.finetune)
        self.changed.connect(self.finetune.update_state)
        right.addStretch(1)
        for key in ("Return", "Enter"):
            sc = QShortcut(QKeySequence(key), self.canvas)
            sc.setContext(Qt.WidgetShortcut)
            sc.activated.connect(self.guided_next)
        self._set_guided_buttons()
        self.refresh()

    # -- the collection ------------------------------------------------------------------------
    def refresh(self) -> None:
        digit = self.filter.currentData()
        self.list.clear()
        for s in self.collection.samples(digit):
            item = QListWidgetItem(QIcon(_pixmap(s.image)), str(s.label))
            item.setData(Qt.UserRole, s.id)
            item.setToolTip(f"{s.label} · {s.source or 'sample'}")
            self.list.addItem(item)
        counts = self.collection.counts()
        self.counts_label.setText("  ".join(f"{d}: {n}" for d, n in enumerate(counts)) + f"   total {sum(counts)}")
        if hasattr(self, "finetune"):
            self.finetune.update_state()
        if self.collection.problems:
            names = ", ".join(p.name for p, _ in self.collection.problems[:3])
            self.message.setText(f"{len(self.collection.problems)} file(s) in {self.collection.folder} could not be "
                                 f"read and were left as they are: {names}")

    def delete_selected(self) -> int:
        ids = [it.data(Qt.UserRole) for it in self.list.selectedItems()]
        for sid in ids:
            self.collection.delete(sid)
        if ids:
            self.refresh()
            self.changed.emit()
        return len(ids)

    def export_to(self, path) -> None:
        try:
            n = self.collection.export(path)
            self.message.setText(f"Exported {n} digits to {path}.")
        except (OSError, CollectionError) as e:
            self.message.setText(f"Could not export: {e}")

    def import_from(self, path) -> None:
        try:
            n = self.collection.import_file(path)
        except (OSError, CollectionError) as e:
            self.message.setText(f"Could not import: {e}")
            return
        self.message.setText(f"Imported {n} digits.")
        self.refresh()
        self.changed.emit()

    def _export_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export my digits", "my_digits.npz", "Digit collections (*.npz)")
        if path:
            self.export_to(path)

    def _import_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import digits", "", "Digit collections (*.npz)")
        if path:
            self.import_from(path)

    # -- guided mode ----------------------------------------------------------------------------
    def start_guided(self) -> None:
        self.guided_queue = [d for d in range(10) for _ in range(GUIDED_REPEATS)]
        self.canvas.clear()
        self._show_prompt()
        self.canvas.setFocus()

    def _show_prompt(self) -> None:
        if self.guided_queue:
            d = self.guided_queue[0]
            done = GUIDED_REPEATS - sum(1 for x in self.guided_queue if x == d)
            self.prompt.setText(f"Draw a <b style='font-size:20px'>{d}</b> ({done + 1} of {GUIDED_REPEATS}), "
                                f"then press Enter.")
        else:
            self.prompt.setText("Done: thank you. Your digits are in the list.")
        self._set_guided_buttons()

    def _set_guided_buttons(self) -> None:
        on = bool(self.guided_queue)
        self.next_button.setEnabled(on)
        self.skip_button.setEnabled(on)
        self.start_button.setText("Restart guided set" if on else "Start guided set")

    def guided_next(self):
        if not self.guided_queue:
            return None
        try:
            sample = save_canvas(self.collection, self.canvas, self.guided_queue[0], "guided")
        except OSError as e:
            QMessageBox.warning(self, "My digits", f"Could not save: {e.strerror or e}")
            return None
        if sample is None:
            self.prompt.setText(self.prompt.text().split(" — ")[0] + " — draw it on the canvas first.")
            return None
        self.guided_queue.pop(0)
        self.canvas.clear()
        self._show_prompt()
        self.refresh()
        self.changed.emit()
        return sample

    def guided_skip(self) -> None:
        if self.guided_queue:
            self.guided_queue.pop(0)
            self.canvas.clear()
            self._show_prompt()


class _FineTuneRunner:
    """Made on first use: the Train tab's engine runner (QProcess, jsonl events), started
    with a fine-tuning command line instead of the training form's."""

    @staticmethod
    def make(parent):
        from digitpad.client.runs import RunState

        from ..engine import TrainingRunner

        class FineTuneRunner(TrainingRunner):
            def start_args(self, args: list[str], out: Path, epochs: int) -> None:
                self.state = RunState(out=Path(out), status="starting")
                self.state.epochs = epochs
                self._launch("train", args)

        return FineTuneRunner(parent)


class FineTunePanel(QFrame):
    """"Fine-tune on my digits": split, export, run the engine, measure before/after, offer the model.

    ``controller``: the app's ModelController (the active model, the library, switching);
    ``other_run_busy``: a callable, True while the Train tab's run is going (one engine at a time).
    Signals: ``started()``, ``finished(str)`` (completed | failed | cancelled), ``useModel(Path)``.
    """

    started = Signal()
    finished = Signal(str)
    useModel = Signal(Path)

    def __init__(self, collection: Collection, controller=None, other_run_busy=None, parent=None):
        super().__init__(parent)
        self.setObjectName("card")
        self.collection = collection
        self.controller = controller
        self.other_run_busy = other_run_busy
        self.recipe = finetune.Recipe()
        self.threads: int | None = None
        self.runner = None
        self.split: finetune.Split | None = None
        self.base: Path | None = None
        self.extra_file: Path | None = None
        self.before: finetune.Score | None = None
        self.after: finetune.Score | None = None
        self.new_model: Path | None = None
        self._t0 = self.seconds = 0.0   # wall-clock of the last run: button to result
        lay = QVBoxLayout(self)
        lay.setContentsMargins(12, 10, 12, 12)
        lay.setSpacing(6)
        title = QLabel("FINE-TUNE ON MY DIGITS")
        title.setObjectName("cardTitle")
        lay.addWidget(title)
        row = QHBoxLayout()
        self.button = QPushButton("Fine-tune on my digits")
        self.button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.setVisible(False)
        row.addWidget(self.button)
        row.addWidget(self.cancel_button)
        row.addStretch(1)
        lay.addLayout(row)
        self.reason = QLabel("")
        self.reason.setObjectName("muted")
        self.reason.setWordWrap(True)
        lay.addWidget(self.reason)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(8)
        self.progress.setVisible(False)
        lay.addWidget(self.progress)
        self.result = QLabel("")
        self.result.setWordWrap(True)
        self.result.setTextFormat(Qt.RichText)
        self.result.setVisible(False)
        lay.addWidget(self.result)
        self.use_button = QPushButton("Use the new model")
        self.use_button.clicked.connect(self._use)
        self.use_button.setVisible(False)
        lay.addWidget(self.use_button, 0, Qt.AlignLeft)
        if controller is not None:
            controller.modelChanged.connect(lambda _p: self.update_state())
        self.update_state()

    # -- state ---------------------------------------------------------------------------------
    def active_model(self) -> Path | None:
        p = getattr(self.controller, "predictor", None) if self.controller is not None else None
        return Path(p.path) if p is not None else None

    def is_running(self) -> bool:
        return self.runner is not None and self.runner.is_running()

    def blocker(self) -> str | None:
        """Why the button is disabled, in words; None when fine-tuning can start."""
        if self.is_running():
            return None
        if self.controller is None:
            return "Fine-tuning needs the app's active model."
        why = finetune.finetune_blocker(self.active_model())
        if why:
            return why
        problem = finetune.split_samples(self.collection.samples()).problem()
        if problem:
            return problem
        if self.other_run_busy is not None and self.other_run_busy():
            return "A training run is going in the Train tab; fine-tune when it has finished."
        return None

    def update_state(self) -> None:
        running = self.is_running()
        why = self.blocker()
        self.button.setEnabled(not running and why is None)
        self.button.setText("Fine-tuning…" if running else "Fine-tune on my digits")
        self.button.setToolTip(why or "")
        self.cancel_button.setVisible(running)
        if running:
            return
        if why:
            self.reason.setText(why)
        else:
            split = finetune.split_samples(self.collection.samples())
            model = self.active_model()
            self.reason.setText(f"From the active model ({model.name}): {split.describe()}; mixed with MNIST so "
                                f"MNIST accuracy holds. About a minute.")

    # -- the run -------------------------------------------------------------------------------
    def start(self) -> bool:
        why = self.blocker()
        if why or self.is_running():
            self.update_state()
            return False
        from digitpad.core.paths import data_dir, models_dir

        self.base = self.active_model()
        self.split = finetune.split_samples(self.collection.samples())
        self.after = self.new_model = None
        self.result.setVisible(False)
        self.use_button.setVisible(False)
        try:
            self.before = finetune.evaluate(self.base, self.split.held_out)
            self.extra_file = finetune.write_training_file(self.split.train, data_dir())
            out = finetune.new_model_path(models_dir(), self.base)
            out.parent.mkdir(parents=True, exist_ok=True)
        except Exception as e:   # OSError, ModelLoadError, CollectionError: tell, start nothing
            self._remove_extra()
            self._show("error", f"<b>Could not start fine-tuning:</b> {html.escape(str(e))}")
            return False
        args = finetune.engine_args(self.base, self.extra_file, out, self.recipe, len(self.split.train),
                                    self._mnist_folder(), self.threads)
        if self.runner is None:
            self.runner = _FineTuneRunner.make(self)
            self.runner.event.connect(self._event)
            self.runner.finished.connect(self._finished)
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self._t0 = time.monotonic()
        self.reason.setText(f"Held out before: {self.before.text()}. Starting the training engine…")
        self.runner.start_args(args, out, self.recipe.epochs)
        self.update_state()
        self.started.emit()
        return True

    def _mnist_folder(self) -> str | None:
        """Where the Train tab finds MNIST (its remembered form); None: the engine downloads it."""
        from digitpad.client.runs import RunSettings, default_data_folder

        if self.controller is not None:
            s = RunSettings.from_dict(self.controller.library.get("training_form"))
            return None if s.download else (s.data_dir or None)
        return default_data_folder() or None

    def cancel(self) -> None:
        if self.is_running():
            self.reason.setText("Cancelling…")
            self.runner.stop()

    def shutdown(self) -> None:
        """The window is closing: end the run now and keep nothing of it."""
        if self.is_running():
            self.runner.kill()
            self.runner.wait(5000)

    def _event(self, ev: dict) -> None:
        st = self.runner.state
        self.progress.setValue(int(st.progress * 1000))
        if ev.get("event") in ("start", "step", "epoch"):
            self.reason.setText(f"Held out before: {self.before.text()}. Fine-tuning: {st.progress_text()}")
        elif ev.get("event") == "exported":
            self.reason.setText("Exported; measuring on your held-out digits…")

    def _remove_extra(self) -> None:
        if self.extra_file is not None:
            self.extra_file.unlink(missing_ok=True)
            self.extra_file = None

    def _finished(self, final: str) -> None:
        st = self.runner.state
        self.seconds = time.monotonic() - self._t0
        self._remove_extra()
        self.progress.setVisible(False)
        out = st.out
        exported = final == "completed" and st.exported is not None and Path(st.exported).is_file()
        outcome = "failed"
        if exported:
            try:
                self.after = finetune.evaluate(st.exported, self.split.held_out)
            except Exception as e:   # ModelLoadError: the new file is unusable; keep nothing
                st.error = f"the new model could not be opened ({e})"
            else:
                outcome = "completed"
        if outcome == "completed":
            self.new_model = Path(st.exported)
            self._show("ok", self._result_text(st))
            self.use_button.setVisible(True)
            if self.controller is not None:
                self.controller.libraryChanged.emit()
        else:
            if out is not None:
                finetune.remove_run_files(out)
            if final in ("stopped", "cancelled"):
                outcome = "cancelled"
                self._show("warn", "<b>Fine-tuning cancelled.</b> Nothing was kept.")
            else:
                tail = [line for line in st.stderr_tail if line.strip()][-4:]
                detail = f"<pre style='margin:4px 0 0 0'>{html.escape(chr(10).join(tail))}</pre>" if tail else ""
                self._show("error", f"<b>Fine-tuning failed:</b> {html.escape(st.error or 'unknown error')}. "
                                    f"Nothing was added to the model library.{detail}")
        self.update_state()
        self.finished.emit(outcome)

    def _result_text(self, st) -> str:
        b, a = self.before, self.after
        n = a.total
        mnist_after = st.metrics.get("test_accuracy")
        mnist_before = None
        try:
            from digitpad.core.library import describe

            meta = describe(self.base, "user").metadata
            mnist_before = (meta.metrics or {}).get("test_accuracy") if meta else None
        except Exception:
            pass
        mnist = ""
        if isinstance(mnist_after, (int, float)):
            was = f"{mnist_before * 100:.2f}% → " if isinstance(mnist_before, (int, float)) else ""
            mnist = f"<br>MNIST test accuracy: {was}{mnist_after * 100:.2f}%"
        return (f"<b>Done in {self.seconds:.0f} s.</b> On your {n} held-out digits:<br>"
                f"before <b>{b.text()}</b> → after <b>{a.text()}</b>{mnist}<br>"
                f"New model: {html.escape(self.new_model.name)} (in the model library).")

    def _show(self, kind: str, text: str) -> None:
        bg, fg = {"ok": ("#e7f6ec", "#17603a"), "warn": ("#fff6e0", "#7a5200"),
                  "error": ("#fdecec", "#9b1c1c")}[kind]
        self.result.setStyleSheet(f"QLabel {{ background: {bg}; color: {fg}; border-radius: 6px; padding: 6px; }}")
        self.result.setText(text)
        self.result.setVisible(True)

    def _use(self) -> None:
        if self.new_model is not None and self.new_model.is_file():
            self.useModel.emit(self.new_model)


class _CloseWatcher(QObject):
    """Ends a fine-tuning run (keeping nothing of it) when the main window closes."""

    def __init__(self, panel: FineTunePanel, parent):
        super().__init__(parent)
        self.panel = panel

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Close and self.panel.is_running():
            self.panel.shutdown()
        return False


def install(window, collection: Collection | None = None):
    """Add the correction row under the Draw tab's canvas and a "My digits" tab."""
    collection = collection or Collection()
    wb = window.workbench
    bar = CorrectionBar(wb.canvas, collection, shortcut_scope=wb)
    layout = wb.canvas.parentWidget().layout()   # the Draw card: canvas, spacing, tools row, tips
    at = layout.indexOf(wb.canvas) + 1
    while at < layout.count() and layout.itemAt(at).layout() is None:
        at += 1
    at = min(at + 1, layout.count())             # just below the tools row
    layout.insertWidget(at, bar)
    layout.insertWidget(at + 1, bar.status)
    view = MyDigitsView(collection, window.controller)
    panel = view.finetune
    training = getattr(window, "training", None)
    if training is not None:   # one engine at a time, whichever tab started it
        panel.other_run_busy = training.runner.is_running
        training.runner.statusChanged.connect(lambda _s: panel.update_state())
        training.other_run_busy = panel.is_running
        panel.started.connect(training.update_buttons)
        panel.finished.connect(lambda _outcome: training.update_buttons())
    panel.useModel.connect(lambda p: window.controller.load(p) and window.tabs.setCurrentWidget(wb))
    window._finetune_close_watcher = _CloseWatcher(panel, window)
    window.installEventFilter(window._finetune_close_watcher)
    window.add_tab(view, "My digits")
    bar.saved.connect(lambda _s: view.refresh())
    window.corrections, window.my_digits = bar, view
    return bar, view
