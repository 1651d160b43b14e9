"""Judge a model on a test set with ONNX Runtime: accuracy, confusion matrix, per-class
accuracy, and which images it gets wrong. Qt-free, numpy + onnxruntime only.
The test set is read with the core's IDX reader (``datasets``), the one the engine uses.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnxruntime as ort

from . import modelfile
from .datasets import DATASETS, DatasetError, first_folder_with, load_split
from .inference import Predictor, session_options

BATCH = 500


@dataclass
class TestSet:
    images: np.ndarray      # uint8 [N, S, S] grey (white ink on black; optdigits: 8x8 block counts) or [N, C, S, S]
    labels: np.ndarray      # int64 [N]
    dataset: str
    folder: Path
    full_scale: int = 255   # the value of full ink (optdigits: 16)
    classes: list[str] | None = None   # the data set's class names, when it names them
    skipped: list[str] = field(default_factory=list)   # files of a picture folder passed over: "name (why)"

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def size(self) -> int:
        """Side of the images: 28, 8 for optdigits, 32 for CIFAR-10."""
        return int(self.images.shape[-1])

    @property
    def shape(self) -> tuple[int, int, int]:
        """[C, S, S] of one canonical image."""
        return (1, self.size, self.size) if self.images.ndim == 3 else tuple(int(d) for d in self.images.shape[1:])

    def image(self, i: int) -> np.ndarray:
        """Test image ``i`` as a canonical image, float32 [C, S, S] in 0..1: exactly what the model was fed."""
        return (self.images[i].astype(np.float32) * np.float32(1.0 / self.full_scale)).reshape(self.shape)


class TestSetError(Exception):
    """The test set cannot be read; the message is for the user."""


def load_test_set(folder: str | Path, dataset: str = "mnist",
                  progress: Callable[[int, int], None] | None = None) -> TestSet:
    """The test split. ``progress(done, total)``: while a picture folder is decoded (the first time only;
    later it comes from the cache in the user's data folder)."""
    if dataset not in DATASETS:
        raise TestSetError(f"unknown dataset {dataset!r}")
    try:
        split = load_split(Path(folder), dataset, "test", progress=progress)
    except DatasetError as e:
        raise TestSetError(str(e)) from None
    return TestSet(split.images, split.labels, dataset, Path(folder), split.full_scale, split.classes,
                   list(split.skipped))


def find_test_folder(dataset: str, candidates: list[str | Path | None]) -> Path | None:
    """The first candidate folder that holds the dataset's test files."""
    return first_folder_with(dataset, "test", candidates)


@dataclass
class EvalResult:
    model_name: str
    dataset: str
    classes: list[str]
    labels: np.ndarray       # [N]
    preds: np.ndarray        # [N]
    probs: np.ndarray        # [N, K]
    seconds: float
    test: TestSet | None = None

    @property
    def n(self) -> int:
        return len(self.labels)

    @property
    def confidence(self) -> np.ndarray:
        return self.probs[np.arange(self.n), self.preds]

    @property
    def accuracy(self) -> float:
        return float((self.preds == self.labels).mean()) if self.n else float("nan")

    @property
    def confusion(self) -> np.ndarray:
        """[true, predicted] counts, K x K."""
        k = len(self.classes)
        m = np.zeros((k, k), np.int64)
        np.add.at(m, (self.labels, self.preds), 1)
        return m

    @property
    def per_class_accuracy(self) -> np.ndarray:
        m = self.confusion
        totals = m.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(totals > 0, np.diag(m) / np.maximum(totals, 1), np.nan)

    def cell(self, true: int, pred: int) -> np.ndarray:
        """Indices of test images with this true label and prediction. Mistakes come most
        confident first (the worst); a diagonal cell's correct answers least confident first."""
        idx = np.flatnonzero((self.labels == true) & (self.preds == pred))
        conf = self.confidence[idx]
        order = np.argsort(conf, kind="stable")
        return idx[order] if true == pred else idx[order[::-1]]

    def mistakes(self) -> np.ndarray:
        idx = np.flatnonzero(self.labels != self.preds)
        return idx[np.argsort(-self.confidence[idx], kind="stable")]


def scores_only(path: str | Path, keep: list[str]) -> bytes:
    """The model with only its class-score outputs: the layer activations a digitpad export
    also returns cost ~15 % of a batch run when they must be kept. The file as it is if
    the ``onnx`` package cannot read it. Bytes, read as the Predictor reads them
    (``modelfile.read_model``): ONNX Runtime is never handed a path to resolve other files from."""
    data = modelfile.read_model(path)
    try:
        import onnx  # lazy: ~0.2 s, and this runs on the worker thread

        m = onnx.load_from_string(data)
        outputs = [o for o in m.graph.output if o.name in keep]
        if len(outputs) == len(m.graph.output) or not outputs:
            return data
        del m.graph.output[:]
        m.graph.output.extend(outputs)
        return m.SerializeToString()
    except Exception:  # noqa: BLE001 - whatever onnx cannot read, ONNX Runtime already did
        return data


def evaluation_session(path: str | Path, keep: list[str], threads: int | None = None) -> ort.InferenceSession:
    """A second session for batch work: every core (the drawing tab's session keeps one
    thread for batch-1 latency), threads allowed to spin between the batch's layers, and
    only the class scores computed."""
    so = session_options(threads or max(1, min(4, os.cpu_count() or 1)), spinning=True)
    return ort.InferenceSession(scores_only(path, keep), sess_options=so, providers=["CPUExecutionProvider"])


def describe_shape(shape: tuple[int, int, int]) -> str:
    """"28x28" for grey images, "32x32 colour" for RGB ones."""
    c, h, w = shape
    return f"{h}x{w}" + ("" if c == 1 else " colour" if c == 3 else f" {c}-channel")


def check_fits(predictor: Predictor, test: TestSet) -> None:
    """TestSetError unless the set's images are the model's input and its labels the model's classes."""
    if test.shape != predictor.input_shape:
        raise TestSetError(f"{predictor.name} takes {describe_shape(predictor.input_shape)} input; the "
                           f"{test.dataset} test set holds {describe_shape(test.shape)} images")
    k = predictor.num_classes
    if len(test) and int(test.labels.max()) >= k:
        raise TestSetError(f"{predictor.name} has {k} classes; the {test.dataset} test set has labels up to "
                           f"{int(test.labels.max())}")
    if test.classes and predictor.metadata is not None and list(test.classes) != list(predictor.classes):
        raise TestSetError(f"{predictor.name} tells {', '.join(predictor.classes[:4])}…; the {test.dataset} test "
                           f"set's classes are {', '.join(test.classes[:4])}…")


def evaluate(predictor: Predictor, test: TestSet, *, batch: int = BATCH, threads: int | None = None,
             progress: Callable[[int, int], None] | None = None,
             cancelled: Callable[[], bool] | None = None) -> EvalResult | None:
    """Run the whole test set through the model. None if cancelled. Raises TestSetError when the
    set's images are not the model's input (a 28x28 model on the 8x8 digits, a grey model on photos)."""
    check_fits(predictor, test)
    t0 = time.perf_counter()
    wanted = [n for n in (predictor.logits_name, predictor.probs_name) if n]
    session = predictor.session if predictor.fixed_batch == 1 else evaluation_session(predictor.path, wanted, threads)
    n = len(test)
    probs = np.empty((n, predictor.num_classes), np.float32)
    for i in range(0, n, batch):
        if cancelled is not None and cancelled():
            return None
        x = predictor.input.to_tensor(predictor.input.from_rows(test.images[i:i + batch], test.full_scale))
        _, p = predictor.run_scores(session, wanted, x)
        probs[i:i + len(x)] = p
        if progress is not None:
            progress(min(i + batch, n), n)
    return EvalResult(model_name=predictor.name, dataset=test.dataset, classes=list(predictor.classes),
                      labels=np.asarray(test.labels, np.int64), preds=probs.argmax(axis=1), probs=probs,
                      seconds=time.perf_counter() - t0, test=test)


class TestSets:
    """The last test set read, kept for the next evaluation (reading 10,000 images costs ~50 ms
    gzipped). Used from one background thread."""

    def __init__(self):
        self._key: tuple[str, str] | None = None
        self._test: TestSet | None = None

    def get(self, folder: str | Path, dataset: str, progress: Callable[[int, int], None] | None = None) -> TestSet:
        key = (str(folder), dataset)
        if key != self._key:
            self._test, self._key = load_test_set(folder, dataset, progress), key
        return self._test


def test_set_job(task, folder: str | Path, dataset: str, test_sets: TestSets) -> TestSet:
    """A background job: the test set read, kept in ``test_sets`` for ``evaluation_job``. Its progress
    is the decoding of a picture folder's test split, reported only when there is one to do."""
    return test_sets.get(folder, dataset, progress=task.progress)


def evaluation_job(task, predictor: Predictor, folder: str | Path, dataset: str, test_sets: TestSets) -> EvalResult:
    """A background job (``digitpad.core.background``): progress per batch, stops when superseded."""
    return evaluate(predictor, test_sets.get(folder, dataset), progress=task.progress,
                    cancelled=lambda: task.cancelled)
