"""Turn a drawing into what an MNIST network expects, the way MNIST itself was made.

MNIST digits were cropped to their ink, scaled (with antialiasing) so the longer side
is 20 px keeping the aspect ratio, and placed in a 28x28 field so that the centre of
mass sits at the centre. A network trained on that data is only reliable on input made
the same way, so the app does exactly this and shows the result.

numpy only: the GUI imports this on every stroke and it must stay cheap to import.
Coordinates: pixel ``i`` covers the continuous interval ``[i, i + 1)``, so the centre
of a 28-pixel field is 14.0 (13.5 in pixel-index terms).
"""
from __future__ import annotations

import numpy as np

SIZE = 28          # side of the model input
BOX = 20           # the longer side of the digit after scaling (MNIST's 20x20 box)
INK_THRESHOLD = 0.1  # below this a pixel is antialiasing fringe or noise, not ink
MIN_INK_MASS = 1.0   # total ink (sum of values) under which a drawing counts as empty


def _area_weights(n_in: int, n_out: int, scale: float, offset: float) -> np.ndarray:
    """Area-resampling matrix ``W`` [n_out, n_in] for ``x_out = offset + scale * x_in``.

    ``W[j, i]`` is the overlap of input pixel ``i`` with the footprint of output pixel
    ``j`` (both mapped to output space), so each output is the mean of the input over
    its footprint: a box filter that antialiases when shrinking, preserves total ink
    up to the factor ``scale`` and moves the centre of mass exactly with the mapping.
    """
    lo = offset + scale * np.arange(n_in, dtype=np.float64)   # input pixel edges in output space
    hi = lo + scale
    j = np.arange(n_out, dtype=np.float64)[:, None]
    return np.clip(np.minimum(hi[None, :], j + 1.0) - np.maximum(lo[None, :], j), 0.0, None)


def _shrink_rows(a: np.ndarray, n_out: int, scale: float, offset: float) -> np.ndarray:
    """``_area_weights(len(a), n_out, scale, offset) @ a`` for scale <= 1, without BLAS.

    When shrinking, each input row spreads over at most two output rows, so two scaled
    copies summed with ``np.add.reduceat`` (the target rows never decrease) do the work
    of the dense product. Why not the product: numpy's OpenBLAS runs a 28 x 400 x 400
    product on every core it can find, and when another process (training) keeps those
    cores busy, its threads wait on each other: 0.4 ms became 3 ms here.
    """
    n_in = a.shape[0]
    lo = offset + scale * np.arange(n_in, dtype=np.float64)
    j0 = np.floor(lo).astype(np.int64)
    w0 = (np.minimum(lo + scale, j0 + 1.0) - lo).astype(np.float32)   # the part in row j0
    w1 = np.float32(scale) - w0                                        # the rest, in row j0 + 1
    out = np.zeros((n_out + 2, a.shape[1]), np.float32)                # rows -1 and n_out: clipped off
    for target, weight in ((j0, w0), (j0 + 1, w1)):
        t = np.clip(target, -1, n_out) + 1
        starts = np.flatnonzero(np.r_[True, t[1:] != t[:-1]])
        out[t[starts]] += np.add.reduceat(a * weight[:, None], starts, axis=0)
    return out[1:-1]


def _resample(crop: np.ndarray, scale: float, off_y: float, off_x: float) -> np.ndarray:
    """Area-resample crop into the SIZE x SIZE field (see _area_weights)."""
    if scale <= 1.0:
        rows = _shrink_rows(crop, SIZE, scale, off_y)                 # [28, w]
        return np.ascontiguousarray(_shrink_rows(np.ascontiguousarray(rows.T), SIZE, scale, off_x).T)
    # Enlarging a drawing smaller than 20 px: tiny matrices, a dense product is fine.
    wy = _area_weights(crop.shape[0], SIZE, scale, off_y).astype(np.float32)
    wx = _area_weights(crop.shape[1], SIZE, scale, off_x).astype(np.float32)
    return wy @ crop @ wx.T


