"""Pictures (image files, the clipboard, photos of a handwritten digit) as arrays, and the
named preprocessings that turn a picture into a model's canonical image.

A picture here is uint8 ``[H, W, 3]`` RGB: whatever the file held (palette, 16-bit, grey, CMYK,
alpha, an EXIF rotation) is converted once, on reading, so everything after reads one kind.
Pillow does the decoding and the resampling; it is imported on first use (the app starts without it).

The preprocessings (``InputSpec.preprocessing``) that take pictures:
- "photo" (CIFAR-10, a folder of the user's images): centre-cropped to a square, resized to the
  model's side, RGB (or grey for a 1-channel model);
- "product" (Fashion-MNIST, made by Zalando from product photos): grey, negated when the
  background is light so the object is bright on black, trimmed to the object, its longer side
  fitted to 28 and centred, as the data set's own pipeline did;
- the drawing preprocessings ("mnist", "optdigits") take a photo or scan of a handwritten digit
  through ``paper_to_ink`` first: dark ink on light paper under uneven light becomes the canvas's
  white ink on black.
"""
from __future__ import annotations

import io
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import fileio

SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif", ".tif", ".tiff")
MAX_FILE_BYTES = 100 * 1024 * 1024     # a photo from a phone is 2-10 MB
_PICTURE = fileio.Kind("a picture", MAX_FILE_BYTES)
MAX_PIXELS = 80_000_000                # a 10,000 x 8,000 scan; more is a decompression bomb, not a photo
WORK_SIDE = 512                        # pictures are reduced to this (longer side) before any analysis


class PictureError(ValueError):
    """A picture that cannot be used; the message is one sentence for the user."""


def _read_file(path: Path) -> bytes:
    """The file's bytes: a regular file (no FIFO or device, links followed), at most MAX_FILE_BYTES."""
    try:
        data = fileio.read_bytes(path, _PICTURE)
    except fileio.FileReadError as e:
        raise PictureError(f"Cannot read {path.name}: {e.strerror}.") from None
    if not data:
        raise PictureError(f"{path.name} is empty.")
    return data


@dataclass(frozen=True)
class Picture:
    """A picture as read: ``pixels`` uint8 [h, w, 3] RGB (a large one already reduced, its longer side
    from WORK_SIDE to twice that), and the size it has in the file, after its EXIF rotation."""

    pixels: np.ndarray
    width: int
    height: int


def read_picture(path: str | os.PathLike) -> np.ndarray:
    """An image file (PNG, JPEG, BMP, WebP, GIF, TIFF) as uint8 [H, W, 3] RGB: the EXIF rotation
    applied, transparency flattened onto white (a scan or a drawing with an alpha channel is ink
    on paper), palette, grey, 16-bit and CMYK images converted; a picture more than twice WORK_SIDE
    reduced on decoding (every use reduces to WORK_SIDE or less). Raises PictureError."""
    return load_picture(path).pixels


def decode_picture(data: bytes, name: str = "the picture") -> np.ndarray:
    """``read_picture`` for bytes already in memory (a drop, the clipboard)."""
    return load_picture(data, name).pixels


def load_picture(source: str | os.PathLike | bytes, name: str | None = None) -> Picture:
    """``read_picture`` (a path) or ``decode_picture`` (bytes), with the picture's own size."""
    if not isinstance(source, (bytes, bytearray)):
        path = Path(source)
        source, name = _read_file(path), name or path.name
    return _decode(bytes(source), name or "the picture")


