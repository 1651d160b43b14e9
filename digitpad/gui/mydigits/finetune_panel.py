"""'Fine-tune on my digits': from the active model, on the user's digits mixed with MNIST.

The flow (the Qt-free steps are ``digitpad.core.handwriting.finetune``):
preparing (background: split, score the active model on the held-out digits, write the
training file) -> the engine (``EngineRunner``, the same runner the Train tab uses) ->
scoring the new model (background) -> before/after on the held-out digits, and the new model.
The engine is held (``EngineSlot``) from the first step to the last, so the Train tab waits.
"""
from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QWidget

from digitpad.client import commands
from digitpad.client.history import add_to_log, list_runs
from digitpad.client.state import format_duration
from digitpad.core import paths
from digitpad.core.handwriting import finetune
from digitpad.core.handwriting.collection import Collection
from digitpad.core.library import describe

from ..engine import EngineRunner
from ..engine_slot import EngineSlot
from ..text import Html, rich
from ..threads import background
from ..widgets import Card, ResultBox, muted, set_enabled, thin_progress_bar


class FineTunePanel(Card):
    """``controller``: the app's ModelController (the active model, the library, switching).
    Signals: ``started()``, ``finished(str)`` (completed | failed | cancelled), ``useModel(Path)``."""

    started = Signal()
    finished = Signal(str)
    useModel = Signal(Path)

    def __init__(self, collection: Collection, controller=None, engine_slot: EngineSlot | None = None,
                 parent: QWidget | None = None):
        super().__init__("Fine-tune on my digits", parent)
        self.collection = collection
        self.controller = controller
        self.recipe = finetune.Recipe()
        self.threads: int | None = None
        self.runner = EngineRunner(self)
        self.runner.event.connect(self._event)
        self.runner.finished.connect(self._engine_finished)
        self.engine_slot = engine_slot or EngineSlot(self)
        self.engine_slot.register(self.runner, "fine-tuning in the My digits tab")
        self.engine_slot.changed.connect(self.update_state)
        self.jobs = background("finetune", self)
        self.prepared: finetune.Prepared | None = None
        self.before: finetune.Score | None = None
        self.after: finetune.Score | None = None
        self.new_model: Path | None = None
        self._t0 = self.seconds = 0.0   # wall-clock of the last run: button to result
        self.past_seconds = self._past_seconds()
        lay = self.body
        row = QHBoxLayout()
        self.button = QPushButton("Fine-tune on my digits")
        self.button.setObjectName("primary")
        self.button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.setVisible(False)
        row.addWidget(self.button)
        row.addWidget(self.cancel_button)
        row.addStretch(1)
        lay.addLayout(row)
        self.reason = muted("")
        lay.addWidget(self.reason)
        self.progress = thin_progress_bar()
        self.progress.setVisible(False)
        lay.addWidget(self.progress)
        self.use_button = QPushButton("Use the new model")
        self.use_button.clicked.connect(self._use)
        self.use_button.setVisible(False)
        self.result = ResultBox([self.use_button])
        lay.addWidget(self.result)
        if controller is not None:
            controller.modelChanged.connect(lambda _p: self.update_state())
        self.update_state()

    # -- state ---------------------------------------------------------------------------------
    def active_model(self) -> Path | None:
        p = self.controller.predictor if self.controller is not None else None
        return Path(p.path) if p is not None else None

    def is_running(self) -> bool:
        """From the button to the result: preparing, training, or scoring the new model."""
        return self.runner.is_running() or self.jobs.busy()

    def blocker(self) -> str | None:
        """Why the button is disabled, in words; None when fine-tuning can start."""
        if self.is_running():
            return None
        if self.controller is None:
            return "Fine-tuning needs the app's active model."
        p = self.controller.predictor
        why = finetune.finetune_blocker(self.active_model(), p.input_size if p is not None else None,
                                        p.classes if p is not None else None, p.input.drawn if p is not None else True)
        if why:
            return why
        problem = finetune.split_samples(self.collection.samples()).problem()
        if problem:
            return problem
        busy = self.engine_slot.busy_elsewhere(self.runner)
        if busy:
            return f"{busy[0].upper()}{busy[1:]} is using the engine; fine-tune when it has finished."
        return None

    def _past_seconds(self) -> float | None:
        """How long the last fine-tune here took, button to result (the runs history keeps it)."""
        if self.controller is None:
            return None
        done = [r.finetune["seconds"] for r in list_runs(self.controller.library.models) if "seconds" in r.finetune]
        return done[0] if done else None

    def update_state(self) -> None:
        running = self.is_running()
        why = self.blocker()
        set_enabled(self.button, not running and why is None, "Fine-tuning is under way." if running else why or "")
        self.button.setText("Fine-tuning…" if running else "Fine-tune on my digits")
        self.cancel_button.setVisible(running)
        if running:
            return
        if why:
            self.reason.setText(why)
        else:
            split = finetune.split_samples(self.collection.samples())
            took = (f" The last fine-tune here took {format_duration(self.past_seconds)}."
                    if self.past_seconds else "")
            self.reason.setText(f"From the active model ({self.active_model().name}): {split.describe()}; mixed "
                                f"with MNIST so MNIST accuracy holds.{took}")

    # -- the run -------------------------------------------------------------------------------
    def start(self) -> bool:
        if self.blocker() or self.is_running():
            self.update_state()
            return False
        self.prepared = self.before = self.after = self.new_model = None
        self.result.setVisible(False)
        self.use_button.setVisible(False)
        self._t0 = time.monotonic()
        self.runner.reserve()   # the engine is ours from now on: the Train tab waits
        self.jobs.submit(finetune.prepare, self.active_model(), self.collection.samples(), paths.data_dir(),
                         self.controller.library.models, on_done=self._launch, on_error=self._prepare_failed)
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.reason.setText("Measuring the active model on your held-out digits…")
        self.update_state()
        self.started.emit()
        return True

    def _launch(self, prepared: finetune.Prepared) -> None:
        self.prepared, self.before = prepared, prepared.before
        args = commands.finetune_args(prepared.base, prepared.training_file, prepared.out, self.recipe,
                                      len(prepared.split.train), self.controller.settings.values.datasets_folder,
                                      self.threads)
        self.reason.setText(f"Held out before: {self.before.text()}. Starting the training engine…")
        self.runner.start(args, prepared.out, self.recipe.epochs)
        self.update_state()

    def _prepare_failed(self, error: BaseException) -> None:
        """ModelLoadError, OSError, CollectionError: tell, and start nothing."""
        self.runner.release()
        self._end("failed", "error", rich("<b>Could not start fine-tuning:</b> {}", error))

    def cancel(self) -> None:
        if self.runner.process_running():
            self.reason.setText("Cancelling…")
            self.runner.stop()
        elif self.is_running():       # still preparing or scoring: drop that work
            self.jobs.cancel()
            self.runner.release()
            self._discard()
            self._end("cancelled", "warn", rich("<b>Fine-tuning cancelled.</b> Nothing was kept."))

    def shutdown(self) -> None:
        """The window is closing: end a run in progress now and keep nothing of it."""
        running = self.is_running()
        self.jobs.shutdown()
        if self.runner.process_running():
            self.runner.kill()
            self.runner.wait(5000)
        if running:
            self._discard()

    def _event(self, ev: dict) -> None:
        st = self.runner.state
        self.progress.setValue(int(st.progress * 1000))
        if ev.get("event") in ("start", "step", "epoch"):
            self.reason.setText(f"Held out before: {self.before.text()}. Fine-tuning: {st.progress_text()}")
        elif ev.get("event") == "exported":
            self.reason.setText("Exported; measuring on your held-out digits…")

    def _engine_finished(self, final: str) -> None:
        st = self.runner.state
        self._remove_training_file()
        if final == "completed" and st.exported is not None and Path(st.exported).is_file():
            self.jobs.submit(finetune.score_model, Path(st.exported), self.prepared.split.held_out,
                             on_done=self._scored, on_error=self._score_failed)
            self.update_state()
            return
        self._discard()
        if final in ("stopped", "cancelled"):
            self._end("cancelled", "warn", rich("<b>Fine-tuning cancelled.</b> Nothing was kept."))
        else:
            tail = [line for line in st.stderr_tail if line.strip()][-4:]
            detail = rich("<pre style='margin:4px 0 0 0'>{}</pre>", "\n".join(tail)) if tail else ""
            self._end("failed", "error", rich("<b>Fine-tuning failed:</b> {}. Nothing was added to the model "
                                              "library.{}", st.error or "unknown error", detail))

    def _scored(self, score: finetune.Score) -> None:
        self.seconds = time.monotonic() - self._t0
        self.after, self.new_model = score, Path(self.runner.state.exported)
        self.use_button.setVisible(True)
        # The runs history tells this run apart from one trained from scratch, with the time the
        # user waited (preparing, training and scoring), not the engine's training time alone.
        add_to_log(self.new_model, "finetune", {
            "base": self.prepared.base.name, "digits": len(self.prepared.split.train),
            "held_out": len(self.prepared.split.held_out), "before": self.before.accuracy,
            "after": self.after.accuracy, "seconds": round(self.seconds, 1)})
        self.past_seconds = self.seconds
        if self.controller is not None:
            self.controller.refresh_library()
        self._end("completed", "ok", self._result_text())

    def _score_failed(self, error: BaseException) -> None:
        """The new file cannot be opened (ModelLoadError): keep nothing of it."""
        self._discard()
        self._end("failed", "error", rich("<b>Fine-tuning failed:</b> the new model could not be opened ({}). "
                                          "Nothing was added to the model library.", error))

    def _end(self, outcome: str, kind: str, text: Html) -> None:
        self.seconds = time.monotonic() - self._t0
        self.progress.setVisible(False)
        self.result.show_result(kind, text)
        self.update_state()
        self.finished.emit(outcome)

    def _remove_training_file(self) -> None:
        if self.prepared is not None:
            self.prepared.training_file.unlink(missing_ok=True)

    def _discard(self) -> None:
        """Whatever a run that will not be kept left: its training file, model, checkpoint, logs."""
        self._remove_training_file()
        if self.prepared is not None:
            finetune.remove_run_files(self.prepared.out)

    def _result_text(self) -> Html:
        b, a, st = self.before, self.after, self.runner.state
        mnist_after = st.metrics.get("test_accuracy")
        meta = describe(self.prepared.base, "user").metadata
        mnist_before = (meta.metrics or {}).get("test_accuracy") if meta else None
        mnist = ""
        if isinstance(mnist_after, (int, float)):
            was = f"{mnist_before * 100:.2f}% → " if isinstance(mnist_before, (int, float)) else ""
            mnist = rich("<br>MNIST test accuracy: {}{:.2f}%", was, mnist_after * 100)
        return rich("<b>Done in {seconds:.0f} s.</b> On your {total} held-out digits:<br>before <b>{before}</b> → "
                    "after <b>{after}</b>{mnist}<br>New model: {name} (in the model library).",
                    seconds=self.seconds, total=a.total, before=b.text(), after=a.text(), mnist=mnist,
                    name=self.new_model.name)

    def _use(self) -> None:
        if self.new_model is not None and self.new_model.is_file():
            self.useModel.emit(self.new_model)