def ink_bbox(img: np.ndarray, threshold: float = INK_THRESHOLD) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right), bottom/right exclusive, of pixels above threshold; None if none."""
    mask = img > threshold
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def ink_crop(img: np.ndarray) -> np.ndarray | None:
    """The drawing cropped to its ink, faint fringe dropped; None when there is no ink to speak
    of. A NaN or inf pixel (a damaged image) reads as background or full ink."""
    img = np.asarray(img, dtype=np.float32)
    if img.ndim != 2:
        raise ValueError(f"expected a 2-D image, got shape {img.shape}")
    box = ink_bbox(img)
    if box is None:
        return None
    top, bottom, left, right = box
    crop = img[top:bottom, left:right]
    # Drop sub-threshold fringe so faint noise far from the digit cannot pull the
    # centre of mass; keep the antialiased edge values of real strokes.
    crop = np.where(crop > INK_THRESHOLD * 0.5, crop, np.float32(0.0))
    mass = float(crop.sum(dtype=np.float64))
    if not np.isfinite(mass):   # checked once per frame, repaired only when needed
        return ink_crop(np.clip(np.nan_to_num(img, nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0))
    return crop if mass >= MIN_INK_MASS else None


def to_model_input(img: np.ndarray) -> np.ndarray | None:
    """MNIST-style model input from a white-on-black drawing.

    ``img``: float array [H, W], values 0..1, ink white on black, any size.
    Returns float32 [1, 1, 28, 28] in 0..1, or None when there is no ink to speak of.
    """
    crop = ink_crop(img)
    if crop is None:
        return None
    mass = float(crop.sum(dtype=np.float64))
    h, w = crop.shape
    scale = BOX / max(h, w)
    # Centre of mass of the crop in continuous coordinates (pixel centres at i + 0.5).
    cy = float(crop.sum(axis=1, dtype=np.float64) @ (np.arange(h) + 0.5)) / mass
    cx = float(crop.sum(axis=0, dtype=np.float64) @ (np.arange(w) + 0.5)) / mass
    # Place so the mapped centre of mass lands on the field centre. Area resampling
    # with a fractional offset does sub-pixel placement without a second resampling.
    off_y = SIZE / 2 - scale * cy
    off_x = SIZE / 2 - scale * cx
    # Each output pixel's weights sum to its covered fraction (1 inside the digit),
    # so a solid stroke keeps its brightness whether shrunk or enlarged.
    out = _resample(crop, scale, off_y, off_x)
    np.clip(out, 0.0, 1.0, out=out)
    return out[None, None]


# -- the UCI 8x8 digits (optdigits) ---------------------------------------------------------
# optdigits.names: NIST's programs made normalised 32x32 bitmaps, whose on-pixels were counted
# in 4x4 blocks. NIST's second-generation normalisation (hsfsys, norm_2nd_gen) stretches the
# ink's bounding box to 20 wide x 32 high, aspect ratio NOT kept (so a "1" is a wide bar),
# centres it in 32x32, evens out the stroke width by eroding or dilating until the on-pixel
# count is in a band, and shears the rows to stand the digit upright (shear_char). The data
# agree: every digit fills all 8 block rows, columns 1..6 hold the ink (20 px from x = 6),
# and the ink that reaches columns 0 and 7 (14% of the training digits) is the shear's.
NIST_FIELD = 32               # the normalised bitmap's side
NIST_BOX_W, NIST_BOX_H = 20, 32
NIST_BOX_X = (NIST_FIELD - NIST_BOX_W) // 2
BLOCK = 4                     # 4x4 blocks -> 8x8 counts 0..16
OPTDIGITS_SIZE = NIST_FIELD // BLOCK
# hsfsys' stroke-width band: erode above 412 on-pixels (twice above 560), dilate below 256
# (twice below 108).
ERODE_ABOVE, ERODE_TWICE_ABOVE, DILATE_BELOW, DILATE_TWICE_BELOW = 412, 560, 256, 108


def _resample_axis0(a: np.ndarray, n_out: int, scale: float) -> np.ndarray:
    """Area-resample the rows of ``a`` onto ``n_out`` rows (row i -> [scale * i, scale * (i + 1)))."""
    if scale <= 1.0:
        return _shrink_rows(a, n_out, scale, 0.0)
    return _area_weights(a.shape[0], n_out, scale, 0.0).astype(np.float32) @ a  # tiny: a short stroke


def _neighbours4(b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The 4-neighbours of every pixel (north, south, west, east); off beyond the border."""
    p = np.pad(b, 1)
    return p[:-2, 1:-1], p[2:, 1:-1], p[1:-1, :-2], p[1:-1, 2:]


def _even_stroke_width(b: np.ndarray) -> np.ndarray:
    """NIST's stroke-width normalisation: erode (a pixel survives if its 4 neighbours are on) or
    dilate (a pixel turns on if a 4-neighbour is on) once or twice by the on-pixel count."""
    n = int(b.sum())
    if n > ERODE_ABOVE:
        for _ in range(2 if n > ERODE_TWICE_ABOVE else 1):
            north, south, west, east = _neighbours4(b)
            b = b & north & south & west & east
    elif n < DILATE_BELOW:
        for _ in range(2 if n < DILATE_TWICE_BELOW else 1):
            north, south, west, east = _neighbours4(b)
            b = b | north | south | west | east
    return b


