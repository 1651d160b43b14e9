"""The model file contract shared by the app and the training engine (see DESIGN.md).

Pure Python on purpose: the training process imports it to write model files and the
GUI imports it to read them, and neither side may pull the other's heavy imports in.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

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
CLASSES = {"mnist": MNIST_CLASSES, "fashion-mnist": FASHION_CLASSES, "optdigits": MNIST_CLASSES}


def activation_output(layer: str) -> str:
    """Graph output name that carries a layer's activation, e.g. ``act:conv1``."""
    return ACT_PREFIX + layer


@dataclass(frozen=True)
class LayerInfo:
    name: str
    kind: str
    output: str
    kernel: str | None = None


# The named preprocessings (digitpad.core.preprocess.PREPROCESSINGS) and the side they produce.
PREPROCESSING_SIZES = {"mnist": 28, "optdigits": 8}


@dataclass(frozen=True)
class InputSpec:
    """``metadata["input"]``: the tensor a model takes, ``[N, channels, size, size]``, and the named
    preprocessing that turns a drawing into it. A file without the field (or without some of its
    keys) is 28x28 grayscale, MNIST-style. A 32x32 RGB model would say size 32, channels 3 and the
    name of its own preprocessing; polarity and range say how the values read."""

    size: int = INPUT_SIZE                     # side of the square image in pixels (28, 8)
    channels: int = 1                          # 1: grayscale
    preprocessing: str = "mnist"               # "mnist": crop, fit 20x20, centre of mass in 28x28;
    #                                            "optdigits": NIST size normalisation to 32x32, 4x4 counts / 16
    polarity: str = "white-on-black"           # ink bright on a dark background
    range: tuple[float, float] = (0.0, 1.0)    # of the values fed

    @property
    def shape(self) -> tuple[int, int, int]:
        """[channels, size, size]: one input without its batch dimension."""
        return (self.channels, self.size, self.size)

    def to_dict(self) -> dict[str, Any]:
        return {"size": self.size, "channels": self.channels, "preprocessing": self.preprocessing,
                "polarity": self.polarity, "range": [float(v) for v in self.range]}

    @classmethod
    def from_dict(cls, d: Any) -> "InputSpec":
        """Check types and ranges; missing keys take the defaults (a missing preprocessing is the one
        known for the size). Raises ValueError with a readable reason."""
        if d is None:
            return cls()
        if not isinstance(d, dict):
            raise ValueError(f"digitpad metadata 'input' is not an object: {d!r:.80}")
        size = d.get("size", INPUT_SIZE)
        channels = d.get("channels", 1)
        for key, value, hi in (("size", size, 4096), ("channels", channels, 4)):
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= hi:
                raise ValueError(f"digitpad metadata input {key} must be an integer 1..{hi} (got {value!r:.40})")
        default_prep = next((name for name, side in PREPROCESSING_SIZES.items() if side == size), "mnist")
        prep = d.get("preprocessing", default_prep)
        polarity = d.get("polarity", "white-on-black")
        for key, value in (("preprocessing", prep), ("polarity", polarity)):
            if not isinstance(value, str) or not 0 < len(value) <= 64:
                raise ValueError(f"digitpad metadata input {key} must be a short string (got {value!r:.40})")
        rng = d.get("range", [0.0, 1.0])
        if not (isinstance(rng, (list, tuple)) and len(rng) == 2
                and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in rng) and rng[0] < rng[1]):
            raise ValueError(f"digitpad metadata input range must be [low, high] with low < high (got {rng!r:.40})")
        return cls(size, channels, prep, polarity, (float(rng[0]), float(rng[1])))

    @classmethod
    def checked_dict(cls, raw: Any) -> dict[str, Any]:
        """``raw`` checked and completed with the defaults; keys this version does not know are kept."""
        spec = cls.from_dict(raw)
        return {**raw, **spec.to_dict()} if isinstance(raw, dict) else spec.to_dict()


MNIST_INPUT = InputSpec()
OPTDIGITS_INPUT = InputSpec(size=PREPROCESSING_SIZES["optdigits"], preprocessing="optdigits")
# What a model trained on each dataset takes (Fashion-MNIST is prepared the MNIST way).
DATASET_INPUTS = {"mnist": MNIST_INPUT, "fashion-mnist": MNIST_INPUT, "optdigits": OPTDIGITS_INPUT}


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

    @property
    def input_spec(self) -> InputSpec:
        """The input description, checked (from_json already validated it)."""
        return InputSpec.from_dict(self.input)

    def to_json(self) -> str:
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
        return json.dumps(d, sort_keys=False)

    @classmethod
    def from_json(cls, text: str) -> "ModelMetadata":
        """Parse and validate; raises ValueError with a readable reason."""
        try:
            d = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"digitpad metadata is not valid JSON ({e})") from None
        if not isinstance(d, dict):
            raise ValueError("digitpad metadata is not a JSON object")
        fmt = d.get("format")
        if not isinstance(fmt, int) or fmt > FORMAT:
            raise ValueError(f"unsupported digitpad metadata format {fmt!r} (this app reads up to {FORMAT})")
        classes = d.get("classes")
        if not (isinstance(classes, list) and len(classes) == 10):
            raise ValueError("digitpad metadata must list 10 class names")
        layers = []
        for item in d.get("layers", []):
            if not isinstance(item, dict) or "name" not in item or "output" not in item:
                raise ValueError(f"bad layer entry in digitpad metadata: {item!r}")
            layers.append(LayerInfo(str(item["name"]), str(item.get("kind", "conv")),
                                    str(item["output"]), item.get("kernel")))
        return cls(
            arch=str(d.get("arch", "?")),
            dataset=str(d.get("dataset", "?")),
            classes=[str(c) for c in classes],
            layers=layers,
            metrics=dict(d.get("metrics") or {}),
            training=dict(d.get("training") or {}),
            created=str(d.get("created", "")),
            format=fmt,
            input=InputSpec.checked_dict(d.get("input")),
        )
