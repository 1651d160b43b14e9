"""Pictures of every kind read the same way, and a photographed digit reads like a drawn one."""
from __future__ import annotations

import io
import os

import numpy as np
import pytest
from PIL import Image

from digitpad.core import picture
from digitpad.core.datasets import load_split
from digitpad.core.inference import Predictor
from digitpad.core.paths import shipped_model_path
from digitpad.core.picture import PictureError, decode_picture, read_picture

RED_ON_BLUE = np.zeros((40, 60, 3), np.uint8)
RED_ON_BLUE[..., 2] = 200
RED_ON_BLUE[10:20, 5:15] = (250, 10, 10)      # a red square in the top left corner


def save(img: Image.Image, path, **kw):
    img.save(path, **kw)
    return path


@pytest.mark.parametrize("suffix, kw", [(".png", {}), (".bmp", {}), (".webp", {"lossless": True}),
                                        (".tiff", {}), (".gif", {})])
def test_lossless_kinds_read_back_as_rgb(tmp_path, suffix, kw):
    a = read_picture(save(Image.fromarray(RED_ON_BLUE), tmp_path / f"p{suffix}", **kw))
    assert a.dtype == np.uint8 and a.shape == (40, 60, 3)
    assert tuple(a[15, 10]) == pytest.approx((250, 10, 10), abs=12) and a[30, 40, 2] >= 180


def test_jpeg_with_an_exif_rotation_is_turned_upright(tmp_path):
    img = Image.fromarray(RED_ON_BLUE)
    exif = Image.Exif()
    exif[0x0112] = 6    # "rotate 90 CW to view": the camera was turned
    a = read_picture(save(img, tmp_path / "r.jpg", exif=exif, quality=95))
    assert a.shape == (60, 40, 3)                # width and height swapped
    assert a[6:14, 21:29, 0].mean() > 200 and a[6:14, 5:15, 0].mean() < 50   # the square went to the top right


def test_alpha_palette_16bit_grey_and_cmyk(tmp_path):
    rgba = np.zeros((20, 20, 4), np.uint8)
    rgba[5:15, 5:15] = (0, 0, 0, 255)             # black ink, the rest transparent
    a = read_picture(save(Image.fromarray(rgba, "RGBA"), tmp_path / "a.png"))
    assert a[0, 0].tolist() == [255, 255, 255] and a[10, 10].tolist() == [0, 0, 0]   # flattened onto paper
    pal = Image.fromarray(RED_ON_BLUE).convert("P", palette=Image.ADAPTIVE, colors=4)
    assert read_picture(save(pal, tmp_path / "p.png"))[15, 10, 0] > 200
    deep = Image.fromarray((np.linspace(0, 65535, 400).reshape(20, 20)).astype(np.uint16))
    g = read_picture(save(deep, tmp_path / "d.png"))
    assert g[0, 0].tolist() == [0, 0, 0] and g[-1, -1, 0] >= 250 and g.shape == (20, 20, 3)
    cmyk = Image.fromarray(RED_ON_BLUE).convert("CMYK")
    assert read_picture(save(cmyk, tmp_path / "c.jpg", quality=95))[15, 10, 0] > 180


@pytest.mark.parametrize("data, reason", [
    (b"", "is empty"),
    (b"not an image at all", "not a picture digitpad can read"),
    (None, "damaged or incomplete"),      # a PNG cut in half
])
def test_bad_files_are_one_sentence(tmp_path, data, reason):
    if data is None:
        buf = io.BytesIO()
        Image.fromarray(RED_ON_BLUE).save(buf, "PNG")
        data = buf.getvalue()[: len(buf.getvalue()) // 2]
    path = tmp_path / "bad.png"
    path.write_bytes(data)
    with pytest.raises(PictureError, match=reason):
        read_picture(path)


def test_special_files_and_huge_claims_are_refused(tmp_path):
    fifo = tmp_path / "fifo.png"
    os.mkfifo(fifo)
    with pytest.raises(PictureError, match="not a regular file"):
        read_picture(fifo)                         # never blocks waiting for a writer
    with pytest.raises(PictureError, match="Cannot read"):
        read_picture(tmp_path / "missing.png")
    # A PNG header claiming 100,000 x 100,000 pixels: refused before any decoding.
    buf = io.BytesIO()
    Image.new("L", (1, 1)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    data[16:24] = (100_000).to_bytes(4, "big") * 2
    with pytest.raises(PictureError):
        decode_picture(bytes(data), "bomb.png")


def test_photo_and_product_preprocessings():
    wide = np.zeros((100, 300, 3), np.uint8)
    wide[:, 100:200] = 255                         # the centre square is white
    x = picture.photo_image(wide, 32)
    assert x.shape == (1, 3, 32, 32) and x.min() > 0.95
    # A dark shoe on a white backdrop: negated (bright on black), trimmed and fitted to 28 on its long side.
    shoe = np.full((200, 400, 3), 255, np.uint8)
    shoe[80:140, 50:350] = 40
    y = picture.product_image(shoe)[0, 0]
    assert y.shape == (28, 28) and y[0].max() < 0.1 and y[14].max() > 0.7
    cols = np.flatnonzero(y.max(axis=0) > 0.5)
    assert cols[0] <= 1 and cols[-1] >= 26        # the long side fills the width


def photographed(digit: np.ndarray, rng) -> np.ndarray:
    """An MNIST digit as a phone photo of pencil on paper: dark ink on a light page, light falling
    off across the page, grain, upscaled to 336 x 336 and JPEG-compressed."""
    big = np.asarray(Image.fromarray(digit).resize((336, 336), Image.BICUBIC), np.float32) / 255
    yy, xx = np.mgrid[0:336, 0:336] / 336
    light = 0.55 + 0.4 * (1 - 0.6 * xx - 0.3 * yy)            # brighter top left
    page = light * (1 - 0.8 * big) + rng.normal(0, 0.02, big.shape)
    rgb = np.repeat((np.clip(page, 0, 1) * 255).astype(np.uint8)[..., None], 3, axis=2)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=80)
    return decode_picture(buf.getvalue())


def test_a_photographed_digit_reads_like_a_drawn_one(mnist_dir):
    test = load_split(mnist_dir, "mnist", "test")
    p = Predictor(shipped_model_path())
    rng = np.random.default_rng(1)
    idx = rng.choice(len(test), 60, replace=False)
    xs = np.concatenate([p.input.from_picture(photographed(test.images[i], rng)) for i in idx])
    accuracy = float((p.predict_batch(xs).argmax(1) == test.labels[idx]).mean())
    assert accuracy >= 0.9, accuracy


def test_a_blank_page_has_no_ink():
    page = np.full((200, 200, 3), 230, np.uint8)
    assert picture.paper_to_ink(page).max() == 0
