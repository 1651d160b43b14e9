"""Clearly drawn digits are recognised by trained models (tiny fixture model, shipped model)."""
from __future__ import annotations

import numpy as np
import pytest
from drawing import draw, loop, seven, vertical_line

from digitpad.app import MainWindow


@pytest.mark.parametrize("strokes, digit", [(vertical_line, 1), (loop, 0), (seven, 7)])
def test_clear_digits(qtbot, accurate_models, strokes, digit):
    w = MainWindow(model_path=accurate_models[0])
    qtbot.addWidget(w)
    for model in accurate_models:
        assert w.controller.load(model)
        c = w.workbench.canvas
        c.clear()
        draw(c, strokes(c.width()))
        pred = w.workbench.prediction
        assert pred.top == digit, f"{model.name}: drew {digit}, got {pred.top} ({np.round(pred.probs, 3)})"
    w.close()


def test_digits_from_mnist_itself(accurate_models, mnist_dir):
    """Real MNIST test digits, enlarged onto a canvas-sized image, survive preprocessing."""
    import gzip

    from digitpad.core.inference import Predictor
    from digitpad.core.preprocess import to_model_input

    raw = mnist_dir / "MNIST" / "raw"
    img_file = next(p for p in (raw / "t10k-images-idx3-ubyte.gz", raw / "t10k-images-idx3-ubyte") if p.exists())
    lbl_file = next(p for p in (raw / "t10k-labels-idx1-ubyte.gz", raw / "t10k-labels-idx1-ubyte") if p.exists())
    opener = gzip.open if img_file.suffix == ".gz" else open
    with opener(img_file, "rb") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)[:200]
    with (gzip.open if lbl_file.suffix == ".gz" else open)(lbl_file, "rb") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)[:200]
    for model in accurate_models:
        p = Predictor(model)
        xs = []
        for im in images:
            big = np.kron(im.astype(np.float32) / 255, np.ones((12, 12), np.float32))   # 336x336 "canvas"
            xs.append(to_model_input(big)[0])
        acc = (p.predict_batch(np.stack(xs)).argmax(1) == labels).mean()
        direct = (p.predict_batch(images[:, None].astype(np.float32) / 255).argmax(1) == labels).mean()
        assert acc >= direct - 0.03, f"{model.name}: {acc:.3f} after preprocessing vs {direct:.3f} raw"
