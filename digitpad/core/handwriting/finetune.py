"""Fine-tune on my digits: the Qt-free half (the My digits tab is ``digitpad.gui.mydigits``).

The flow the tab runs:

1. :func:`prepare` (a background job): :func:`split_samples` splits the collection per digit
   into samples to learn from and held-out samples to measure on (about one in three of each
   digit, at least one of every digit that has two or more; :meth:`Split.problem` says when
   there are too few); the active model is scored on the held-out part; the training part is
   written as a collection ``.npz`` (:func:`write_training_file`, a temporary file in the data
   folder, removed when the run ends).
2. The engine runs ``digitpad.client.commands.finetune_args``: start from the active model's
   checkpoint (``--init X.onnx`` finds ``X.ckpt.pt`` beside it), train on the first
   ``Recipe.mnist`` MNIST training digits plus the user's digits repeated so they make a
   quarter of an epoch (so MNIST accuracy holds), at a fine-tuning learning rate.
3. :func:`score_model` (a background job) scores the new model on the held-out part.

:func:`finetune_blocker` says why a model cannot be fine-tuned (no checkpoint beside it).
:func:`remove_run_files` deletes what a failed or cancelled run left, so nothing
half-written stays in the model library.
"""
from __future__ import annotations

import datetime as dt
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..contract import MNIST_CLASSES
from ..inference import Predictor
from ..paths import RunFiles
from . import collection
from .collection import Sample

HOLD_OUT_EVERY = 3          # about one sample in three of each digit is held out
MIN_SAMPLES = 10            # fewer than this in all: too few to learn anything from
TEMP_PREFIX = ".finetune-"  # the training file in the data folder (hidden; removed after the run)


# -- the split -------------------------------------------------------------------------------
@dataclass
class Split:
    train: list[Sample] = field(default_factory=list)
    held_out: list[Sample] = field(default_factory=list)
    total: int = 0

    def counts(self, part: str) -> list[int]:
        c = [0] * 10
        for s in getattr(self, part):
            c[s.label] += 1
        return c

    def problem(self) -> str | None:
        """Why fine-tuning cannot start on this split, in words for the user; None if it can."""
        if self.total < MIN_SAMPLES or not self.held_out:
            return (f"Too few samples to fine-tune: {self.total} in My digits. Fine-tuning needs at least "
                    f"{MIN_SAMPLES}, with at least 2 of a digit (about one in {HOLD_OUT_EVERY} of each digit is "
                    f"held out to measure the result). The guided set draws each digit {3} times.")
        return None

    def describe(self) -> str:
        digits = sum(1 for n in self.counts("train") if n)
        kinds = "1 different digit" if digits == 1 else f"{digits} different digits"
        return (f"{len(self.train)} of your digits to learn from ({kinds}), "
                f"{len(self.held_out)} held out to measure")


def held_out_positions(n: int, every: int = HOLD_OUT_EVERY) -> list[int]:
    """Which of a digit's n samples (oldest first) are held out: round(n / every) of them,
    spread evenly, at least one when n >= 2, none when n < 2 (a lone sample is learnt from)."""
    if n < 2:
        return []
    k = max(1, round(n / every))
    return sorted({min(n - 1, int((i + 0.5) * n / k)) for i in range(k)})


def split_samples(samples: list[Sample], every: int = HOLD_OUT_EVERY) -> Split:
    """Per digit, deterministic: the same collection always gives the same split."""
    out = Split(total=len(samples))
    for d in range(10):
        mine = sorted((s for s in samples if s.label == d), key=lambda s: (s.timestamp, s.id))
        held = set(held_out_positions(len(mine), every))
        for i, s in enumerate(mine):
            (out.held_out if i in held else out.train).append(s)
    return out


# -- the run ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Recipe:
    """How long and how hard to fine-tune. Chosen for <= ~60 s on a 2-core CPU for the
    shipped arch, torch import and ONNX export included (tests/benchmarks/bench_finetune.py):
    26.5 s on the idle 2-core machine for 50 digits, 10,700 samples; 75-107 s while other
    training runs shared the two cores)."""

    mnist: int = 8000            # --limit: the first N MNIST training digits, so MNIST accuracy holds
    user_share: float = 0.25     # the user's digits as a share of an epoch (sets --extra-repeat)
    max_repeat: int = 200
    epochs: int = 1              # one pass: one MNIST test evaluation, not one per epoch
    lr: float = 1e-3             # a fine-tuning rate: a third of training from scratch
    batch_size: int = 128
    augment: bool = True         # the engine's affine/elastic/pen-width augmentation
    label_smoothing: float = 0.05  # as measured (it came from the engine's default preset until it was named)
    seed: int = 0

    def repeat(self, n_train: int) -> int:
        """--extra-repeat K: the user's n digits, K times each, make ~user_share of an epoch."""
        if n_train <= 0:
            return 1
        k = self.user_share * self.mnist / ((1 - self.user_share) * n_train)
        return int(min(self.max_repeat, max(1, math.ceil(k))))


