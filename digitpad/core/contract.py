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
CLASSES = {"mnist": MNIST_CLASSES, "fashion-mnist": FASHION_CLASSES}


def activation_output(layer: str) -> str:
    """Graph output name that carries a layer's activation, e.g. ``act:conv1``."""
    return ACT_PREFIX + layer


@dataclass(frozen=True)
class LayerInfo:
    name: str
    kind: str
    output: str
    kernel: str | None = None


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
    input: dict[str, Any] = field(
        default_factory=lambda: {"size": INPUT_SIZE, "polarity": "white-on-black", "range": [0.0, 1.0]}
    )
    # The calibrated "not a digit" rule (core/not_digit.py): {"score", "threshold", "calibration"};
    # None when the model has none. Checked where it is used (not_digit.from_metadata).
    not_digit: dict[str, Any] | None = None

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
        if self.not_digit is not None:
            d["not_digit"] = self.not_digit
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
            input=dict(d.get("input") or {}),
            not_digit=d.get("not_digit") if isinstance(d.get("not_digit"), dict) else None,
        )
