"""The Learn tab's "Take one step": one SGD step on the drawing shown, and what it changed.

A step (``core.one_step.take_step``: the gradients, the weights moved, a stepped copy of the model) runs
on a worker; the panel then shows the probabilities before and after (``ProbsBars``), the loss and the
answer, and measures the step's effect on a sample of the model's test set on a second worker (both
models on 1,000 images: about a second for the shipped model). Steps stack: another step starts from
the last, Undo drops the last. Nothing is written unless "Save as a new model" is pressed
(``one_step.save``: a new file beside the user's models, by the core's atomic write). A new drawing, label
or model forgets the steps: they were about the one before.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QPushButton, QSizePolicy, QWidget

from digitpad.core import paths
from digitpad.core.evaluation import check_fits
from digitpad.core.explore.jobs import locate_test_set
from digitpad.core.one_step import SAMPLE, SampleChange, sample_change, save, take_step

from .. import style
from ..elided import ElidedLabel
from ..text import plain_label, rich, rich_label, set_tip
from ..threads import background
from ..widgets import muted, set_enabled
from .arithmetic_parts import Section
from .numbers import small_font
from .wording import words_for

HEIGHT = 46          # px: the before/after bars with the class names under them
LEARNING_RATES = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
DEFAULT_RATE = 0.01   # on the shipped model a visible change for one drawing that leaves the test set as it was


@dataclass
class Shown:
    """What the Learn tab draws of a step, read on the worker (the views only render): the drawing's feature
    maps under the model in use and under the stepped copy, and each conv layer's kernels in both."""

    before: dict[str, np.ndarray]                          # layer -> maps [C, H, W], the model in use
    after: dict[str, np.ndarray]                           # ... and the stepped copy
    kernels: dict[str, tuple[np.ndarray, np.ndarray]]      # layer -> (the model in use's, the stepped copy's)


def _step_job(task, predictor, x, label: int, rate: float, previous):
    step = take_step(predictor, x, label, rate, previous=previous)
    origin, after = step.origin, step.predictor
    kernels = {}
    for layer in origin.layers:
        w0, w1 = origin.kernels(layer), after.kernels(layer)   # read from the files here, not on the UI thread
        if w0 is not None and w1 is not None:
            kernels[layer] = (w0, w1)
    return step, Shown(origin.predict(x).activations, after.predict(x).activations, kernels)


def _sample_job(task, before, after, folder, dataset: str, sets) -> SampleChange | None:
    test = sets.get(folder, dataset, progress=task.progress)
    check_fits(before, test)
    return sample_change(before, after, test.images, test.labels, test.full_scale, cancelled=lambda: task.cancelled)


def _save_job(task, step, folder, change):
    return save(step, folder, change)


def pct(p: float) -> str:
    return f"{100 * p:.1f}%"


