"""Judging a model on a test set: a model whose answers are known, on a known set."""
from __future__ import annotations

import numpy as np
import pytest
from known import MISLABELLED, PER_CLASS

from digitpad.core.evaluation import evaluate, find_test_folder, load_test_set
from digitpad.core.inference import Predictor


def test_known_model_on_known_set(pattern_model, known_set):
    folder, images, labels, expected = known_set
    test = load_test_set(folder)
    assert np.array_equal(test.images, images) and np.array_equal(test.labels, labels)
    r = evaluate(Predictor(pattern_model), test, batch=7)       # several batches, one ragged
    assert np.array_equal(r.confusion, expected)
    n = 10 * PER_CLASS + len(MISLABELLED)
    assert r.accuracy == pytest.approx(10 * PER_CLASS / n)
    per = r.per_class_accuracy
    assert per[3] == pytest.approx(PER_CLASS / (PER_CLASS + 2)) and per[2] == 1.0
    # cell (true 3, predicted 5): the two mislabelled 5-patterns
    assert list(labels[r.cell(3, 5)]) == [3, 3] and set(r.preds[r.cell(3, 5)]) == {5}
    # a diagonal cell lists the least confident (faintest) first
    diag = r.cell(4, 4)
    assert list(r.confidence[diag]) == sorted(r.confidence[diag])
    mistakes = r.mistakes()
    assert len(mistakes) == len(MISLABELLED)
    assert list(r.confidence[mistakes]) == sorted(r.confidence[mistakes], reverse=True)


def test_batch_answers_match_one_by_one(pattern_model, known_set):
    p = Predictor(pattern_model)
    test = load_test_set(known_set[0])
    r = evaluate(p, test)
    one = np.stack([p.predict(test.image(i)).probs for i in range(len(test))])
    np.testing.assert_allclose(r.probs, one, atol=1e-5)


def test_find_test_folder(known_set, tmp_path):
    assert find_test_folder("mnist", [None, tmp_path, known_set[0]]) == known_set[0]
    assert find_test_folder("fashion-mnist", [known_set[0]]) is None
