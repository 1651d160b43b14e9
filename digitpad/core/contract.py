"""The model file contract shared by the app and the training engine (see DESIGN.md).

Pure Python on purpose: the training process imports it to write model files and the
GUI imports it to read them, and neither side may pull the other's heavy imports in.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from typing import Any

from . import safejson

FORMAT = 1
METADATA_KEY = "digitpad"

INPUT_NAME = "image"
INPUT_SIZE = 28
LOGITS = "logits"
PROBS = "probs"
ACT_PREFIX = "act:"

MNIST_CLASSES = [str(d) for d in range(10)]
FASHION_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
# The class names of each built-in dataset; a folder of the user's images names its own (its sub-folders).
CLASSES = {"mnist": MNIST_CLASSES, "fashion-mnist": FASHION_CLASSES, "optdigits": MNIST_CLASSES,
           "cifar10": CIFAR10_CLASSES}
MIN_CLASSES, MAX_CLASSES = 2, 100   # a classifier's outputs; every built-in dataset has 10
MAX_CLASS_NAME = 64


def activation_output(layer: str) -> str:
    """Graph output name that carries a layer's activation, e.g. ``act:conv1``."""
    return ACT_PREFIX + layer


@dataclass(frozen=True)
class LayerInfo:
    name: str
    kind: str
    output: str
    kernel: str | None = None


# The named preprocessings (digitpad.core.preprocess / digitpad.core.picture) and what each makes:
# (side, channels); None: the model's own (a photo is cropped and resized to the model's input).
PREPROCESSING_SHAPES: dict[str, tuple[int | None, int | None]] = {
    "mnist": (28, 1),        # a drawing: crop to the ink, fit 20x20, centre of mass at the centre of 28x28
    "optdigits": (8, 1),     # a drawing: NIST's 32x32 normalisation, 4x4 block counts / 16
    "product": (28, 1),      # a picture of one object, Fashion-MNIST's way: trimmed, fitted, negated, grey
    "photo": (None, None),   # a photo, CIFAR-10's way: centre-cropped to a square, resized, RGB or grey
}
PREPROCESSING_SIZES = {name: side for name, (side, _channels) in PREPROCESSING_SHAPES.items() if side}
# Preprocessings whose source is a drawing on the canvas; the others take pictures (a test image, a file).
DRAWN = ("mnist", "optdigits")
# What the graph's values mean. Grey images are canonically ink (or the object) bright on black.
POLARITIES = ("white-on-black", "black-on-white", "natural")
LAYOUTS = ("NCHW", "NHWC", "flat")


