"""The one input seam: every conversion between a source, the canonical image, the graph's
tensor and what a person is shown, for one model.

    a drawing [H, W] ──named preprocessing──┐
    a picture [H, W, 3] ──named preprocessing─┼─> canonical [N, C, S, S] float32 0..1 ──> the graph's tensor
    a data-set row (uint8 / full scale) ──────┘          │                                (layout, range, mean/std,
                                                          └─> shown: [S, S] grey or [S, S, 3] RGB       polarity)

The canonical image is the same for every model of a kind (grey: ink or object white on black;
colour: RGB), so the views, saliency, evaluation and the test-set pictures work on it alone and
never reshape or rescale. ``InputAdapter`` is built once per model from its input description
(``contract.InputSpec``: the metadata's, else one read off the graph's input shape) and the graph's
input shape, which it checks; the Predictor holds it as ``Predictor.input``.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import picture, preprocess
from .contract import DRAWN, LAYOUTS, MNIST_INPUT, OPTDIGITS_INPUT, PREPROCESSING_SHAPES, InputSpec

GRAPH_CHANNELS = (1, 3)   # a grey canonical image may feed a 3-channel graph (repeated)
# The named preprocessings in words, for the Model page ({size}: the model's side).
PREPROCESSING_TEXT = {
    "mnist": "a drawing (or a photo of a handwritten digit, made into ink): cropped to the ink, fitted in 20×20 "
             "and centred by its centre of mass in 28×28, as MNIST was made",
    "optdigits": "a drawing: NIST's 32×32 normalisation, then the ink counted in 4×4 blocks, as the UCI 8×8 digits "
                 "were made",
    "product": "a picture of one object: grey, trimmed to the object, its longer side fitted to 28 and centred, "
               "a light background negated, as Fashion-MNIST was made",
    "photo": "a photo: its centre square, resized to {size}×{size}, as CIFAR-10's images were made",
}


class InputMismatch(ValueError):
    """The input description and the graph disagree, or digitpad cannot feed this graph; one sentence."""


def _dims(shape: Sequence) -> list[int | None]:
    """A graph input shape with symbolic dimensions ("N", "batch", None, -1) as None."""
    return [d if isinstance(d, int) and d > 0 else None for d in shape]


def _shown(shape: Sequence) -> str:
    return "[" + ", ".join(str(d) if isinstance(d, int) and d > 0 else "N" for d in shape) + "]"


def spec_from_graph(shape: Sequence) -> InputSpec:
    """The input description of a file without digitpad metadata, read off its input shape: the
    layout (NCHW, NHWC, flat), the side and the channels. Values are taken as 0..1, ink white on
    black (a side of 8: the UCI digits; 28: MNIST-style; other sides with 3 channels: photos)."""
    dims = _dims(shape)
    side, channels, layout = MNIST_INPUT.size, 1, "NCHW"
    if len(dims) == 4:
        if dims[1] in GRAPH_CHANNELS and dims[2] == dims[3] and dims[2]:
            side, channels = dims[2], dims[1]
        elif dims[3] in GRAPH_CHANNELS and dims[1] == dims[2] and dims[1]:
            side, channels, layout = dims[1], dims[3], "NHWC"
    elif len(dims) == 3 and dims[1] == dims[2] and dims[1]:
        side, layout = dims[1], "flat"       # [N, H, W]: the same values as flat
    elif len(dims) == 2 and dims[1]:
        for c in GRAPH_CHANNELS:
            s = int(round((dims[1] / c) ** 0.5))
            if c * s * s == dims[1]:
                side, channels, layout = s, c, "flat"
                break
    if side == OPTDIGITS_INPUT.size:
        return InputSpec(size=side, preprocessing="optdigits", layout=layout)
    if side == MNIST_INPUT.size or channels == 1:
        # A grey digit model (a 3-channel 28x28 graph takes the grey digit on each channel).
        return InputSpec(size=side, preprocessing="mnist" if side == MNIST_INPUT.size else "photo", layout=layout)
    return InputSpec(size=side, channels=3, preprocessing="photo", polarity="natural", layout=layout)


class InputAdapter:
    """Sources -> canonical images -> the graph's tensor, and canonical images -> what is shown.

    ``spec``: the model's input description; ``graph_shape``: its graph input's shape (symbolic
    dimensions as strings or None). Raises InputMismatch when they disagree or when digitpad has no
    preprocessing of that name."""

    def __init__(self, spec: InputSpec, graph_shape: Sequence | None = None, name: str = "the model"):
        self.spec = spec
        expected = PREPROCESSING_SHAPES.get(spec.preprocessing)
        if expected is None:
            raise InputMismatch(f"{name} asks for the {spec.preprocessing!r} preprocessing, which this version of "
                                f"digitpad does not have (it knows {', '.join(PREPROCESSING_SHAPES)}).")
        side, channels = expected
        wrong_shape = (side and spec.size != side) or (channels and spec.channels != channels)
        if spec.channels not in GRAPH_CHANNELS or wrong_shape:
            made = f"{channels or spec.channels} x {side or spec.size}x{side or spec.size}"
            raise InputMismatch(f"{name} describes its input as {spec.channels} x {spec.size}x{spec.size} with the "
                                f"{spec.preprocessing!r} preprocessing, which makes {made}.")
        self.graph_channels = spec.channels
        if graph_shape is not None:
            self.graph_channels = self._check_graph(_dims(graph_shape), graph_shape, name)
        # A flat graph input is [N, C*S*S], or [N, S, S] for a grey one.
        rank3 = graph_shape is not None and len(graph_shape) == 3
        self._flat = (spec.size, spec.size) if rank3 else (self.graph_channels * spec.size * spec.size,)
        per_channel = self.graph_channels
        if spec.mean is not None and len(spec.mean) not in (1, per_channel):
            raise InputMismatch(f"{name} gives {len(spec.mean)} means for a {per_channel}-channel input.")
        lo, hi = spec.range
        self._range = None if (lo, hi) == (0.0, 1.0) else (np.float32(lo), np.float32(hi - lo))
        self._norm = None if spec.mean is None else (
            np.asarray(spec.mean, np.float32).reshape(1, -1, 1, 1),
            np.float32(1.0) / np.asarray(spec.std, np.float32).reshape(1, -1, 1, 1))
        # The usual case (every digitpad model): the canonical image is the tensor, no copy made.
        self.identity = (self._range is None and self._norm is None and spec.layout == "NCHW"
                         and spec.polarity != "black-on-white" and self.graph_channels == spec.channels)

    def _check_graph(self, dims: list[int | None], raw: Sequence, name: str) -> int:
        """The graph's channel count, after checking its shape fits the description's layout and side."""
        spec, s = self.spec, self.spec.size
        c_options = (spec.channels, 3) if spec.channels == 1 else (spec.channels,)
        layout = spec.layout
        if layout == "NCHW" and len(dims) == 4:
            c, h, w = dims[1:]
        elif layout == "NHWC" and len(dims) == 4:
            h, w, c = dims[1:]
        elif layout == "flat" and len(dims) == 2:
            total = dims[1]
            c = next((k for k in c_options if total is None or total == k * s * s), None)
            h = w = s if c is not None else -1
        elif layout == "flat" and len(dims) == 3 and spec.channels == 1:
            c, (h, w) = 1, dims[1:]
        else:
            c = h = w = -1
        ok = c != -1 and (c is None or c in c_options) and all(d is None or d == s for d in (h, w))
        if not ok:
            want = {"NCHW": f"[N, {spec.channels}, {s}, {s}]", "NHWC": f"[N, {s}, {s}, {spec.channels}]",
                    "flat": f"[N, {spec.channels * s * s}]"}[layout if layout in LAYOUTS else "NCHW"]
            raise InputMismatch(f"{name} expects input of shape {_shown(raw)}; its metadata says {want}.")
        return c if c is not None else spec.channels

    # -- what the model takes ------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int, int]:
        """The canonical image's [C, S, S]."""
        return self.spec.shape

    @property
    def size(self) -> int:
        return self.spec.size

    @property
    def channels(self) -> int:
        return self.spec.channels

    @property
    def colour(self) -> bool:
        return self.spec.channels == 3

    @property
    def channel_names(self) -> tuple[str, ...]:
        """What each channel of the canonical image is, for people: ("red", "green", "blue") or ("grey",)."""
        return ("red", "green", "blue") if self.colour else ("grey",) * self.channels

    @property
    def drawn(self) -> bool:
        """A drawing on the canvas is this model's source (digit models); else pictures are."""
        return self.spec.preprocessing in DRAWN

    @property
    def preprocessing(self) -> str:
        return self.spec.preprocessing

    def describe(self) -> list[tuple[str, str]]:
        """(label, value) rows for people: what the model takes and how a source becomes it."""
        s = self.spec
        kind = "RGB" if self.colour else "grey"
        values = f"values {s.range[0]:g}..{s.range[1]:g}"
        polarity = {"white-on-black": ", ink (or the object) white on black",
                    "black-on-white": ", ink black on white"}.get(s.polarity, "")
        norm = ("normalisation inside the graph" if s.mean is None else
                f"normalised by digitpad: mean {', '.join(f'{m:g}' for m in s.mean)}, "
                f"std {', '.join(f'{v:g}' for v in s.std)}")
        graph = ("" if self.graph_channels == self.channels else
                 f"; the grey image repeated on {self.graph_channels} channels")
        text = PREPROCESSING_TEXT.get(s.preprocessing, s.preprocessing).format(size=s.size)
        source = ("a drawing on the canvas, or a photo of a handwritten digit" if self.drawn else
                  "pictures: its test images, an image file, the clipboard")
        return [("Input", f"{s.size} × {s.size} {kind}, {values}{polarity}, {s.layout}; {norm}{graph}"),
                ("Preprocessing", f"{text} (“{s.preprocessing}”)"), ("Reads", source)]

    def picture_region(self, width: int, height: int) -> tuple[int, int, int, int] | None:
        """The part of a ``width`` x ``height`` picture this model's preprocessing keeps, as (left, top,
        width, height) in the picture's pixels: a photo's centre square; None when the preprocessing
        finds its own region in the picture (an object, the ink)."""
        if self.spec.preprocessing != "photo":
            return None
        left, top, side = picture.centre_box(width, height)
        return left, top, side, side

    def canonical(self, x: np.ndarray) -> np.ndarray:
        """``x`` as a batch of canonical images, float32 [N, C, S, S]: [C, S, S], [S, S] (grey) and any
        array of N * C * S * S values are accepted. ValueError for another size."""
        x = np.asarray(x, dtype=np.float32)
        if x.ndim == 4 and x.shape[1:] == self.shape and x.flags.c_contiguous:
            return x
        per = int(np.prod(self.shape))
        if x.size == 0 or x.size % per:
            raise ValueError(f"a {'x'.join(map(str, self.shape))} image was expected, not an array of shape "
                             f"{list(x.shape)}")
        return np.ascontiguousarray(x).reshape(-1, *self.shape)

    # -- sources -> canonical ----------------------------------------------------------------------------
    def from_drawing(self, img: np.ndarray) -> np.ndarray | None:
        """A white-on-black drawing ([H, W], 0..1) through the model's named preprocessing: [1, 1, S, S],
        or None when there is no ink. A model that takes pictures has no drawing: ValueError."""
        if not self.drawn:
            raise ValueError(f"a {self.spec.preprocessing!r} model takes pictures, not drawings")
        return preprocess.PREPROCESSINGS[self.spec.preprocessing](img)

    def from_picture(self, rgb: np.ndarray) -> np.ndarray | None:
        """A picture (uint8 [H, W, 3], see ``picture``) as this model's canonical image [1, C, S, S]:
        a photo cropped and resized, a product photo the Fashion-MNIST way, a photo of a handwritten
        digit turned into ink and then through the model's drawing preprocessing (None: no ink found)."""
        rgb = picture.picture_array(rgb)
        prep = self.spec.preprocessing
        if prep == "photo":
            return picture.photo_image(rgb, self.size, self.channels)
        if prep == "product":
            return picture.product_image(rgb, self.size)
        return preprocess.PREPROCESSINGS[prep](picture.paper_to_ink(rgb))

    def from_rows(self, images: np.ndarray, full_scale: float = 255) -> np.ndarray:
        """Data-set rows (uint8 [N, S, S] grey or [N, C, S, S], full value ``full_scale``) as canonical
        images [N, C, S, S]. ValueError when they are not this model's images."""
        images = np.asarray(images)
        grey_rows = images.ndim == 3 and self.channels == 1
        if not (grey_rows and images.shape[1:] == self.shape[1:]) and images.shape[1:] != self.shape:
            raise ValueError(f"rows of shape {list(images.shape[1:])} are not {'x'.join(map(str, self.shape))} images")
        x = images.astype(np.float32) * np.float32(1.0 / full_scale)
        return x.reshape(len(images), *self.shape)

    # -- canonical -> the graph --------------------------------------------------------------------------
    def to_tensor(self, x: np.ndarray) -> np.ndarray:
        """Canonical images [N, C, S, S] as the graph's input: polarity, range, repeated channels,
        mean/std, layout. The canonical array itself when the model takes it as it is."""
        x = self.canonical(x)
        if self.identity:
            return x
        if self.spec.polarity == "black-on-white":
            x = 1.0 - x
        if self._range is not None:
            lo, span = self._range
            x = x * span + lo
        if self.graph_channels != self.channels:
            x = np.repeat(x, self.graph_channels, axis=1)
        if self._norm is not None:
            mean, inv_std = self._norm
            x = (x - mean) * inv_std
        if self.spec.layout == "NHWC":
            x = x.transpose(0, 2, 3, 1)
        elif self.spec.layout == "flat":
            x = x.reshape(len(x), *self._flat)
        return np.ascontiguousarray(x, dtype=np.float32)

    def canonical_gradient(self, g: np.ndarray) -> np.ndarray:
        """A gradient with respect to the graph's tensors (``to_tensor``'s output) carried back to the
        canonical images [N, C, S, S]. ``to_tensor`` is affine (layout, mean/std, repeated channels,
        range, polarity), so this is its transpose: each of its steps undone in reverse order, scales
        applied again rather than divided out, and a grey image repeated on three channels gets their sum."""
        g = np.asarray(g)
        n, s = len(g), self.spec.size
        if self.identity:
            return g.reshape(n, *self.shape)
        if self.spec.layout == "NHWC":
            g = g.transpose(0, 3, 1, 2)
        g = g.reshape(n, self.graph_channels, s, s)
        if self._norm is not None:
            g = g * self._norm[1]
        if self.graph_channels != self.channels:
            g = g.sum(axis=1, keepdims=True)
        if self._range is not None:
            g = g * self._range[1]
        if self.spec.polarity == "black-on-white":
            g = -g
        return np.ascontiguousarray(g)

    @property
    def tensor_shape(self) -> tuple[int, ...]:
        """One image's graph tensor shape, without the batch dimension."""
        s, c = self.spec.size, self.graph_channels
        return {"NCHW": (c, s, s), "NHWC": (s, s, c)}.get(self.spec.layout, self._flat)

    def blank(self, n: int = 1) -> np.ndarray:
        """n black canonical images."""
        return np.zeros((n, *self.shape), np.float32)

    # -- canonical -> a person -----------------------------------------------------------------------------
    def to_display(self, x: np.ndarray) -> np.ndarray:
        """One canonical image as shown: float32 [S, S] (grey: white ink on black, as the network reads it)
        or [S, S, 3] RGB, 0..1."""
        x = self.canonical(x)[0]
        return x[0] if self.channels == 1 else np.ascontiguousarray(x.transpose(1, 2, 0))

    def occluder(self, x: np.ndarray) -> np.ndarray:
        """What hides a part of canonical image ``x`` for saliency, per channel [C, 1, 1]: a drawing's
        black background (hiding ink means "this ink was not there"), a picture's mean colour (black
        would be a dark object of its own in a photo)."""
        x = self.canonical(x)[0]
        if self.drawn:
            return np.zeros((self.channels, 1, 1), np.float32)
        return x.mean(axis=(1, 2), keepdims=True).astype(np.float32)
