"""A model whose every answer is known, and a test set built for it.

Class k's image is a bright 4x4 block at a position of its own; the model is one linear
layer whose row k is that block, so it predicts the pattern's class with high confidence.
Writing some labels on purpose to another class gives a confusion matrix known exactly.
"""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# (pattern drawn, label written): the deliberate mistakes (true label, predicted pattern)
MISLABELLED = [(3, 5), (3, 5), (7, 1), (0, 6)]
PER_CLASS = 3


def block(k: int) -> tuple[slice, slice]:
    r, c = divmod(k, 5)
    return slice(4 + 10 * r, 8 + 10 * r), slice(2 + 5 * c, 6 + 5 * c)


def pattern_image(k: int, strength: int = 255) -> np.ndarray:
    img = np.zeros((28, 28), np.uint8)
    img[block(k)] = strength
    return img


def make_pattern_model(path: Path) -> Path:
    w = np.zeros((784, 10), np.float32)
    for k in range(10):
        m = np.zeros((28, 28), np.float32)
        m[block(k)] = 1.0
        w[:, k] = m.reshape(-1)
    nodes = [helper.make_node("Flatten", ["image"], ["flat"], axis=1),
             helper.make_node("MatMul", ["flat", "W"], ["logits"]),
             helper.make_node("Softmax", ["logits"], ["probs"], axis=1)]
    graph = helper.make_graph(
        nodes, "pattern", [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 28, 28])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10]),
         helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", 10])],
        [numpy_helper.from_array(w, "W")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def write_idx(path: Path, array: np.ndarray, magic: int) -> None:
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    data = header + np.ascontiguousarray(array, np.uint8).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".gz":
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)


def write_mnist_sample(folder: Path, mnist_dir: Path, n: int):
    """The first ``n`` real MNIST test digits as a data folder's test set: (folder, images, labels)."""
    from digitpad.core.evaluation import load_test_set

    test = load_test_set(mnist_dir, "mnist")
    raw = folder / "MNIST" / "raw"
    write_idx(raw / "t10k-images-idx3-ubyte", test.images[:n], 2051)
    write_idx(raw / "t10k-labels-idx1-ubyte", test.labels[:n].astype(np.uint8), 2049)
    return folder, test.images[:n], test.labels[:n]


def write_known_set(folder: Path):
    images, labels = [], []
    for k in range(10):
        for j in range(PER_CLASS):
            images.append(pattern_image(k, 255 - 40 * j))   # fainter copies: less confident answers
            labels.append(k)
    for true, pattern in MISLABELLED:
        images.append(pattern_image(pattern, 120))
        labels.append(true)
    images, labels = np.stack(images), np.asarray(labels, np.uint8)
    raw = folder / "MNIST" / "raw"
    write_idx(raw / "t10k-images-idx3-ubyte", images, 2051)
    write_idx(raw / "t10k-labels-idx1-ubyte.gz", labels, 2049)
    expected = np.zeros((10, 10), np.int64)
    for k in range(10):
        expected[k, k] = PER_CLASS
    for true, pattern in MISLABELLED:
        expected[true, pattern] += 1
    return folder, images, labels.astype(np.int64), expected