@dataclass(frozen=True)
class InputSpec:
    """``metadata["input"]``: what a model takes and how a source becomes it.

    The canonical image (float32 ``[channels, size, size]``, values 0..1; grey: ink white on black,
    colour: RGB) is made from a drawing or a picture by the named ``preprocessing``; the graph's
    tensor is made from the canonical image by ``polarity`` ("black-on-white": inverted), ``range``
    (the values canonical 0 and 1 become: 0..255 models say [0, 255]), ``mean``/``std`` (per graph
    channel, applied after the range; None: normalisation lives inside the graph, as in every
    digitpad model) and ``layout`` (NCHW, NHWC, or flat ``[N, C*H*W]``). A grey canonical image fed
    to a 3-channel graph is repeated on the three channels. A file without the field (or without
    some keys) is 28x28 grey, MNIST-style, NCHW, 0..1. ``digitpad.core.model_input`` does the
    converting; nothing else does."""

    size: int = INPUT_SIZE                     # side of the square image in pixels (28, 8, 32)
    channels: int = 1                          # of the canonical image: 1 grey, 3 RGB
    preprocessing: str = "mnist"               # a key of PREPROCESSING_SHAPES
    polarity: str = "white-on-black"           # POLARITIES: what the graph's values show
    range: tuple[float, float] = (0.0, 1.0)    # the graph values of canonical 0 and 1
    layout: str = "NCHW"                       # LAYOUTS
    mean: tuple[float, ...] | None = None      # per graph channel (or one for all), after the range
    std: tuple[float, ...] | None = None

    @property
    def shape(self) -> tuple[int, int, int]:
        """[channels, size, size]: one canonical image, without the batch dimension."""
        return (self.channels, self.size, self.size)

    @property
    def drawn(self) -> bool:
        """Whether a drawing on the canvas is this model's source (digit models), else pictures."""
        return self.preprocessing in DRAWN

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"size": self.size, "channels": self.channels, "preprocessing": self.preprocessing,
                             "polarity": self.polarity, "range": [float(v) for v in self.range],
                             "layout": self.layout}
        if self.mean is not None:
            d["mean"], d["std"] = [float(v) for v in self.mean], [float(v) for v in self.std]
        return d

    @classmethod
    def from_dict(cls, d: Any) -> InputSpec:
        """Check types and ranges; missing keys take the defaults (a missing preprocessing is the one
        known for the size, a missing polarity the one of the channels). Raises ValueError with a
        readable reason."""
        _expect(d, "object", "input")
        size = _expect(d.get("size", INPUT_SIZE), "integer", "input.size")
        channels = _expect(d.get("channels", 1), "integer", "input.channels")
        if not 1 <= size <= 4096:
            raise ValueError(f"digitpad metadata: input.size must be 1 to 4096 (got {size})")
        if not 1 <= channels <= 4:
            raise ValueError(f"digitpad metadata: input.channels must be 1 to 4 (got {channels})")
        default_prep = "photo" if channels == 3 else next(
            (name for name in DRAWN if PREPROCESSING_SIZES[name] == size), "mnist")
        prep = _expect(d.get("preprocessing", default_prep), "string", "input.preprocessing")
        polarity = _expect(d.get("polarity", "natural" if channels == 3 else "white-on-black"), "string",
                           "input.polarity")
        layout = _expect(d.get("layout", "NCHW"), "string", "input.layout")
        for key, value in (("preprocessing", prep), ("polarity", polarity), ("layout", layout)):
            if not 0 < len(value) <= 64:
                raise ValueError(f"digitpad metadata: input.{key} must be a short string (got {_short(value)})")
        if polarity not in POLARITIES:
            raise ValueError(f"digitpad metadata: input.polarity must be one of {', '.join(POLARITIES)} "
                             f"(got {_short(polarity)})")
        if layout not in LAYOUTS:
            raise ValueError(f"digitpad metadata: input.layout must be one of {', '.join(LAYOUTS)} "
                             f"(got {_short(layout)})")
        r = _expect(d.get("range", [0.0, 1.0]), "array", "input.range")
        if len(r) != 2 or not all(_is_number(x) for x in r) or not r[0] < r[1]:
            raise ValueError(f"digitpad metadata: input.range must be two numbers, low < high (got {_short(r)})")
        mean, std = _per_channel(d.get("mean"), "mean"), _per_channel(d.get("std"), "std")
        if (mean is None) != (std is None) or (mean is not None and len(mean) != len(std)):
            raise ValueError("digitpad metadata: input.mean and input.std go together, with as many values each")
        if std is not None and not all(s > 0 for s in std):
            raise ValueError(f"digitpad metadata: input.std must be positive (got {_short(list(std))})")
        return cls(size, channels, prep, polarity, (float(r[0]), float(r[1])), layout, mean, std)

    @classmethod
    def checked_dict(cls, raw: Any) -> dict[str, Any]:
        """``raw`` checked and completed with the defaults; keys this version does not know are kept."""
        spec = cls.from_dict(raw)
        return {**raw, **spec.to_dict()} if isinstance(raw, dict) else spec.to_dict()


def _per_channel(v: Any, key: str) -> tuple[float, ...] | None:
    """None, a number (every channel) or 1 to 4 numbers."""
    if v is None:
        return None
    values = [v] if _is_number(v) else v
    if not isinstance(values, list) or not 1 <= len(values) <= 4 or not all(_is_number(x) for x in values):
        raise ValueError(f"digitpad metadata: input.{key} must be a number or 1 to 4 numbers (got {_short(v)})")
    return tuple(float(x) for x in values)