class ProbsBars(QWidget):
    """Each class's probability before (grey) and after (accent) the step, side by side; the label's
    class named in the accent colour. ``before``/``after`` are kept as data for the tests."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.before = self.after = None
        self.label = -1
        self.classes: list[str] = []
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self.setFixedHeight(HEIGHT)
        self._font = small_font()

    def sizeHint(self) -> QSize:
        return QSize(300, HEIGHT)

    def set_probs(self, before, after, label: int, classes: list[str]) -> None:
        self.before, self.after, self.label, self.classes = before, after, label, list(classes)
        self.update()

    def paintEvent(self, _ev) -> None:
        if self.before is None:
            return
        p = QPainter(self)
        p.setFont(self._font)
        k = len(self.before)
        col = self.width() / max(k, 1)
        label_h = p.fontMetrics().height() + 2
        top, bar_h = 2.0, self.height() - label_h - 4.0
        track, grey, accent = QColor(style.TRACK), QColor(style.FAINT), QColor(style.ACCENT)
        for i in range(k):
            x = i * col
            w = max(2.0, min(12.0, col * 0.3))
            for j, (values, colour) in enumerate(((self.before, grey), (self.after, accent))):
                left = x + col / 2 - w - 1 + j * (w + 2)
                p.fillRect(QRectF(left, top, w, bar_h), track)
                if values is not None:
                    h = bar_h * float(values[i])
                    p.fillRect(QRectF(left, top + bar_h - h, w, h), colour)
            p.setPen(accent if i == self.label else QColor(style.MUTED))
            name = self.classes[i] if i < len(self.classes) else str(i)
            text = p.fontMetrics().elidedText(name, Qt.ElideRight, int(col) - 2)
            p.drawText(QRectF(x, top + bar_h + 2, col, label_h), Qt.AlignHCenter | Qt.AlignTop, text)
        p.end()


class StepPanel(Section):
    """``set_context(predictor, x, label)`` follows the Learn tab; ``steps`` is the stack, ``step`` the last."""

    stepped = Signal()      # a step was taken or undone, or forgotten
    saved = Signal(object)  # the new model file's path

    def __init__(self, settings, sets, parent=None):
        super().__init__(parent)
        self.settings, self.sets = settings, sets
        self.predictor = self.x = None
        self.label: int | None = None
        self.steps: list = []
        self.shown: dict[int, Shown] = {}   # id(step) -> what the Learn tab draws of it
        self.taking = False                 # a step is on the worker (not stepper.busy(): that turns false only
                                            # after the result was queued to this thread, so it may lag behind)
        # id(step) -> (its change on the test sample, the set's title), or a line saying why there is none yet
        self.changes: dict[int, tuple[SampleChange, str] | str] = {}
        self.stepper = background("one step", self)
        self.sampler = background("step sample", self)
        self.saver = background("save step", self)
        self.thing = "drawing"   # what one input is, in the model's terms (wording.words_for)
        self.heading.setText("One step of gradient descent on this drawing")
        self.lay.setSpacing(3)
        row = QHBoxLayout()
        row.setSpacing(6)
        row.addWidget(plain_label("Learning rate"))
        self.rate = QComboBox()
        for r in LEARNING_RATES:
            self.rate.addItem(f"{r:g}", r)
        self.rate.setCurrentIndex(LEARNING_RATES.index(DEFAULT_RATE))
        set_tip(self.rate, "How far the step goes: every weight moves by −(learning rate) × its gradient (plain SGD)")
        row.addWidget(self.rate)
        self.take_button = QPushButton("Take one step")
        set_tip(self.take_button, "Move every weight against its gradient for this drawing and label, in a copy of "
                                  "the model; the model in use does not change")
        self.take_button.clicked.connect(self.take)
        self.undo_button = QPushButton("Undo")
        set_tip(self.undo_button, "Drop the last step")
        self.undo_button.clicked.connect(self.undo)
        self.save_button = QPushButton("Save as model")
        set_tip(self.save_button, "Write the stepped model as a new file beside your models (nothing else is saved)")
        self.save_button.clicked.connect(self.save)
        for b in (self.take_button, self.undo_button):
            row.addWidget(b)
        row.addStretch(1)
        self.lay.addLayout(row)
        self.bars = ProbsBars()
        self.lay.addWidget(self.bars)
        self.result = rich_label("", wrap=True)
        self.lay.addWidget(self.result)
        row = QHBoxLayout()   # Save beside the test sample's line: the row is narrow enough for 1280x720
        row.setSpacing(6)
        self.sample = ElidedLabel()   # the test sample: one line, the whole of it in the tooltip
        row.addWidget(self.sample, 1)
        row.addWidget(self.save_button)
        self.lay.addLayout(row)
        self.note = muted("")         # what Save did
        self.note.setVisible(False)
        self.lay.addWidget(self.note)
        self._update()

    @property
    def step(self):
        return self.steps[-1] if self.steps else None

    # -- following the tab --------------------------------------------------------------------------
    def set_context(self, predictor, x, label: int | None) -> None:
        """The model in use, the input shown and the label; a change forgets the steps."""
        if predictor is self.predictor and x is self.x and label == self.label:
            return
        self.predictor, self.x, self.label = predictor, x, label
        self.thing = words_for(predictor).thing
        self.heading.setText(f"One step of gradient descent on this {self.thing}")
        self._say("")
        if self.steps or self.taking:
            self.taking = False
            self.stepper.cancel()
            self.sampler.cancel()
            self.steps, self.changes, self.shown = [], {}, {}
            self.stepped.emit()
        self._update()

    # -- the actions ---------------------------------------------------------------------------------
    def take(self) -> None:
        if self.predictor is None or self.x is None or self.label is None:
            return
        rate = float(self.rate.currentData())
        key = (self.predictor, self.x, self.label)
        self.taking = True
        self.stepper.submit(_step_job, self.predictor, self.x.copy(), self.label, rate, self.step,
                            on_done=lambda result: self._taken(key, *result),
                            on_error=lambda e: self._failed(key, e))
        self._update()

    def _taken(self, key, step, shown: Shown) -> None:
        if key != (self.predictor, self.x, self.label):
            return
        self.taking = False
        self.steps.append(step)
        self.shown[id(step)] = shown
        self._measure(step)
        self.stepped.emit()
        self._update()

    def _failed(self, key, error: BaseException) -> None:
        if key == (self.predictor, self.x, self.label):
            self.taking = False
            self.result.setText(str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__)
            self._update(keep_result=True)

    def undo(self) -> None:
        if self.steps:
            dropped = self.steps.pop()
            self.changes.pop(id(dropped), None)
            self.shown.pop(id(dropped), None)
            self.sampler.cancel()
            if self.step is not None and id(self.step) not in self.changes:
                self._measure(self.step)
            self.stepped.emit()
            self._update()

    def save(self) -> None:
        step = self.step
        if step is None:
            return
        change = self.changes.get(id(step))
        self.saver.submit(_save_job, step, paths.models_dir(), change[0] if isinstance(change, tuple) else None,
                          on_done=self._saved, on_error=lambda e: self._say(f"Could not save: {e}"))

    def _saved(self, path) -> None:
        self.saved.emit(path)
        self._say(f"Saved as {path.name} beside your models; the model in use is unchanged (choose the new one "
                  f"in the Model list to use it).")

    # -- what the Learn tab draws (read on the worker with the step) --------------------------------------
    def kernels(self, layer: str) -> tuple[np.ndarray, np.ndarray] | None:
        """A conv layer's kernels in the model in use and after the steps taken, or None (no step, no kernels)."""
        shown = self.shown.get(id(self.step))
        return None if shown is None else shown.kernels.get(layer)

    def maps(self, layer: str) -> tuple[np.ndarray, np.ndarray] | None:
        """The drawing's feature maps of ``layer`` under the model in use and after the steps taken, or None."""
        shown = self.shown.get(id(self.step))
        if shown is None or layer not in shown.before or layer not in shown.after:
            return None
        return shown.before[layer], shown.after[layer]

    def _say(self, text: str) -> None:
        self.note.setText(text)
        self.note.setVisible(bool(text))

    # -- the test set --------------------------------------------------------------------------------
    def _measure(self, step) -> None:
        where = locate_test_set(step.origin, self.settings.values.datasets_folder)
        if isinstance(where, str):
            self.changes[id(step)] = where
            return
        dataset, folder, title = where
        self.changes[id(step)] = f"Measuring the step on {SAMPLE:,} {title} test images…"
        self.sampler.submit(_sample_job, step.origin, step.predictor, folder, dataset, self.sets,
                            on_done=lambda change: self._measured(step, change, title),
                            on_error=lambda e: self._measured(step, f"The test set could not be read: {e}", title))

    def _measured(self, step, change, title: str) -> None:
        if change is None:   # superseded by a newer step
            return
        self.changes[id(step)] = (change, title) if isinstance(change, SampleChange) else change
        if step is self.step:
            self._update()

    # -- showing -------------------------------------------------------------------------------------
    def _update(self, keep_result: bool = False) -> None:
        ready = self.predictor is not None and self.x is not None and self.label is not None
        busy = self.taking
        why = "Draw a digit or choose an image first." if not ready else "A step is being taken."
        set_enabled(self.take_button, ready and not busy, why)
        set_enabled(self.undo_button, bool(self.steps), "No step taken yet.")
        self.undo_button.setText(f"Undo ({len(self.steps)})" if len(self.steps) > 1 else "Undo")
        set_enabled(self.save_button, bool(self.steps) and self.predictor is not None
                    and self.predictor.metadata is not None,
                    "Take a step first." if not self.steps else "Only a model with digitpad's metadata can be saved "
                                                                 "after a step.")
        step = self.step
        classes = self.predictor.classes if self.predictor is not None else []
        if step is None:
            self.bars.set_probs(None, None, -1, classes)
            self.bars.setVisible(False)
            if not keep_result:
                self.result.setText(f"Moves every weight by −(learning rate) × dL/dw for this {self.thing} and "
                                    "label, in a copy of the model: the probabilities and kernels before and after "
                                    "appear here and above.")
            self.sample.set_text("")
            return
        g = self.steps[0].gradients   # before the first step: the model in use
        self.bars.setVisible(True)
        self.bars.set_probs(g.probs, step.probs, step.label, classes)
        name = classes[step.label] if step.label < len(classes) else str(step.label)
        before_answer = classes[int(g.probs.argmax())]
        after_answer = classes[int(step.probs.argmax())]
        self.result.setText(rich(
            "p({name}) {p0} → <b>{p1}</b> · loss {l0:.3f} → <b>{l1:.3f}</b> · answer {a0} → <b>{a1}</b>",
            name=name, p0=pct(float(g.probs[step.label])), p1=pct(float(step.probs[step.label])), l0=g.loss,
            l1=step.loss, a0=before_answer, a1=after_answer))
        change = self.changes.get(id(step), "")
        if isinstance(change, tuple):
            c, title = change
            self.sample.set_text(f"{c.images:,} {title} test images: {pct(c.accuracy_before)} → "
                                 f"{pct(c.accuracy_after)} right, {c.changed} answer{'s' if c.changed != 1 else ''} "
                                 f"changed", f"The step's effect on the rest of the test set: on {c.images:,} {title} "
                                 f"test images spread over the set, the accuracy of the model in use and of the "
                                 f"stepped copy, and how many answers differ between them.")
        else:
            self.sample.set_text(change)

    def shutdown(self) -> None:
        for job in (self.stepper, self.sampler, self.saver):
            job.shutdown()