def finetune_blocker(model: Path | None, input_size: int | None = None, classes: list[str] | None = None,
                     drawn: bool = True) -> str | None:
    """Why this model cannot be fine-tuned, or None if it can. ``input_size``, ``classes`` and ``drawn``:
    the loaded model's (``Predictor``); My digits are drawings of the ten digits, 28x28, so an 8x8 model,
    a model of pictures (clothes, photos: it would be taught that a drawn 1 is a trouser) or of other
    classes cannot learn from them."""
    if model is None:
        return "No model is loaded."
    model = Path(model)
    if model.suffix != ".onnx":
        return f"{model.name} is not an .onnx model."
    if not drawn or (classes is not None and list(classes) != MNIST_CLASSES):
        shown = ", ".join(list(classes or [])[:4]) + (", …" if len(classes or []) > 4 else "")
        what = "pictures" if not drawn else f"{len(classes)} classes ({shown})"
        return (f"{model.name} reads {what}, not drawings of the ten digits: My digits can only fine-tune a "
                f"digit model.")
    if input_size is not None and input_size != 28:
        return (f"{model.name} reads {input_size}x{input_size} digits; My digits are kept as 28x28 drawings, "
                f"so only a 28x28 model can be fine-tuned on them.")
    checkpoint = RunFiles(model).checkpoint
    if not checkpoint.is_file():
        return (f"The active model ({model.name}) has no PyTorch checkpoint beside it "
                f"({checkpoint.name}), so it cannot be fine-tuned. Models trained in digitpad "
                f"keep one; choose one of those in the Draw tab.")
    return None


def new_model_path(models_dir: Path, base: Path, now: dt.datetime | None = None) -> Path:
    """A new file in the user's models folder: ``<base>-mine-<timestamp>.onnx`` (never an existing one)."""
    stem = RunFiles(base).stem.split("-mine-")[0]   # fine-tuning a fine-tuned model: no pile of suffixes
    stamp = f"{(now or dt.datetime.now()):%Y%m%d-%H%M%S}"
    path = Path(models_dir) / f"{stem}-mine-{stamp}.onnx"
    n = 2
    while any(f.exists() for f in RunFiles(path).all()):
        path = Path(models_dir) / f"{stem}-mine-{stamp}-{n}.onnx"
        n += 1
    return path


def write_training_file(samples: list[Sample], folder: Path) -> Path:
    """The training part as a collection .npz (images and labels only; the engine needs no
    strokes): a new hidden file in ``folder``. Raises OSError if it cannot be written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".npz", dir=folder)
    os.close(fd)
    path = Path(name)
    arrays = {
        "format": np.int64(collection.FORMAT_VERSION),
        "images": (np.stack([collection.as_uint8_image(s.image) for s in samples]) if samples
                   else np.zeros((0, 28, 28), np.uint8)),
        "labels": np.asarray([s.label for s in samples], np.int64),
    }
    try:
        collection.save(path, arrays)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def remove_run_files(out: Path) -> list[Path]:
    """After a failed or cancelled run: its model, checkpoint and logs (and any temporary
    file of an atomic write), so the library shows nothing half-made. Returns what was removed."""
    return RunFiles(out).remove()[0]


# -- the background jobs the My digits tab runs (``digitpad.core.background``) -----------------
@dataclass
class Prepared:
    """Everything a fine-tuning run needs before the engine starts."""

    base: Path
    split: Split
    before: Score
    training_file: Path
    out: Path


def prepare(task, base: Path, samples: list[Sample], work_folder: Path, models_folder: Path) -> Prepared:
    """Split the user's digits, score the active model on the held-out part, write the training
    part for the engine and choose the new model's file. Raises what went wrong (ModelLoadError,
    OSError, CollectionError); leaves no file behind when it fails."""
    split = split_samples(samples)
    before = evaluate(base, split.held_out)
    out = new_model_path(models_folder, base)
    out.parent.mkdir(parents=True, exist_ok=True)
    return Prepared(Path(base), split, before, write_training_file(split.train, work_folder), out)


def score_model(task, model: Path, samples: list[Sample]) -> Score:
    """The new model's accuracy on the held-out digits (raises ModelLoadError if it is unusable)."""
    return evaluate(model, samples)


# -- measuring -------------------------------------------------------------------------------
@dataclass
class Score:
    correct: int
    total: int
    per_digit: list[tuple[int, int]] = field(default_factory=list)   # (correct, total) per digit

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else float("nan")

    def text(self) -> str:
        return f"{self.accuracy * 100:.0f}% ({self.correct}/{self.total})" if self.total else "–"


def images_of(samples: list[Sample]) -> tuple[np.ndarray, np.ndarray]:
    """float32 [N, 1, 28, 28] model inputs and int64 [N] labels."""
    if not samples:
        return np.zeros((0, 1, 28, 28), np.float32), np.zeros(0, np.int64)
    xs = np.stack([collection.as_uint8_image(s.image) for s in samples]).astype(np.float32)[:, None] / 255.0
    return xs, np.asarray([s.label for s in samples], np.int64)


def score(preds: np.ndarray, labels: np.ndarray) -> Score:
    preds, labels = np.asarray(preds), np.asarray(labels)
    per = [(int(((preds == labels) & (labels == d)).sum()), int((labels == d).sum())) for d in range(10)]
    return Score(int((preds == labels).sum()), len(labels), per)


def evaluate(model, samples: list[Sample]) -> Score:
    """Accuracy of a model (a path, or a loaded ``Predictor``) on samples, with ONNX Runtime."""
    predictor = model if isinstance(model, Predictor) else Predictor(model)
    xs, ys = images_of(samples)
    if not len(ys):
        return Score(0, 0)
    probs = predictor.predict_batch(xs)
    return score(probs.argmax(1), ys)