MNIST_INPUT = InputSpec()
OPTDIGITS_INPUT = InputSpec(size=PREPROCESSING_SIZES["optdigits"], preprocessing="optdigits")
FASHION_INPUT = InputSpec(preprocessing="product")
CIFAR10_INPUT = InputSpec(size=32, channels=3, preprocessing="photo", polarity="natural")
# What a model trained on each dataset takes; a folder of the user's images is CIFAR-10-like.
DATASET_INPUTS = {"mnist": MNIST_INPUT, "fashion-mnist": FASHION_INPUT, "optdigits": OPTDIGITS_INPUT,
                  "cifar10": CIFAR10_INPUT, "folder": CIFAR10_INPUT}


@dataclass
class ModelMetadata:
    """What a digitpad .onnx says about itself (the JSON under ``metadata_props['digitpad']``)."""

    arch: str
    dataset: str
    classes: list[str]
    layers: list[LayerInfo]
    metrics: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    created: str = ""
    format: int = FORMAT
    input: dict[str, Any] = field(default_factory=MNIST_INPUT.to_dict)
    # The calibrated "not a digit" rule (core/not_digit.py): {"score", "threshold", "calibration"};
    # None when the model has none. Checked where it is used (not_digit.from_metadata).
    not_digit: dict[str, Any] | None = None

    @property
    def input_spec(self) -> InputSpec:
        """The input description, checked (from_json already validated it). Fashion-MNIST files
        written before pictures had their own preprocessing say "mnist": they take product pictures."""
        spec = InputSpec.from_dict(self.input)
        if self.dataset == "fashion-mnist" and spec.preprocessing == "mnist":
            spec = replace(spec, preprocessing="product")
        return spec

    def to_json(self) -> str:
        """Strict JSON (no NaN or Infinity: ``from_json`` refuses them, and so do other readers)."""
        d = {
            "format": self.format,
            "arch": self.arch,
            "dataset": self.dataset,
            "classes": list(self.classes),
            "input": dict(self.input),
            "layers": [vars(layer) for layer in self.layers],
            "metrics": self.metrics,
            "training": self.training,
            "created": self.created,
        }
        if self.not_digit is not None:
            d["not_digit"] = self.not_digit
        return json.dumps(d, sort_keys=False, allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> ModelMetadata:
        """Parse and validate every field's JSON type and range; raises ValueError with a readable
        reason (never TypeError: a model file is user input). Unknown keys are allowed."""
        if not isinstance(text, (str, bytes)):
            raise ValueError(f"digitpad metadata is not valid JSON (it is {type(text).__name__}, not text)")
        d = safejson.loads(text, "digitpad metadata")
        try:
            return cls._from_dict(d)
        except RecursionError:  # a deeply nested value in an error message
            raise ValueError("digitpad metadata is nested too deeply") from None

    @classmethod
    def _from_dict(cls, d: Any) -> ModelMetadata:
        _expect(d, "object", "the metadata")
        fmt = d.get("format")
        if not _is_int(fmt) or not 1 <= fmt <= FORMAT:
            raise ValueError(f"unsupported digitpad metadata format {_short(fmt)} (this app reads 1 to {FORMAT})")
        for key in ("arch", "dataset", "created"):
            _expect(d.get(key, ""), "string", key)
        classes = _expect(d.get("classes"), "array", "classes")
        if not (MIN_CLASSES <= len(classes) <= MAX_CLASSES and all(isinstance(c, str) and 0 < len(c) <= MAX_CLASS_NAME
                                                                   for c in classes)):
            raise ValueError(f"digitpad metadata: classes must be {MIN_CLASSES} to {MAX_CLASSES} names of 1 to "
                             f"{MAX_CLASS_NAME} characters")
        twice = next((c for i, c in enumerate(classes) if c in classes[:i]), None)
        if twice is not None:
            raise ValueError(f"digitpad metadata: class {_short(twice)} is named twice")
        return cls(
            arch=d.get("arch", "?"), dataset=d.get("dataset", "?"), classes=list(classes),
            layers=_layers(d.get("layers", [])), metrics=_metrics(d.get("metrics", {})),
            training=_training(d.get("training", {})), created=d.get("created", ""), format=fmt,
            input=InputSpec.checked_dict(d.get("input", {})),
            not_digit=_not_digit(d.get("not_digit")),
        )


# -- validation helpers: JSON type names in messages, since that is what a reader of the file sees --
_JSON_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool}


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _json_type(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, (int, float)):
        return "a number"
    return {dict: "an object", list: "an array", str: "a string"}.get(type(v), type(v).__name__)


