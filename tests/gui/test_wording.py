"""The Draw tab speaks of what the model reads and tells apart, from its metadata (issue 22): "draw a
digit" and a 0-9 correction row only for a model of the ten digits."""
from __future__ import annotations

import json
import re

import numpy as np
import onnx
from drawing import draw, seven
from model_factory import make_fashion_model, make_model
from PySide6.QtWidgets import QLabel
from windows import open_window

LETTERS = list("ABCDEFGHIJ")


def _with_classes(path, classes):
    """A drawn (MNIST-style) model whose metadata names other classes."""
    model = onnx.load(str(path))
    for prop in model.metadata_props:
        if prop.key == "digitpad":
            meta = json.loads(prop.value)
            meta["classes"] = classes
            prop.value = json.dumps(meta)
    onnx.save(model, str(path))
    return path


def _texts(wb) -> str:
    shown = [w.text() for w in wb.findChildren(QLabel) if w.isVisible()]
    return " ".join(shown + [wb.panel.empty_text, wb.panel.toolTip(), wb.feature_maps.message.text(),
                             wb.arithmetic.panel.message.text()])


def test_a_clothes_model_is_not_asked_for_digits(qtbot, tmp_path):
    w = open_window(qtbot, make_fashion_model(tmp_path / "fashion.onnx"), (1280, 720))
    wb = w.workbench
    assert wb.takes_pictures and not wb.corrections.isVisible()
    assert not re.search(r"\bdigits?\b", _texts(wb).lower())   # (a path may hold "digitpad")
    assert wb.panel.empty_text == "Pick a test image, or open a picture"
    w.close()


def test_a_drawn_model_of_letters_is_asked_for_its_own_classes(qtbot, tmp_path):
    path = _with_classes(make_model(tmp_path / "letters.onnx"), LETTERS)
    w = open_window(qtbot, path, (1280, 720))
    wb = w.workbench
    assert not wb.takes_pictures and wb.canvas.isVisible()
    assert not wb.corrections.isVisible()            # My digits keeps digits: no 0-9 row for letters
    assert "A, B, C, D" in wb.message.text() and "digit" not in wb.message.text()
    assert wb.panel.empty_text.startswith("Draw one of: A, B, C, D")
    wb.inspector.setCurrentWidget(wb.feature_maps)
    assert "digit" not in wb.feature_maps.message.text()
    draw(wb.canvas, seven(wb.canvas.width()))
    assert "always names one of its classes" in wb.panel.toolTip() or not wb.panel.toolTip()
    for key in "0123456789":
        assert not wb.corrections.shortcuts[int(key)].isEnabled()
    w.close()


def test_a_digit_model_keeps_its_words_and_row(qtbot, random_model):
    w = open_window(qtbot, random_model, (1280, 720))
    wb = w.workbench
    assert wb.corrections.isVisible() and [b.text() for b in wb.corrections.buttons] == list("0123456789")
    assert "Draw one digit" in wb.message.text() and wb.panel.empty_text == "Draw a digit on the canvas"
    w.close()


def test_the_not_sure_line_fits_the_panel(qtbot):
    """It was drawn centred and wider than the panel: "ot sure: maybe 1? · digit sco"."""
    from PySide6.QtGui import QFontMetrics

    from digitpad.gui.draw.prediction import PredictionPanel, verdict_font

    panel = PredictionPanel()
    qtbot.addWidget(panel)
    panel.resize(240, 360)
    panel.set_classes(["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                       "Bag", "Ankle boot"])
    panel.set_threshold(2.31)
    probs = np.full(10, 0.02, np.float32)
    probs[9], probs[5] = 0.5, 0.34
    panel.show_probs(probs, score=1.87)
    line = panel.verdict_line(panel.width())
    assert line.startswith("not sure: Ankle boot or") and QFontMetrics(verdict_font()).horizontalAdvance(line) <= 232
    panel.set_classes([str(d) for d in range(10)])
    probs[9], probs[5] = 0.6, 0.1
    panel.show_probs(probs, score=2.87)
    assert panel.verdict_line(300) == "not sure: maybe 9? · digit score 2.87 ≥ 2.31"


def test_a_picture_model_is_not_fine_tuned_on_my_digits(qtbot, tmp_path):
    """A Fashion-MNIST model (28x28, like the digits) was offered fine-tuning on My digits: a drawn 1
    taught as a trouser. The panel said "reads 32x32 digits" of a photo model."""
    from digitpad.core.handwriting.finetune import finetune_blocker

    w = open_window(qtbot, make_fashion_model(tmp_path / "fashion.onnx"), (1280, 720))
    panel = w.my_digits.finetune
    panel.update_state()
    assert not panel.button.isEnabled() and "reads pictures, not drawings of the ten digits" in panel.reason.text()
    w.close()
    assert "reads 10 classes (A, B, C, D, …)" in finetune_blocker(tmp_path / "x.onnx", 28, LETTERS, True)
