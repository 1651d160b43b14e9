"""core.picture.load_picture: a large picture is reduced while it is decoded (JPEG's draft, Pillow's
block average for the rest), and its own size, after the EXIF rotation, is kept for the user."""
from __future__ import annotations

import io

import numpy as np
import pytest
from pictures import scene
from PIL import Image

from digitpad.core import picture


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_a_large_picture_is_reduced_on_reading_and_keeps_its_size(fmt):
    big = Image.fromarray(scene(400, 300)).resize((2400, 1800), Image.BICUBIC)
    data = io.BytesIO()
    big.save(data, fmt)
    read = picture.load_picture(data.getvalue(), "big")
    assert (read.width, read.height) == (2400, 1800)
    assert picture.WORK_SIDE <= max(read.pixels.shape[:2]) < 2 * picture.WORK_SIDE
    h, w = read.pixels.shape[:2]
    assert abs(w / h - 4 / 3) < 0.02
    # The same picture as Pillow resamples it from full size, within JPEG's and the resampling's error.
    expected = np.asarray(big.resize((w, h), Image.BOX), np.float32)
    assert np.abs(read.pixels.astype(np.float32) - expected).mean() < 6


def test_the_size_after_a_quarter_turn():
    exif = Image.Exif()
    exif[0x0112] = 6
    data = io.BytesIO()
    Image.fromarray(scene(1600, 1200)).save(data, "JPEG", exif=exif.tobytes())
    read = picture.load_picture(data.getvalue(), "turned")
    assert (read.width, read.height) == (1200, 1600) and read.pixels.shape[0] > read.pixels.shape[1]