def _deslant(b: np.ndarray) -> np.ndarray:
    """NIST's shear_char: shift each row so the leftmost ink two rows below the top and two rows
    above the bottom line up, rows moving in proportion to their distance from the middle row."""
    rows = np.flatnonzero(b.any(axis=1))
    if rows.size == 0 or rows[-1] - rows[0] + 1 <= 5:
        return b
    top, bottom = rows[0] + 2, rows[-1] - 2
    top_left, bottom_left = np.flatnonzero(b[top]), np.flatnonzero(b[bottom])
    if top_left.size == 0 or bottom_left.size == 0 or top_left[0] == bottom_left[0]:
        return b
    slope = (top_left[0] - bottom_left[0]) / (bottom - top)
    h, w = b.shape
    shift = np.rint((np.arange(h) - h // 2) * slope).astype(np.int64)[:, None]    # > 0: to the right
    src = np.arange(w)[None, :] - shift
    inside = (src >= 0) & (src < w)
    return np.take_along_axis(b, np.clip(src, 0, w - 1), axis=1) & inside


def nist_bitmap(img: np.ndarray) -> np.ndarray | None:
    """The 32x32 bool bitmap NIST's normalisation makes of a white-on-black drawing; None for no ink."""
    crop = ink_crop(img)
    if crop is None:
        return None
    h, w = crop.shape
    rows = _resample_axis0(crop, NIST_BOX_H, NIST_BOX_H / h)                                       # [32, w]
    box_img = _resample_axis0(np.ascontiguousarray(rows.T), NIST_BOX_W, NIST_BOX_W / w).T        # [32, 20]
    bitmap = np.zeros((NIST_FIELD, NIST_FIELD), bool)
    # NIST's scans were bilevel: a pixel is on when the ink covers at least half of it.
    bitmap[:, NIST_BOX_X:NIST_BOX_X + NIST_BOX_W] = box_img >= 0.5
    return _deslant(_even_stroke_width(bitmap))


def to_optdigits_input(img: np.ndarray) -> np.ndarray | None:
    """The UCI 8x8 digits' model input from a white-on-black drawing: NIST's 32x32 bitmap
    (``nist_bitmap``), on-pixels counted in 4x4 blocks, divided by 16 so values stay 0..1.

    Returns float32 [1, 1, 8, 8], or None when there is no ink to speak of.
    """
    bitmap = nist_bitmap(img)
    if bitmap is None:
        return None
    counts = bitmap.reshape(OPTDIGITS_SIZE, BLOCK, OPTDIGITS_SIZE, BLOCK).sum(axis=(1, 3), dtype=np.int32)
    return (counts.astype(np.float32) * np.float32(1.0 / (BLOCK * BLOCK)))[None, None]


# The named preprocessings a model file's ``input.preprocessing`` may ask for (contract.InputSpec).
PREPROCESSINGS = {"mnist": to_model_input, "optdigits": to_optdigits_input}


def _components(mask: np.ndarray) -> list[int]:
    """Sizes of the 8-connected components of a small boolean mask (flood fill)."""
    seen = np.zeros_like(mask, dtype=bool)
    h, w = mask.shape
    sizes = []
    for y0, x0 in zip(*np.nonzero(mask)):
        if seen[y0, x0]:
            continue
        seen[y0, x0] = True
        stack = [(y0, x0)]
        size = 0
        while stack:
            y, x = stack.pop()
            size += 1
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    ny, nx = y + dy, x + dx
                    if 0 <= ny < h and 0 <= nx < w and mask[ny, nx] and not seen[ny, nx]:
                        seen[ny, nx] = True
                        stack.append((ny, nx))
        sizes.append(size)
    return sizes


def stroke_width(x28: np.ndarray) -> float:
    """Estimated stroke thickness in model-input pixels: 2 * area / perimeter.

    For a stroke of width w and length L the binarised area is about w*L and its
    outline about 2L, so the ratio recovers w without skeletonising.
    """
    m = np.asarray(x28).reshape(SIZE, SIZE) > 0.5
    area = int(m.sum())
    if area == 0:
        return 0.0
    padded = np.pad(m, 1)
    perimeter = int((padded[1:, :] != padded[:-1, :]).sum() + (padded[:, 1:] != padded[:, :-1]).sum())
    return 2.0 * area / max(perimeter, 1)


def input_hints(img: np.ndarray, x28: np.ndarray | None = None) -> list[str]:
    """Short warnings when a drawing is unlike what an MNIST model was trained on.

    ``img`` is the raw canvas array, ``x28`` its model input (computed if omitted).
    Pure function; returns [] for a typical digit or an empty canvas.
    """
    img = np.asarray(img, dtype=np.float32)
    if x28 is None:
        x28 = to_model_input(img)
    if x28 is None:
        return []
    hints = []
    top, bottom, left, right = ink_bbox(img)
    extent = max(bottom - top, right - left) / max(img.shape)
    if extent < 0.15:
        hints.append("Very small drawing: draw the digit larger.")
    width = stroke_width(x28)
    if width < 1.3:
        hints.append("Very thin strokes: try a wider pen.")
    elif width > 4.5:
        hints.append("Very thick strokes: try a narrower pen.")
    sizes = _components(np.asarray(x28).reshape(SIZE, SIZE) > 0.3)
    total = sum(sizes)
    big = [s for s in sizes if s >= max(3, 0.04 * total)]  # a stray dot counts; AA specks do not
    if len(big) >= 2:
        hints.append(f"{len(big)} separate pieces: MNIST digits are one connected shape.")
    return hints
