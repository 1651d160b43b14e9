"""Colour picture sets written by a test, and a colour model whose every answer is known.

Class k's picture is a 32x32 RGB image with a bright 8x8 square in cell k of a 4x4 grid, in a colour of
the class's own; the model is one linear layer whose row k is that square (every channel), so it
predicts the square's class. A picture drawn with another class's square but filed (labelled) under
class t is a mistake known in advance: true t, predicted the square's class.

Written as PNG, so the pixels read back are exactly these (a JPEG would change them).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from digitpad.core.contract import CIFAR10_CLASSES, CIFAR10_INPUT, METADATA_KEY, ModelMetadata

SIDE = 32
CELL = 8
MAX_CLASSES = (SIDE // CELL) ** 2     # 16 squares


def colour(k: int) -> tuple[int, int, int]:
    """A colour per class, far from its neighbours'."""
    hue = (k * 0.381966) % 1.0                                  # golden-ratio steps round the colour wheel
    rgb = np.abs(((hue * 6 + np.array([0, 4, 2])) % 6) - 3) - 1  # HSV to RGB at full saturation and value
    return tuple(int(v) for v in 60 + 195 * np.clip(rgb, 0, 1))


def square(k: int) -> tuple[slice, slice]:
    r, c = divmod(k, SIDE // CELL)
    return slice(r * CELL, (r + 1) * CELL), slice(c * CELL, (c + 1) * CELL)


def pattern_picture(k: int, strength: float = 1.0) -> np.ndarray:
    """uint8 [32, 32, 3]: class k's square in its colour on a dark grey ground."""
    img = np.full((SIDE, SIDE, 3), 20, np.uint8)
    img[square(k)] = (np.array(colour(k)) * strength).astype(np.uint8)
    return img


def save_png(path: Path, pixels: np.ndarray) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels, "RGB").save(path)


def write_split(base: Path, classes: list[str], per_class: int, mistakes=(), prefix: str = "") -> list[int]:
    """``base/<class>/*.png``: ``per_class`` pictures of each class, then for each (true, drawn) in
    ``mistakes`` a picture of class ``drawn``'s square filed under ``true``. Returns the labels in
    the order the folder lists them (by class, then by file name)."""
    labels = []
    for k, name in enumerate(classes):
        for j in range(per_class):
            save_png(base / name / f"{prefix}{k:02d}-{j:03d}.png", pattern_picture(k, 1.0 - 0.12 * j))
            labels.append(k)
    for i, (true, drawn) in enumerate(mistakes):
        save_png(base / classes[true] / f"{prefix}{true:02d}-x{i:02d}.png", pattern_picture(drawn, 0.5))
    return labels


def write_cifar_folder(root: Path, train_per_class: int = 3, test_per_class: int = 2,
                       mistakes=((3, 5), (3, 5), (0, 8))) -> Path:
    """A tiny CIFAR-10 image folder as the shared copy has it: ``root/cifar10/{train,test}/<class>/``.
    The test split holds the ``mistakes``. Returns ``root`` (the data folder)."""
    write_split(root / "cifar10" / "train", list(CIFAR10_CLASSES), train_per_class)
    write_split(root / "cifar10" / "test", list(CIFAR10_CLASSES), test_per_class, mistakes)
    return root


def expected_confusion(k: int, per_class: int, mistakes) -> np.ndarray:
    m = np.zeros((k, k), np.int64)
    m[np.arange(k), np.arange(k)] = per_class
    for true, drawn in mistakes:
        m[true, drawn] += 1
    return m


def write_user_folder(root: Path, classes: list[str], per_class: int = 12, damaged: str | None = "fox",
                      split: bool = False, mistakes=()) -> Path:
    """A user's folder of labelled pictures: a folder per class (``split``: train/ and test/ each with
    them), and, in class ``damaged``, a file named like a picture that is not one. The class named
    ``damaged`` gets only two good pictures, so a preview tries the damaged one."""
    if split:
        write_split(root / "train", classes, per_class)
        write_split(root / "test", classes, max(1, per_class // 4), mistakes)
    else:
        for k, name in enumerate(classes):
            n = 2 if name == damaged else per_class
            for j in range(n):
                save_png(root / name / f"{name[:3]}-{j:03d}.png", pattern_picture(k, 1.0 - 0.05 * j))
    if damaged:
        (root / damaged).mkdir(parents=True, exist_ok=True)
        (root / damaged / "broken.jpg").write_bytes(b"this is not a JPEG")
    return root


def make_picture_model(path: Path, classes: list[str] | None = None, dataset: str = "cifar10",
                       data_dir: str | None = None, metadata: bool = True) -> Path:
    """The known colour model: RGB [N, 3, 32, 32] in, class k's score the sum over its square.
    ``data_dir``: the training folder its metadata names (``training.config.data_dir``)."""
    classes = list(classes or CIFAR10_CLASSES)
    k = len(classes)
    assert 2 <= k <= MAX_CLASSES
    w = np.zeros((3 * SIDE * SIDE, k), np.float32)
    for c in range(k):
        m = np.zeros((3, SIDE, SIDE), np.float32)
        m[:, square(c)[0], square(c)[1]] = 4.0 / (3 * CELL * CELL)
        w[:, c] = m.reshape(-1)
    nodes = [helper.make_node("Flatten", ["image"], ["flat"], axis=1),
             helper.make_node("MatMul", ["flat", "W"], ["logits"]),
             helper.make_node("Softmax", ["logits"], ["probs"], axis=1)]
    graph = helper.make_graph(
        nodes, "pictures", [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, SIDE, SIDE])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", k]),
         helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", k])],
        [numpy_helper.from_array(w, "W")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    if metadata:
        config = {"arch": "linear", "dataset": dataset, "data_dir": data_dir}
        meta = ModelMetadata(arch="linear", dataset=dataset, classes=classes, layers=[],
                             metrics={"test_accuracy": 0.9}, training={"config": config},
                             created="2026-01-02T03:04:05+00:00", input=CIFAR10_INPUT.to_dict())
        helper.set_model_props(model, {METADATA_KEY: meta.to_json()})
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return Path(path)
