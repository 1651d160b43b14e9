"""The contract's input description, the optdigits preprocessing, and an 8x8 model in the Predictor."""
from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from model_factory import _conv_net
from onnx import helper

from digitpad.core import evaluation, preprocess
from digitpad.core.contract import (
    DATASET_INPUTS,
    MNIST_INPUT,
    OPTDIGITS_INPUT,
    InputSpec,
    LayerInfo,
    ModelMetadata,
)
from digitpad.core.evaluation import evaluate, load_test_set
from digitpad.core.inference import ModelLoadError, Predictor
from digitpad.core.saliency import occlusion_saliency


def _meta(**input_fields) -> ModelMetadata:
    return ModelMetadata(arch="t8", dataset="optdigits", classes=[str(d) for d in range(10)],
                         layers=[LayerInfo("conv1", "conv", "act:conv1", "conv1.weight")],
                         input=dict(input_fields) if input_fields else OPTDIGITS_INPUT.to_dict())


def make_8x8_model(path, meta: ModelMetadata | None = None, input_shape=("N", 1, 8, 8), seed=0):
    model, _ = _conv_net(np.random.default_rng(seed), channels=(4,), input_shape=input_shape)
    if meta is not None:
        helper.set_model_props(model, {"digitpad": meta.to_json()})
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


# -- the description ------------------------------------------------------------------------------
def test_a_file_without_the_field_is_28x28_mnist_style():
    d = json.loads(_meta().to_json())
    del d["input"]
    meta = ModelMetadata.from_json(json.dumps(d))
    assert meta.input_spec == MNIST_INPUT and meta.input_spec.shape == (1, 28, 28)
    # Files written before channels and preprocessing existed: filled in from the size.
    d["input"] = {"size": 28, "polarity": "white-on-black", "range": [0.0, 1.0]}
    assert ModelMetadata.from_json(json.dumps(d)).input["preprocessing"] == "mnist"
    d["input"] = {"size": 8}
    assert ModelMetadata.from_json(json.dumps(d)).input_spec == OPTDIGITS_INPUT


def test_round_trip_keeps_the_description_and_unknown_keys():
    meta = _meta(**OPTDIGITS_INPUT.to_dict(), later_key=0.3)
    back = ModelMetadata.from_json(meta.to_json())
    assert back.input_spec == OPTDIGITS_INPUT and back.input["later_key"] == 0.3
    assert back.input_spec.shape == (1, 8, 8) and DATASET_INPUTS["optdigits"] == OPTDIGITS_INPUT
    # Later, a colour model is described the same way.
    rgb = InputSpec.from_dict({"size": 32, "channels": 3, "preprocessing": "rgb32", "polarity": "natural",
                               "layout": "NHWC", "range": [0, 255], "mean": [120, 110, 100], "std": [60, 60, 60]})
    assert rgb.shape == (3, 32, 32) and InputSpec.from_dict(rgb.to_dict()) == rgb
    assert rgb.mean == (120.0, 110.0, 100.0) and rgb.range == (0.0, 255.0) and rgb.layout == "NHWC"


@pytest.mark.parametrize("bad, message", [
    ([28], "input must be an object"),
    ({"size": True}, "size must be an integer"),
    ({"size": "28"}, "size must be an integer"),
    ({"size": 0}, "size must be 1 to 4096"),
    ({"channels": 5}, "channels must be 1 to 4"),
    ({"preprocessing": ""}, "preprocessing must be a short string"),
    ({"polarity": 3}, "polarity must be a string"),
    ({"range": [1, 0]}, "range must be"),
    ({"range": "0..1"}, "range must be"),
    ({"layout": "CHWN"}, "layout must be one of NCHW, NHWC, flat"),
    ({"polarity": "sideways"}, "polarity must be one of"),
    ({"mean": [0.5]}, "mean and input.std go together"),
    ({"mean": [0.5], "std": [0.0]}, "std must be positive"),
    ({"mean": "0.5", "std": 1}, "mean must be a number or 1 to 4 numbers"),
    ({"mean": [1, 2, 3, 4, 5], "std": 1}, "mean must be a number or 1 to 4 numbers"),
])
def test_bad_descriptions_are_readable_errors(bad, message):
    d = json.loads(_meta().to_json())
    d["input"] = bad
    with pytest.raises(ValueError, match=message):
        ModelMetadata.from_json(json.dumps(d))


