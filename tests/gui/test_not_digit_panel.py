"""The Draw tab's "not a digit" answer: shown when the model's calibrated rule flags the drawing,
with the score and the threshold; never for a model without a rule (issue 13)."""
from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from drawing import draw, seven
from onnx import TensorProto, helper, numpy_helper

from digitpad.app import MainWindow
from digitpad.core import not_digit
from digitpad.core.contract import LayerInfo, ModelMetadata
from digitpad.gui.draw.prediction import NOT_A_DIGIT, PredictionPanel, score_text


def _linear_model(path, threshold: float | None):
    """logits = 10 * (mean ink) * w, with (or without) a calibrated not-a-digit threshold."""
    w = np.linspace(1, 2, 10, dtype=np.float32)[None] * 10.0 / 784
    nodes = [helper.make_node("Flatten", ["image"], ["flat"]),
             helper.make_node("MatMul", ["flat", "w"], ["logits"]),
             helper.make_node("Softmax", ["logits"], ["probs"], axis=1)]
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 28, 28])
    outputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["N", 10]) for n in ("logits", "probs")]
    graph = helper.make_graph(nodes, "lin", [image], outputs, [numpy_helper.from_array(np.repeat(w, 784, 0), "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    rule = None if threshold is None else not_digit.NotDigitRule(
        threshold, calibration={"n": 1200, "flagged": 0.005, "mnist_test_flagged": 0.0012}).to_metadata()
    meta = ModelMetadata("lin", "mnist", [str(i) for i in range(10)], [LayerInfo("x", "conv", "act:x")],
                         training={"data": {"mnist training set": 60000,
                                            "generated non-digits (uniform target)": 20000}},
                         not_digit=rule)
    helper.set_model_props(model, {"digitpad": meta.to_json()})
    onnx.save(model, str(path))
    return path


def _window(qtbot, path) -> MainWindow:
    w = MainWindow(model_path=path)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    draw(w.workbench.canvas, seven(w.workbench.canvas.width()))
    return w


@pytest.mark.parametrize("threshold, flagged", [(1e3, True), (-1e3, False)])
def test_the_panel_follows_the_models_rule_and_shows_the_score(qtbot, tmp_path, threshold, flagged):
    w = _window(qtbot, _linear_model(tmp_path / "m.onnx", threshold))
    wb = w.workbench
    pred = wb.prediction
    assert pred is not None and pred.not_digit is flagged and np.isfinite(pred.digit_score)
    panel = wb.panel
    assert (panel.caption == NOT_A_DIGIT) is flagged
    assert panel.threshold == pytest.approx(threshold)
    assert f"{pred.digit_score:.2f}" in panel.toolTip() and f"{threshold:.2f}" in panel.toolTip()
    assert score_text(pred.digit_score, threshold).startswith(f"digit score {pred.digit_score:.2f} "
                                                              + ("<" if flagged else "≥"))
    assert not panel.grab().isNull()   # paints both headlines
    w.close()


def test_a_model_without_a_rule_never_says_not_a_digit(qtbot, tmp_path):
    w = _window(qtbot, _linear_model(tmp_path / "m.onnx", None))
    wb = w.workbench
    assert wb.prediction.not_digit is False and wb.panel.threshold is None
    assert wb.panel.caption != NOT_A_DIGIT and "no calibrated not-a-digit threshold" in wb.panel.toolTip()
    rows = dict((label, value) for label, value in _info_rows(wb))
    assert rows["Not a digit"].startswith("no calibrated threshold")
    w.close()


def _info_rows(wb):
    form = wb.model_info.form
    for i in range(form.rowCount()):
        label = form.itemAt(i, form.ItemRole.LabelRole).widget().text()
        value = form.itemAt(i, form.ItemRole.FieldRole).widget().text()
        yield label, value


def test_the_model_panel_says_what_it_was_trained_on_and_its_threshold(qtbot, tmp_path):
    w = _window(qtbot, _linear_model(tmp_path / "m.onnx", 4.25))
    rows = dict(_info_rows(w.workbench))
    assert "generated non-digits (uniform target): 20,000" in rows["Trained on"]
    assert rows["Not a digit"].startswith("digit score below 4.25") and "0.5% of 1,200" in rows["Not a digit"]
    w.close()


def test_the_panel_drops_the_verdict_when_the_drawing_goes(qtbot):
    panel = PredictionPanel()
    qtbot.addWidget(panel)
    panel.set_threshold(2.0)
    probs = np.full(10, 0.1, np.float32)
    panel.show_probs(probs, not_digit=True, score=1.0)
    assert panel.caption == NOT_A_DIGIT
    panel.show_prediction(None)
    assert panel.caption == panel.empty_text and panel.toolTip() == "" and not panel.not_digit


def test_metadata_round_trip_keeps_the_data_record():
    meta = ModelMetadata("a", "mnist", [str(i) for i in range(10)], [], training={"data": {"x": 3}})
    assert json.loads(meta.to_json())["training"]["data"] == {"x": 3}