def _decode(data: bytes, name: str) -> Picture:
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            w, h = img.size
            if w < 1 or h < 1 or w * h > MAX_PIXELS:
                raise PictureError(f"{name} is {w} x {h} pixels; pictures up to {MAX_PIXELS // 1_000_000} "
                                   "million pixels are opened.")
            img.seek(0)   # an animation: its first frame
            if img.format == "JPEG":
                # Decode at 1/2, 1/4 or 1/8 scale when that still covers WORK_SIDE (every use reduces to
                # that or less): a 12-megapixel photo decodes in a tenth of the time.
                img.draft("RGB", (WORK_SIDE, WORK_SIDE))
            before = img.size
            ImageOps.exif_transpose(img, in_place=True)   # in place: a copy of 12 megapixels is ~40 ms
            if img.size != before:
                w, h = h, w       # a quarter turn (EXIF orientations 5 to 8)
            return Picture(picture_array(_to_rgb(_reduce(img))), w, h)
    except PictureError:
        raise
    except UnidentifiedImageError:
        # (Pillow's own words name a BytesIO object, which tells a user nothing.)
        raise PictureError(f"{name} is not a picture digitpad can read (PNG, JPEG, BMP, WebP, GIF or "
                           "TIFF).") from None
    except Image.DecompressionBombError as e:
        raise PictureError(f"{name} is not a picture digitpad can read ({_first_line(e)}).") from None
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError, IndexError, struct.error) as e:
        raise PictureError(f"{name} is damaged or incomplete ({_first_line(e)}).") from None


def _reduce(img):
    """A large picture's pixels averaged in integer blocks by Pillow, the longer side kept at least
    WORK_SIDE: converting and resampling 12 megapixels in NumPy cost ~0.2 s of a PNG's opening."""
    factor = max(img.size) // WORK_SIDE
    if factor >= 2 and img.mode in ("RGB", "RGBA", "L", "LA"):
        return img.reduce(factor)
    return img


def _first_line(e: Exception) -> str:
    text = str(e).strip().splitlines()
    return (text[0][:160] if text else type(e).__name__)


def _to_rgb(img):
    from PIL import Image

    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        a = np.asarray(img, dtype=np.float64)
        top = 65535.0 if img.mode.startswith("I;16") or a.max() > 255 else 255.0
        img = Image.fromarray(np.clip(a / top * 255 + 0.5, 0, 255).astype(np.uint8), "L")
    elif img.mode == "F":
        a = np.nan_to_num(np.asarray(img, dtype=np.float64))
        hi = a.max() if a.max() > 1 else 1.0
        img = Image.fromarray(np.clip(a / hi * 255 + 0.5, 0, 255).astype(np.uint8), "L")
    if img.mode == "P" or img.mode in ("LA", "PA", "RGBa", "La") or "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode == "RGBA":
        paper = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(paper, img)
    return img.convert("RGB")


def picture_array(a: np.ndarray) -> np.ndarray:
    """Any [H, W], [H, W, 1], [H, W, 3] or [H, W, 4] array (uint8, or float 0..1) as uint8 [H, W, 3]
    RGB; four channels are RGBA, flattened onto white."""
    a = np.asarray(a)
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or a.shape[2] not in (1, 3, 4) or min(a.shape[:2]) < 1:
        raise PictureError(f"a picture is [height, width] or [height, width, 1, 3 or 4 channels], not {list(a.shape)}")
    if a.shape[0] * a.shape[1] > MAX_PIXELS:
        raise PictureError(f"the picture has {a.shape[0] * a.shape[1]:,} pixels; at most {MAX_PIXELS:,} are opened")
    if a.dtype != np.uint8:
        a = (np.clip(np.nan_to_num(a.astype(np.float32)), 0, 1) * 255 + 0.5).astype(np.uint8)
    if a.shape[2] == 4:
        alpha = a[..., 3:].astype(np.float32) / 255
        a = (a[..., :3] * alpha + 255 * (1 - alpha) + 0.5).astype(np.uint8)
    elif a.shape[2] == 1:
        a = np.repeat(a, 3, axis=2)
    return np.ascontiguousarray(a)


# -- resampling ---------------------------------------------------------------------------------------
def _resize(a: np.ndarray, width: int, height: int) -> np.ndarray:
    """uint8 [H, W] or [H, W, 3] resized with Pillow (antialiased: a box filter before Lanczos when
    shrinking by a lot, which is both faster and as sharp)."""
    from PIL import Image

    img = Image.fromarray(a)
    if img.size == (width, height):
        return a
    return np.asarray(img.resize((width, height), Image.LANCZOS, reducing_gap=2.0))