# -- the optdigits preprocessing ------------------------------------------------------------------
def _canvas(strokes, size=400, width=14):
    """A white-on-black canvas with thick polylines (no Qt): points sampled densely, discs stamped."""
    img = np.zeros((size, size), np.float32)
    yy, xx = np.mgrid[0:size, 0:size]
    for pts in strokes:
        pts = np.asarray(pts, float)
        for a, b in zip(pts[:-1], pts[1:]):
            for t in np.linspace(0, 1, 40):
                x, y = a + t * (b - a)
                img[(xx - x) ** 2 + (yy - y) ** 2 <= (width / 2) ** 2] = 1.0
    return img


SEVEN = [[(120, 80), (280, 80), (170, 330)]]
ZERO = [[(200, 70), (270, 120), (280, 200), (260, 290), (200, 330), (140, 290), (120, 200), (130, 120),
         (200, 70)]]


def test_optdigits_input_shape_range_and_no_ink():
    assert preprocess.to_optdigits_input(np.zeros((300, 300), np.float32)) is None
    x = preprocess.to_optdigits_input(_canvas(SEVEN))
    assert x.shape == (1, 1, 8, 8) and x.dtype == np.float32
    counts = x[0, 0] * 16
    assert np.allclose(counts, np.rint(counts)) and counts.min() >= 0 and counts.max() <= 16
    with pytest.raises(ValueError):
        preprocess.to_optdigits_input(np.zeros((2, 3, 4), np.float32))


def test_nist_normalisation_fills_32_high_and_20_wide_whatever_the_drawing_size():
    for strokes in (ZERO, [[(x / 3 + 10, y / 3 + 200) for x, y in ZERO[0]]]):  # full size and a third
        b = preprocess.nist_bitmap(_canvas(strokes, width=14 if strokes is ZERO else 5))
        rows, cols = np.flatnonzero(b.any(1)), np.flatnonzero(b.any(0))
        assert rows[0] <= 1 and rows[-1] >= 30          # the box is 32 high (erosion may trim a row)
        assert 4 <= cols[0] <= 8 and 23 <= cols[-1] <= 27   # 20 wide from x = 6, give or take the morphing
        # The stroke-width band: between 108 and 560 on-pixels after NIST's erode/dilate step.
        assert 108 <= b.sum() <= 560


def test_a_vertical_one_becomes_a_wide_bar_as_in_the_data():
    # NIST stretched every box to 20 px wide (x = 6..25), so a bare "1" is a solid bar, which the
    # stroke-width step then erodes twice (to x = 8..23: block columns 2..5).
    x = preprocess.to_optdigits_input(_canvas([[(200, 60), (200, 340)]]))[0, 0]
    assert (x[1:7, 2:6] > 0.5).all() and (x[:, 2:6] > 0).all() and (x[:, [0, 1, 6, 7]] == 0).all()


def test_slanted_digit_is_stood_upright():
    slanted = [[(260, 60), (140, 340)]]   # a "1" leaning right
    b = preprocess.nist_bitmap(_canvas(slanted, width=40))
    rows = np.flatnonzero(b.any(1))
    left = [np.flatnonzero(b[r])[0] for r in (rows[0] + 2, rows[-1] - 2)]
    assert abs(left[0] - left[1]) <= 1


def test_position_and_scale_do_not_matter():
    big = preprocess.to_optdigits_input(_canvas(SEVEN, width=16))
    small = preprocess.to_optdigits_input(_canvas([[(x / 2 + 150, y / 2 + 30) for x, y in SEVEN[0]]], width=8))
    assert np.abs(big - small).mean() < 0.06


