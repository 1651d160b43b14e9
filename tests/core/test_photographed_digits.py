"""Photos of handwritten digits (MNIST's test digits as dark ink on paper) through the shipped model's
``from_picture``: under light that falls off to a far corner at under a third of the near one, and in a
dim, noisy photo whose paper is darker than mid-grey. Measured before the grain and the picture's own
range were used: 40 % of the first kind were "not a digit", and 78 % of the second were read wrong."""
from __future__ import annotations

import io

import numpy as np
import pytest
from pictures import digit_photo
from PIL import Image

from digitpad.core import picture
from digitpad.core.datasets import load_split
from digitpad.core.inference import Predictor
from digitpad.core.paths import shipped_model_path

N = 60


@pytest.fixture(scope="module")
def shipped():
    return Predictor(shipped_model_path())


@pytest.fixture(scope="module")
def digits(mnist_dir):
    test = load_split(mnist_dir, "mnist", "test")
    return test.images[:N], test.labels[:N]


def _read(predictor, data: bytes):
    return predictor.predict(predictor.input.from_picture(picture.reduced(picture.decode_picture(data))))


def test_uneven_light(shipped, digits):
    answers = [_read(shipped, digit_photo(d, seed=i)) for i, d in enumerate(digits[0])]
    right = sum(a.top == label for a, label in zip(answers, digits[1]))
    flagged = sum(a.not_digit for a in answers)
    assert right >= 0.95 * N and flagged <= 0.2 * N, (right, flagged)


def test_a_dim_noisy_photo_is_still_dark_ink_on_light_paper(shipped, digits):
    rng = np.random.default_rng(0)
    right = 0
    for d, label in zip(*digits):
        ink = np.pad(np.asarray(Image.fromarray(d).resize((280, 280), Image.BICUBIC), np.float32) / 255, 60)
        grey = 0.45 * (1 - ink) + 0.08 * ink + rng.normal(0, 0.05, ink.shape)   # paper at 0.45: darker than mid-grey
        out = io.BytesIO()
        Image.fromarray((np.clip(grey, 0, 1) * 255).astype(np.uint8)).save(out, "PNG")
        right += _read(shipped, out.getvalue()).top == label
    assert right >= 0.9 * N, right


def test_light_ink_on_dark_stays_as_it_is():
    """An MNIST image saved as it is (white on black) is not inverted."""
    grey = np.zeros((28, 28), np.float32)
    grey[5:23, 12:16] = 1.0
    assert not picture.light_background(grey)
    assert picture.light_background(1.0 - grey) and picture.light_background(0.45 - 0.37 * grey)