def reduced(rgb: np.ndarray, side: int = WORK_SIDE) -> np.ndarray:
    """The picture with its longer side at most ``side``: analysis of a 12-megapixel photo at full
    size costs a second and sees nothing more."""
    h, w = rgb.shape[:2]
    scale = side / max(h, w)
    if scale >= 1:
        return rgb
    return _resize(rgb, max(1, round(w * scale)), max(1, round(h * scale)))


def luminance(rgb: np.ndarray) -> np.ndarray:
    """float32 [H, W] 0..1 (ITU-R 601 weights, as Pillow's "L")."""
    a = np.asarray(rgb, np.float32)
    return (a[..., 0] * 0.299 + a[..., 1] * 0.587 + a[..., 2] * 0.114) * np.float32(1 / 255)


def centre_box(width: int, height: int) -> tuple[int, int, int]:
    """(left, top, side) of the centre square of a ``width`` x ``height`` picture."""
    side = min(width, height)
    return (width - side) // 2, (height - side) // 2, side


def centre_square(rgb: np.ndarray) -> np.ndarray:
    left, top, side = centre_box(rgb.shape[1], rgb.shape[0])
    return rgb[top:top + side, left:left + side]


def border(grey: np.ndarray) -> np.ndarray:
    """The outermost rows and columns' pixels (a picture's background, usually)."""
    return np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])


def light_background(grey: np.ndarray) -> bool:
    """Whether the picture's border is mostly lighter than what it frames: paper, a white product
    photo's backdrop. Measured against the picture's own range (its 1st to 99th percentile), not
    against mid-grey: paper in a dim photo is darker than 0.5 and still the light part of it."""
    low, high = np.percentile(grey, (1, 99))
    return float(np.median(border(grey))) > (low + high) / 2


# -- the preprocessings ---------------------------------------------------------------------------------
def photo_pixels(rgb: np.ndarray, size: int) -> np.ndarray:
    """The centre square resized to ``size``: uint8 [size, size, 3] (what an image folder keeps)."""
    return _resize(centre_square(np.asarray(rgb, np.uint8)), size, size)


def photo_image(rgb: np.ndarray, size: int, channels: int = 3) -> np.ndarray:
    """CIFAR-10's way: the centre square, resized to ``size``; float32 [1, channels, size, size], 0..1."""
    small = photo_pixels(rgb, size)
    x = small.astype(np.float32) * np.float32(1 / 255)
    if channels == 1:
        return luminance(small)[None, None]
    return np.ascontiguousarray(x.transpose(2, 0, 1))[None]


# Fashion-MNIST (Xiao et al. 2017): "trimming the edges that are close to the colour of the
# boundary pixel", the longer edge resized to 28, the shorter extended to 28 around the centre,
# intensities negated, grey. TRIM is how far from the backdrop a pixel must be to count as object.
TRIM = 0.08