def test_preprocessings_by_name():
    assert set(preprocess.PREPROCESSINGS) == {"mnist", "optdigits"}
    img = _canvas(SEVEN)
    assert preprocess.PREPROCESSINGS["mnist"](img).shape == (1, 1, 28, 28)


# -- an 8x8 model in the Predictor ----------------------------------------------------------------
def test_predictor_follows_the_description(tmp_path):
    p = Predictor(make_8x8_model(tmp_path / "m8.onnx", _meta()))
    assert (p.input_size, p.input_channels, p.preprocessing, p.input_shape) == (8, 1, "optdigits", (1, 8, 8))
    x = p.input.from_drawing(_canvas(SEVEN))
    assert x.shape == (1, 1, 8, 8)
    r = p.predict(x)
    assert r.probs.shape == (10,) and r.activations["conv1"].shape == (4, 4, 4)
    assert np.allclose(p.predict(x[0, 0]).probs, r.probs)
    xs = np.random.default_rng(0).uniform(0, 1, (5, 1, 8, 8)).astype(np.float32)
    batch = p.predict_batch(xs)
    assert batch.shape == (5, 10) and np.allclose(batch[2], p.predict(xs[2]).probs, atol=1e-5)
    assert p.input.from_drawing(np.zeros((50, 50), np.float32)) is None
    sal, target = occlusion_saliency(p, x)
    assert sal.shape == (8, 8) and 0 <= target < 10


def test_an_8x8_model_without_metadata_is_read_from_its_graph(tmp_path):
    p = Predictor(make_8x8_model(tmp_path / "bare8.onnx", None))
    assert p.metadata is None and p.input_size == 8 and p.preprocessing == "optdigits"


def test_the_old_28x28_models_are_unchanged(random_model):
    p = Predictor(random_model)
    assert (p.input_size, p.preprocessing, p.input_shape) == (28, "mnist", (1, 28, 28))
    assert p.input.from_drawing(_canvas(SEVEN)).shape == (1, 1, 28, 28)


def test_description_and_graph_must_agree(tmp_path):
    path = make_8x8_model(tmp_path / "liar.onnx", _meta(**MNIST_INPUT.to_dict()))
    with pytest.raises(ModelLoadError, match=r"liar.onnx expects input of shape \[N, 1, 8, 8\].*metadata says "
                                             r"\[N, 1, 28, 28\]"):
        Predictor(path)


def test_an_unknown_preprocessing_is_refused_by_name(tmp_path):
    meta = _meta(size=32, channels=3, preprocessing="rgb32")
    path = make_8x8_model(tmp_path / "rgb.onnx", meta, input_shape=("N", 3, 32, 32))
    with pytest.raises(ModelLoadError, match="asks for the 'rgb32' preprocessing"):
        Predictor(path)


def test_evaluate_an_8x8_model_on_the_optdigits_test_set(tmp_path, mnist_dir):
    p = Predictor(make_8x8_model(tmp_path / "m8.onnx", _meta()))
    test = load_test_set(mnist_dir, "optdigits")
    assert len(test) == 1797 and test.size == 8 and test.image(0).max() <= 1.0
    r = evaluate(p, test, batch=500)
    assert r.n == 1797 and r.probs.shape == (1797, 10)
    np.testing.assert_allclose(r.probs[:3], p.predict_batch(test.images[:3] / 16.0), atol=1e-5)
    with pytest.raises(evaluation.TestSetError, match="takes 8x8 input; the mnist test set holds 28x28"):
        evaluate(p, load_test_set(mnist_dir, "mnist"))


def test_an_8x8_model_is_not_fine_tuned_on_28x28_drawings(tmp_path):
    from digitpad.core.handwriting.finetune import finetune_blocker

    model = tmp_path / "m.onnx"
    model.write_bytes(b"")
    (tmp_path / "m.ckpt.pt").write_bytes(b"")
    assert "reads 8x8 digits; My digits are kept as 28x28" in finetune_blocker(model, input_size=8)
    assert finetune_blocker(model, input_size=28) is None and finetune_blocker(model) is None
