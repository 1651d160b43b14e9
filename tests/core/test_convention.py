"""Digit models from elsewhere: their input convention found by scoring, used, shown and remembered."""
from __future__ import annotations

import numpy as np
import pytest
from foreign_conventions import CONVENTIONS, wrap

from digitpad.core import convention
from digitpad.core.convention import Convention, ConventionStore
from digitpad.core.datasets import load_split
from digitpad.core.inference import Predictor
from digitpad.core.paths import shipped_model_path

TEST_DIGITS = 600


@pytest.fixture(scope="module")
def mnist_test(mnist_dir):
    test = load_split(mnist_dir, "mnist", "test")
    idx = np.random.default_rng(3).choice(len(test), TEST_DIGITS, replace=False)
    return test.images[idx].astype(np.float32)[:, None] / 255, test.labels[idx]


@pytest.fixture(scope="module")
def shipped_accuracy(mnist_test):
    images, labels = mnist_test
    return float((Predictor(shipped_model_path()).predict_batch(images).argmax(1) == labels).mean())


@pytest.mark.parametrize("name", list(CONVENTIONS))
def test_each_convention_is_found_and_reads_as_well_as_its_own(tmp_path, name, mnist_test, shipped_accuracy):
    path = wrap(shipped_model_path(), tmp_path / "foreign.onnx", name)
    p = Predictor(path)
    assert p.metadata is None and p.convention is not None
    images, labels = mnist_test
    # The app's own path: canonical digits in, Predictor.predict_batch / predict.
    accuracy = float((p.predict_batch(images).argmax(1) == labels).mean())
    assert accuracy >= shipped_accuracy - 0.015, (name, p.convention.used, accuracy)
    assert p.convention.used.accuracy >= 0.95 and p.convention.used.n == 200
    one = p.predict(images[0])
    assert one.probs.shape == (10,) and abs(float(one.probs.sum()) - 1) < 1e-4
    assert p.layers and set(one.activations) == set(p.layers)      # its conv layers, found in the graph


def test_fed_plainly_these_files_read_worse(tmp_path, mnist_test):
    """The fixtures are real tests of the search: with 0..1 white-on-black they would read badly."""
    images, labels = mnist_test
    p = Predictor(wrap(shipped_model_path(), tmp_path / "f.onnx", "black-on-white 0..1"))
    p.use_convention(convention.DEFAULT)
    assert p.convention.chosen == convention.DEFAULT
    assert float((p.predict_batch(images).argmax(1) == labels).mean()) < 0.5


def test_a_known_file_is_not_searched_again_and_a_choice_is_remembered(tmp_path, monkeypatch):
    path = wrap(shipped_model_path(), tmp_path / "f.onnx", "0..255 NHWC")
    first = Predictor(path)
    assert first.convention.used.convention == Convention("0..255")
    other = next(s.convention for s in first.convention.scores[1:])
    first.use_convention(other)
    monkeypatch.setattr(convention, "search", lambda *a, **k: pytest.fail("searched again"))
    again = Predictor(path)
    assert again.convention.chosen == other and again.input.spec.range == first.input.spec.range
    # A copy elsewhere is the same content: remembered too.
    copy = tmp_path / "copy.onnx"
    copy.write_bytes(path.read_bytes())
    assert Predictor(copy).convention.chosen == other


def test_a_damaged_store_is_searched_again(tmp_path):
    path = wrap(shipped_model_path(), tmp_path / "f.onnx", "mean/std NCHW")
    Predictor(path)
    store = ConventionStore()
    store.path.write_text('{"' + "x" * 10 + '": [1, 2')
    assert Predictor(path).convention.used.convention == Convention("mnist-normalised")


def test_models_that_do_not_read_digits_keep_the_plain_reading(tmp_path, pattern_model, random_model):
    from model_factory import make_foreign_model

    for path in (pattern_model, make_foreign_model(tmp_path / "random.onnx")):
        p = Predictor(path)
        assert p.convention.used.convention == convention.DEFAULT, path


def test_the_summary_says_what_was_found(tmp_path):
    p = Predictor(wrap(shipped_model_path(), tmp_path / "f.onnx", "0..255 NHWC"))
    text = p.convention.summary(p.input.spec.layout)
    assert text.startswith("Expects values 0..255, ink white on black, channels last (found): reads")
    assert "of 200 reference digits" in text


def test_prepare_later_leaves_the_slow_part_to_the_caller(tmp_path):
    from digitpad.core import foreign

    path = wrap(shipped_model_path(), tmp_path / "f.onnx", "-1..1 flat")
    p = Predictor(path, prepare=False)
    assert p.foreign_pending and p.convention is None and p.layers == []
    p.adopt(foreign.prepare(p, path.read_bytes()))
    assert not p.foreign_pending and p.convention.used.convention == Convention("-1..1") and p.layers
