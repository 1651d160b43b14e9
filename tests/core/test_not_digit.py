"""The not-a-digit rule: the score, calibration, the metadata field, and Predictor's answer."""
from __future__ import annotations

import json
import math

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from digitpad.core import not_digit
from digitpad.core.contract import LayerInfo, ModelMetadata
from digitpad.core.inference import Predictor


def test_digit_score_is_logsumexp_of_the_logits():
    logits = np.array([[0.0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1000.0] * 10], np.float32)
    s = not_digit.digit_score(logits)
    assert s[0] == pytest.approx(math.log(sum(math.exp(i) for i in range(10))))
    assert s[1] == pytest.approx(1000 + math.log(10))   # no overflow


def test_calibrate_takes_the_quantile_and_refuses_nonsense():
    scores = np.arange(1000, dtype=float)
    t = not_digit.calibrate(scores, 0.01)
    assert np.mean(scores < t) == pytest.approx(0.01)
    for bad in (np.array([]), np.array([1.0, np.nan])):
        with pytest.raises(ValueError):
            not_digit.calibrate(bad, 0.01)
    with pytest.raises(ValueError):
        not_digit.calibrate(scores, 1.5)


def meta_with(field) -> ModelMetadata:
    m = ModelMetadata("t", "mnist", [str(i) for i in range(10)], [])
    m.not_digit = field
    return m


@pytest.mark.parametrize("field", [None, "x", {}, {"score": "logsumexp"}, {"score": "energy?", "threshold": 1.0},
                                   {"score": "logsumexp", "threshold": "3"}, {"score": "logsumexp", "threshold": True},
                                   {"score": "logsumexp", "threshold": float("nan")}])
def test_a_missing_or_bad_field_gives_no_rule(field):
    assert not_digit.from_metadata(meta_with(field)) is None
    assert not_digit.from_metadata(None) is None


def test_the_field_round_trips_through_the_metadata_json():
    rule = not_digit.NotDigitRule(3.25, calibration={"n": 10})
    m = meta_with(rule.to_metadata())
    back = ModelMetadata.from_json(m.to_json())
    assert not_digit.from_metadata(back) == not_digit.NotDigitRule(3.25, "logsumexp", {"n": 10})
    assert "not_digit" not in json.loads(meta_with(None).to_json())   # old readers see nothing new


def linear_model(path, metadata: ModelMetadata | None):
    """logits = 10 * (mean ink) * w: a blank image scores log(10), a bright one much higher."""
    w = np.linspace(1, 2, 10, dtype=np.float32)[None] * 10.0 / 784
    nodes = [helper.make_node("Flatten", ["image"], ["flat"]),
             helper.make_node("MatMul", ["flat", "w"], ["logits"]),
             helper.make_node("Softmax", ["logits"], ["probs"], axis=1)]
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 28, 28])
    graph = helper.make_graph(nodes, "lin", [image],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10]),
                               helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", 10])],
                              [numpy_helper.from_array(np.repeat(w, 784, 0), "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    if metadata is not None:
        helper.set_model_props(model, {"digitpad": metadata.to_json()})
    onnx.save(model, str(path))
    return path


def test_predictor_flags_below_the_threshold_and_reports_the_score(tmp_path):
    meta = ModelMetadata("lin", "mnist", [str(i) for i in range(10)], [LayerInfo("x", "conv", "act:x")],
                         not_digit=not_digit.NotDigitRule(5.0).to_metadata())
    p = Predictor(linear_model(tmp_path / "m.onnx", meta))
    faint, bright = np.full((28, 28), 0.05, np.float32), np.ones((28, 28), np.float32)
    a, b = p.predict(faint), p.predict(bright)
    assert a.digit_score == pytest.approx(float(not_digit.digit_score(a.logits[None])[0]), rel=1e-5)
    assert a.digit_score < 5.0 < b.digit_score
    assert a.not_digit is True and b.not_digit is False
    probs, scores, flagged = p.score_batch(np.stack([faint, bright])[:, None])
    assert flagged.tolist() == [True, False] and scores[0] == pytest.approx(a.digit_score, rel=1e-5)
    assert np.allclose(probs[1], b.probs, atol=1e-6)


def test_a_model_without_a_threshold_never_says_not_a_digit(tmp_path):
    for meta in (None, ModelMetadata("lin", "mnist", [str(i) for i in range(10)], [])):
        p = Predictor(linear_model(tmp_path / "m.onnx", meta))
        pred = p.predict(np.full((28, 28), 0.05, np.float32))
        assert pred.not_digit is False and math.isfinite(pred.digit_score)
        assert p.not_digit_rule is None and not p.score_batch(np.zeros((3, 1, 28, 28), np.float32))[2].any()