def _short(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def _expect(v: Any, kind: str, where: str) -> Any:
    """``v`` if it is of JSON type ``kind`` ("object", "array", "string", "boolean", "number",
    "integer"; numbers finite); else ValueError naming where and what was found."""
    ok = {"number": _is_number, "integer": _is_int}.get(kind, lambda x: isinstance(x, _JSON_TYPES[kind]))(v)
    if not ok:
        article = "an" if kind[0] in "aeiou" else "a"
        found = "a non-finite number" if isinstance(v, float) and not math.isfinite(v) else _json_type(v)
        raise ValueError(f"digitpad metadata: {where} must be {article} {kind}, not {found} ({_short(v)})")
    return v


def _layers(items: Any) -> list[LayerInfo]:
    out, seen = [], set()
    for i, item in enumerate(_expect(items, "array", "layers")):
        where = f"layers[{i}]"
        _expect(item, "object", where)
        name = _expect(item.get("name"), "string", f"{where}.name")
        output = _expect(item.get("output"), "string", f"{where}.output")
        kind = _expect(item.get("kind", "conv"), "string", f"{where}.kind")
        kernel = item.get("kernel")
        if kernel is not None:
            _expect(kernel, "string", f"{where}.kernel")
        if not name or not output:
            raise ValueError(f"digitpad metadata: {where} needs a non-empty name and output")
        if name in seen:
            raise ValueError(f"digitpad metadata: layer {name!r} is listed twice")
        seen.add(name)
        out.append(LayerInfo(name, kind, output, kernel))
    return out


# Metrics the app shows, with their ranges; any other metric must still be a finite number.
_FRACTIONS = ("test_accuracy", "train_accuracy", "parity_top1_agreement")
_NON_NEGATIVE = ("test_loss", "train_loss", "parity_max_prob_diff", "parity_images")


def _metrics(d: Any) -> dict[str, Any]:
    _expect(d, "object", "metrics")
    for key, v in d.items():
        _expect(v, "number", f"metrics.{key}")
        if key in _FRACTIONS and not 0 <= v <= 1:
            raise ValueError(f"digitpad metadata: metrics.{key} must be between 0 and 1 (got {v})")
        if key in _NON_NEGATIVE and v < 0:
            raise ValueError(f"digitpad metadata: metrics.{key} must be >= 0 (got {v})")
    return dict(d)


# Keys of ``training`` that readers use, and their JSON types (None: null allowed too).
_TRAINING_TYPES = {
    "config": ("object", False), "device": ("string", False), "seconds": ("number", False),
    "epochs_run": ("integer", False), "epochs": ("integer", False), "history": ("array", False),
    "versions": ("object", False), "partial": ("boolean", False), "warnings": ("array", False),
    "run_id": ("string", True), "weights_sha256": ("string", True), "parent": ("object", True),
    "preset": ("string", True), "snapshots": ("object", True),
}


def _training(d: Any) -> dict[str, Any]:
    _expect(d, "object", "training")
    for key, (kind, nullable) in _TRAINING_TYPES.items():
        if key in d and not (nullable and d[key] is None):
            _expect(d[key], kind, f"training.{key}")
    for key in ("seconds", "epochs_run", "epochs"):
        if key in d and d[key] < 0:
            raise ValueError(f"digitpad metadata: training.{key} must be >= 0 (got {d[key]})")
    for i, record in enumerate(d.get("history", [])):
        _expect(record, "object", f"training.history[{i}]")
    for i, text in enumerate(d.get("warnings", [])):
        _expect(text, "string", f"training.warnings[{i}]")
    for key, v in d.get("versions", {}).items():
        _expect(v, "string", f"training.versions.{key}")
    sha = d.get("weights_sha256")
    if sha is not None and not (len(sha) == 64 and all(c in "0123456789abcdef" for c in sha)):
        raise ValueError(f"digitpad metadata: training.weights_sha256 is not a sha256 hex digest ({_short(sha)})")
    return dict(d)


def _not_digit(d: Any) -> dict[str, Any] | None:
    """The calibrated rule's own fields are checked by ``not_digit.from_metadata``; here only its type."""
    return None if d is None else dict(_expect(d, "object", "not_digit"))