def product_image(rgb: np.ndarray, size: int = 28) -> np.ndarray:
    """Fashion-MNIST's way; float32 [1, 1, size, size], the object bright on black."""
    grey = luminance(reduced(np.asarray(rgb, np.uint8)))
    if light_background(grey):
        grey = 1.0 - grey
    backdrop = float(np.median(border(grey)))
    mask = np.abs(grey - backdrop) > TRIM
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size and cols.size:
        grey = grey[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    grey = np.clip(grey - backdrop, 0, None) / max(1e-6, 1.0 - backdrop)   # the backdrop goes black
    h, w = grey.shape
    scale = size / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    fitted = _resize((np.clip(grey, 0, 1) * 255 + 0.5).astype(np.uint8), nw, nh)
    out = np.zeros((size, size), np.float32)
    top, left = (size - nh) // 2, (size - nw) // 2
    out[top:top + nh, left:left + nw] = fitted.astype(np.float32) * np.float32(1 / 255)
    return out[None, None]


BLOCKS = 8          # the paper's brightness is estimated on an 8x8 grid of blocks
PAPER_PERCENTILE = 90
INK_LOW, INK_HIGH = 0.15, 0.55   # of the stretched darkness: below is paper texture, above full ink


def paper_to_ink(rgb: np.ndarray) -> np.ndarray:
    """A photo or scan of a handwritten digit as the canvas draws one: float32 [H, W] (the longer
    side at most WORK_SIDE), white ink on black, 0..1.

    Dark ink on light paper (the usual case) is inverted; a picture that is already light on dark
    (an MNIST image saved as PNG, chalk on a board) is kept. Uneven light: the paper's brightness
    is estimated per block (a high percentile, which the thin strokes do not reach) and smoothed,
    and each pixel's darkness is measured against the paper around it. The darkness is then
    stretched to its own range and faint texture dropped."""
    grey = luminance(reduced(picture_array(rgb)))
    if not light_background(grey):
        grey = 1.0 - grey          # light ink on dark: the same as dark ink on light paper from here
    paper, grain = _paper_level(grey)
    # Darkness against the paper, less its grain: relative darkness is right for light (ink reflects a
    # share of what falls on it), but sensor noise is not relative, and in a dim corner it was read as
    # faint ink that widened the digit's box (40 % of photographed MNIST digits "not a digit").
    darkness = np.clip((paper - grey - grain) / np.maximum(paper, 0.05), 0, 1)
    top = float(np.percentile(darkness, 99.5))
    if top < 0.1:                 # no stroke stands out from the paper: nothing drawn
        return np.zeros_like(grey)
    darkness /= top
    ink = np.clip((darkness - INK_LOW) / (INK_HIGH - INK_LOW), 0, 1)
    return ink.astype(np.float32)


def _paper_level(grey: np.ndarray) -> tuple[np.ndarray, float]:
    """The paper's brightness under every pixel: the PAPER_PERCENTILE of each of BLOCKS x BLOCKS
    blocks, interpolated bilinearly back to the picture's size; and the paper's grain, how far its
    pixels fall below that level (the median over blocks of PAPER_PERCENTILE minus the block's
    median: most blocks are mostly paper)."""
    h, w = grey.shape
    ys = np.linspace(0, h, BLOCKS + 1).astype(int)
    xs = np.linspace(0, w, BLOCKS + 1).astype(int)
    grid = np.empty((BLOCKS, BLOCKS), np.float32)
    spread = np.zeros((BLOCKS, BLOCKS), np.float32)
    for i in range(BLOCKS):
        for j in range(BLOCKS):
            block = grey[ys[i]:max(ys[i + 1], ys[i] + 1), xs[j]:max(xs[j + 1], xs[j] + 1)]
            if block.size:
                high, middle = np.percentile(block, (PAPER_PERCENTILE, 50))
                grid[i, j], spread[i, j] = high, high - middle
            else:
                grid[i, j] = 1.0
    # Bilinear from block centres to pixel centres, and linear beyond the outer centres: light that
    # falls off towards a corner keeps falling there (clamped, the dimmest corner read as ink).
    cy = (np.arange(h) + 0.5) / h * BLOCKS - 0.5
    cx = (np.arange(w) + 0.5) / w * BLOCKS - 0.5
    y0 = np.clip(np.floor(cy).astype(int), 0, BLOCKS - 2)
    x0 = np.clip(np.floor(cx).astype(int), 0, BLOCKS - 2)
    y1, x1 = y0 + 1, x0 + 1
    fy = (cy - y0)[:, None]
    fx = (cx - x0)[None, :]
    top = grid[y0][:, x0] * (1 - fx) + grid[y0][:, x1] * fx
    bottom = grid[y1][:, x0] * (1 - fx) + grid[y1][:, x1] * fx
    return np.clip(top * (1 - fy) + bottom * fy, 0.0, 1.0).astype(np.float32), float(np.median(spread))
