"""A model's test images, a page at a time: what the Draw tab's image bench shows for a model that
takes pictures (CIFAR-10, a folder of the user's images, Fashion-MNIST).

Which test set belongs to a model (``choose_test_set``): the data set its metadata names when that
set's images are the model's input, else the built-in one made for its input shape; where to look
for it (``TestSetChoice.candidates``: the data folder every tab shares, the folder the model was
trained from, the app's download folder; for a model of the user's own pictures, the folder it was
trained from) and, when it is nowhere, a sentence saying where it looked. (The Evaluate tab decides
the same in its view, ``EvaluationView.dataset`` and ``_default_folder``: one of the two should go.)

``strip_page`` is a background job (``digitpad.core.background``): it reads the set once (decoding a
folder of pictures the first time, with progress; ``evaluation.TestSets`` keeps it for the next
page) and returns one page of canonical images, made by the model's input adapter, with the model's
answers for them, so the strip can mark what the model gets wrong. Qt-free.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .contract import DATASET_INPUTS
from .datasets import DATASET_TITLES, DATASETS, SPLIT_LAYOUTS
from .evaluation import TestSets, check_fits, find_test_folder
from .paths import datasets_dir


@dataclass(frozen=True)
class TestSetChoice:
    """The test set of a model: ``dataset`` (a key of ``datasets.DATASETS``) and the folders to look in."""

    dataset: str
    candidates: tuple[Path, ...]

    @property
    def title(self) -> str:
        return DATASET_TITLES.get(self.dataset, self.dataset)

    def find(self) -> Path | None:
        """The first candidate folder that holds the set's test split (nothing is read)."""
        return find_test_folder(self.dataset, list(self.candidates))

    def not_found(self) -> str:
        """Where it looked, in one sentence for the user."""
        where = ", ".join(str(c) for c in self.candidates) or "no folder (none is set)"
        return (f"No {self.title} test set found: looked in {where} for "
                f"{SPLIT_LAYOUTS.get(self.dataset, 'its test files')}.")


def trained_from(predictor) -> Path | None:
    """The data folder the model's run read (``training.config.data_dir``), when the file says so."""
    meta = predictor.metadata
    config = meta.training.get("config") if meta is not None and isinstance(meta.training, dict) else None
    folder = config.get("data_dir") if isinstance(config, dict) else None
    return Path(folder) if isinstance(folder, str) and folder.strip() and "\0" not in folder else None


def test_dataset(predictor) -> str | None:
    """The data set whose test images a model reads: the one its metadata names when that set's images
    are its input, else the built-in set made for its input (an 8x8 model without metadata: the UCI 8x8
    digits; 32x32 RGB: CIFAR-10); None when none is."""
    shape = tuple(predictor.input_shape)
    meta = predictor.metadata
    named = meta.dataset if meta is not None else None
    if named in DATASETS and DATASET_INPUTS[named].shape == shape:
        return named
    # "folder" only when the file says so: its pictures are the user's own
    return next((name for name, spec in DATASET_INPUTS.items() if spec.shape == shape and name != "folder"), None)


def choose_test_set(predictor, shared_folder: str | Path | None = None) -> TestSetChoice | None:
    """The test set a model is judged on, or None when no built-in set has its images (a foreign
    32x32 grey model, say). ``shared_folder``: the data folder every tab shares (settings)."""
    dataset = test_dataset(predictor)
    if dataset is None:
        return None
    found: list[Path] = []
    # A folder of the user's pictures is its own test set: only the folder the model was trained on.
    where = ((trained_from(predictor),) if dataset == "folder" else
             (shared_folder, trained_from(predictor), datasets_dir()))
    for folder in where:
        if folder and Path(folder) not in found:
            found.append(Path(folder))
    return TestSetChoice(dataset, tuple(found))


@dataclass
class StripPage:
    """One page of a model's test images, for the strip."""

    dataset: str
    folder: Path
    size: int                    # images in the set, all classes
    matching: int                # images of the class asked for (all of them when none was)
    start: int                   # the page's first position among the matching images (classes in turn, or one class)
    indices: np.ndarray          # int64 [n]: positions in the test set
    images: np.ndarray           # float32 [n, C, S, S]: canonical images (the model's input adapter made them)
    labels: np.ndarray           # int64 [n]
    label_names: list[str]       # the set's class names (the model's when the set names none)
    probs: np.ndarray            # float32 [n, K]: the model's answers

    @property
    def predicted(self) -> np.ndarray:
        return self.probs.argmax(axis=1)

    @property
    def end(self) -> int:
        return self.start + len(self.indices)


def mixed_order(labels: np.ndarray) -> np.ndarray:
    """Every index, the classes taken in turn (the first image of each class, then the second of each...):
    an image folder lists its classes one after another, and a page of 40 airplanes says little."""
    labels = np.asarray(labels)
    by_class = np.argsort(labels, kind="stable")
    ordered = labels[by_class]
    rank = np.empty(len(labels), np.int64)
    rank[by_class] = np.arange(len(labels)) - np.searchsorted(ordered, ordered, side="left")
    return np.lexsort((labels, rank))


def strip_page(task, predictor, folder: str | Path, dataset: str, test_sets: TestSets, start: int = 0,
               count: int = 40, label: int | None = None) -> StripPage | None:
    """A background job: images ``start .. start + count`` of the test set (only those labelled ``label``
    when given), as canonical images with the model's answers. None when superseded. Raises
    ``evaluation.TestSetError`` (one sentence) when the set cannot be read or is not the model's."""
    test = test_sets.get(folder, dataset, progress=task.progress)
    if task.cancelled:
        return None
    check_fits(predictor, test)
    matching = np.flatnonzero(test.labels == label) if label is not None else mixed_order(test.labels)
    indices = matching[start:start + count].astype(np.int64)
    images = predictor.input.from_rows(test.images[indices], test.full_scale)
    probs = predictor.predict_batch(images) if len(indices) else np.zeros((0, predictor.num_classes), np.float32)
    names = list(test.classes) if test.classes else list(predictor.classes)
    return StripPage(dataset, Path(folder), len(test), len(matching), start, indices, images,
                     np.asarray(test.labels[indices], np.int64), names, probs)


def describe(page: StripPage) -> str:
    """"CIFAR-10 test set · 10,000 images", for the strip's header."""
    return f"{DATASET_TITLES.get(page.dataset, page.dataset)} test set · {page.size:,} images"


