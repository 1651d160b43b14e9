"""The explore views' background jobs (``core.background.LatestOnly``: the newest request wins), and the
test set they share.

Each job reads the active model's test set (``image_strip.choose_test_set`` says which and where) from
one ``SharedTestSets``: the map, the filters' responses and the comparison run on three workers, and a
test set read by one is there for the others (MNIST's test set: ~50 ms; a folder of pictures: seconds
the first time). Every job returns its result with the test set, whose images the views show.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from ..evaluation import TestSet, TestSets, check_fits, evaluate
from ..image_strip import choose_test_set
from .compare import Comparison, compare
from .layout import Cancelled
from .responses import TopImages, layer_responses, top_of
from .testset_map import TestSetMap


class SharedTestSets:
    """``evaluation.TestSets`` for several worker threads: one read at a time, the last set kept."""

    def __init__(self):
        self._sets = TestSets()
        self._lock = threading.Lock()

    def get(self, folder: str | Path, dataset: str, progress: Callable[[int, int], None] | None = None) -> TestSet:
        with self._lock:
            return self._sets.get(folder, dataset, progress)


def locate_test_set(predictor, shared_folder: str | Path | None) -> tuple[str, Path, str] | str:
    """(dataset, folder, title) of the model's test set, or a sentence saying why there is none to read."""
    if predictor is None:
        return "No model loaded."
    choice = choose_test_set(predictor, shared_folder)
    if choice is None:
        c, s, _ = predictor.input_shape
        return f"No test set of {s}×{s} {'colour' if c == 3 else 'grey'} images comes with digitpad."
    folder = choice.find()
    if folder is None:
        return choice.not_found()
    return choice.dataset, folder, choice.title


def _test_set(task, predictor, folder, dataset: str, sets: SharedTestSets) -> TestSet:
    test = sets.get(folder, dataset, progress=task.progress)
    check_fits(predictor, test)
    return test


def map_job(task, predictor, folder, dataset: str, sets: SharedTestSets) -> tuple[TestSetMap, TestSet] | None:
    """The map of the model's test set: the finished one from the cache, else the PCA layout (the
    ``refine_job`` makes the finished one). None when superseded."""
    test = _test_set(task, predictor, folder, dataset, sets)
    try:
        found = TestSetMap.first(predictor, test.images, test.labels, full_scale=test.full_scale,
                                 progress=task.progress, cancelled=lambda: task.cancelled)
    except Cancelled:
        return None
    return found, test


def refine_job(task, first: TestSetMap) -> TestSetMap | None:
    """The finished layout of a PCA map (cached for the next time). None when superseded."""
    try:
        return first.refined(progress=task.progress, cancelled=lambda: task.cancelled)
    except Cancelled:
        return None


def responses_job(task, predictor, folder, dataset: str, sets: SharedTestSets, layer: str, channel: int,
                  k: int) -> tuple[TopImages, TestSet] | None:
    """The images that activate one channel most and least (every layer's responses made, and cached, in
    the one pass). None when superseded."""
    test = _test_set(task, predictor, folder, dataset, sets)
    try:
        found = layer_responses(predictor, test.images, full_scale=test.full_scale, progress=task.progress,
                                cancelled=lambda: task.cancelled)
    except Cancelled:
        return None
    if layer not in found:
        raise ValueError(f"{predictor.name} has no layer {layer!r}")
    return top_of(predictor, found[layer], channel, k), test


def compare_job(task, first, second, folder, dataset: str, sets: SharedTestSets) -> Comparison | None:
    """Both models over the first one's test set and where they disagree. None when superseded."""
    test = _test_set(task, first, folder, dataset, sets)
    return compare(first, second, test, progress=task.progress, cancelled=lambda: task.cancelled)


def evaluation_on_job(task, predictor, test: TestSet):
    """The model compared with, judged on the test set already read for the active one (the Evaluate tab's
    side-by-side accuracy): ``evaluation.evaluate``. None when superseded."""
    return evaluate(predictor, test, progress=task.progress, cancelled=lambda: task.cancelled)
