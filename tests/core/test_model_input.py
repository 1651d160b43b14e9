"""The input seam: one adapter per model converts sources to canonical images and those to the graph."""
from __future__ import annotations

import numpy as np
import pytest
from model_factory import make_colour_model, make_fashion_model, make_model

from digitpad.core.contract import CIFAR10_INPUT, MNIST_INPUT, OPTDIGITS_INPUT, InputSpec
from digitpad.core.inference import ModelLoadError, Predictor
from digitpad.core.model_input import InputAdapter, InputMismatch, spec_from_graph
from digitpad.core.saliency import occlusion_saliency

RNG = np.random.default_rng(0)


def canonical(n: int, shape) -> np.ndarray:
    return RNG.random((n, *shape), dtype=np.float32)


def test_digitpad_models_take_the_canonical_image_as_it_is():
    adapter = InputAdapter(MNIST_INPUT, ["N", 1, 28, 28])
    x = canonical(2, (1, 28, 28))
    assert adapter.identity and adapter.to_tensor(x) is x          # no copy on the 60 Hz path
    assert adapter.canonical(x[0, 0]).shape == (1, 1, 28, 28)       # a bare [S, S] grey image is one image


@pytest.mark.parametrize("spec, graph, expected", [
    (InputSpec(layout="NHWC"), ["N", 28, 28, 1], lambda x: x.transpose(0, 2, 3, 1)),
    (InputSpec(layout="flat"), ["N", 784], lambda x: x.reshape(len(x), 784)),
    (InputSpec(layout="flat"), ["N", 28, 28], lambda x: x.reshape(len(x), 28, 28)),
    (InputSpec(range=(0.0, 255.0)), ["N", 1, 28, 28], lambda x: x * 255),
    (InputSpec(range=(-1.0, 1.0)), ["N", 1, 28, 28], lambda x: x * 2 - 1),
    (InputSpec(mean=(0.1307,), std=(0.3081,)), ["N", 1, 28, 28], lambda x: (x - 0.1307) / 0.3081),
    (InputSpec(polarity="black-on-white"), ["N", 1, 28, 28], lambda x: 1 - x),
    (InputSpec(), ["N", 3, 28, 28], lambda x: np.repeat(x, 3, axis=1)),          # grey on three channels
    (InputSpec(range=(0.0, 255.0), layout="NHWC", mean=(127.5,), std=(127.5,)), [1, 28, 28, 1],
     lambda x: ((x * 255 - 127.5) / 127.5).transpose(0, 2, 3, 1)),
    (InputSpec(size=32, channels=3, preprocessing="photo", polarity="natural", mean=(0.49, 0.48, 0.45),
               std=(0.25, 0.24, 0.26)), ["N", 3, 32, 32],
     lambda x: (x - np.array([0.49, 0.48, 0.45], np.float32)[:, None, None]) / np.array(
         [0.25, 0.24, 0.26], np.float32)[:, None, None]),
])
def test_every_convention_is_applied_in_one_place(spec, graph, expected):
    adapter = InputAdapter(spec, graph)
    x = canonical(3, spec.shape)
    t = adapter.to_tensor(x)
    np.testing.assert_allclose(t, expected(x), rtol=1e-5, atol=1e-5)
    assert t.dtype == np.float32 and t.shape[1:] == adapter.tensor_shape and not adapter.identity


@pytest.mark.parametrize("graph, spec", [
    (["N", 1, 28, 28], MNIST_INPUT),
    ([1, 1, 28, 28], MNIST_INPUT),
    (["N", 1, 8, 8], OPTDIGITS_INPUT),
    (["N", 28, 28, 1], InputSpec(layout="NHWC")),
    (["N", 784], InputSpec(layout="flat")),
    (["N", 28, 28], InputSpec(layout="flat")),
    (["N", 3, 32, 32], CIFAR10_INPUT),
    (["N", 32, 32, 3], InputSpec(size=32, channels=3, preprocessing="photo", polarity="natural", layout="NHWC")),
])
def test_a_file_without_metadata_is_read_from_its_graph(graph, spec):
    assert spec_from_graph(graph) == spec
    InputAdapter(spec, graph)   # and fits it


def test_three_channels_of_28x28_are_a_grey_digit_on_each_channel():
    spec = spec_from_graph(["N", 3, 28, 28])
    adapter = InputAdapter(spec, ["N", 3, 28, 28])
    assert adapter.channels == 1 and adapter.graph_channels == 3 and adapter.drawn


@pytest.mark.parametrize("spec, graph, message", [
    (MNIST_INPUT, ["N", 1, 8, 8], r"expects input of shape \[N, 1, 8, 8\]; its metadata says \[N, 1, 28, 28\]"),
    (CIFAR10_INPUT, ["N", 1, 32, 32], r"\[N, 1, 32, 32\]; its metadata says \[N, 3, 32, 32\]"),
    (InputSpec(layout="NHWC"), ["N", 1, 28, 28], "its metadata says"),
    (InputSpec(size=32, channels=3, preprocessing="mnist"), None, "which makes 1 x 28x28"),
    (InputSpec(preprocessing="rgb32"), None, "asks for the 'rgb32' preprocessing"),
    (InputSpec(channels=2, preprocessing="photo"), None, "describes its input as 2 x"),
    (InputSpec(mean=(0.1, 0.2), std=(1.0, 1.0)), ["N", 1, 28, 28], "2 means for a 1-channel input"),
])
def test_disagreements_are_one_sentence(spec, graph, message):
    with pytest.raises(InputMismatch, match=message):
        InputAdapter(spec, graph, "m.onnx")


def test_rows_and_display():
    grey = InputAdapter(OPTDIGITS_INPUT)
    rows = RNG.integers(0, 17, (4, 8, 8), dtype=np.uint8)
    x = grey.from_rows(rows, 16)
    assert x.shape == (4, 1, 8, 8) and np.allclose(x[:, 0] * 16, rows)
    assert grey.to_display(x[1]).shape == (8, 8)
    colour = InputAdapter(CIFAR10_INPUT)
    rgb_rows = RNG.integers(0, 256, (2, 3, 32, 32), dtype=np.uint8)
    y = colour.from_rows(rgb_rows)
    shown = colour.to_display(y[0])
    assert shown.shape == (32, 32, 3) and np.allclose(shown * 255, rgb_rows[0].transpose(1, 2, 0), atol=1e-3)
    with pytest.raises(ValueError, match="are not 3x32x32 images"):
        colour.from_rows(rows)
    with pytest.raises(ValueError, match="3x32x32 image was expected"):
        colour.canonical(np.zeros((5, 5)))


def test_pictures_become_each_kind_of_canonical_image():
    photo = RNG.integers(0, 256, (120, 200, 3), dtype=np.uint8)
    assert InputAdapter(CIFAR10_INPUT).from_picture(photo).shape == (1, 3, 32, 32)
    assert InputAdapter(InputSpec(preprocessing="product")).from_picture(photo).shape == (1, 1, 28, 28)
    with pytest.raises(ValueError, match="takes pictures, not drawings"):
        InputAdapter(CIFAR10_INPUT).from_drawing(np.zeros((50, 50), np.float32))


def test_a_colour_model_end_to_end(tmp_path):
    p = Predictor(make_colour_model(tmp_path / "rgb.onnx"))
    assert p.input_shape == (3, 32, 32) and not p.input.drawn and p.classes[0] == "airplane"
    x = canonical(1, (3, 32, 32))
    r = p.predict(x)
    assert r.probs.shape == (10,) and abs(float(r.probs.sum()) - 1) < 1e-5
    assert np.allclose(p.predict_batch(np.concatenate([x, x]))[1], r.probs, atol=1e-6)
    sal, target = occlusion_saliency(p, x)
    assert sal.shape == (32, 32) and target == r.top and np.abs(sal).max() > 0
    e = p.explain(x, "conv1", 2, 5, 6)
    assert abs(e.value - float(r.activations["conv1"][2, 5, 6])) < 1e-4
    first_conv = p.shapes()
    assert first_conv.stages[0].shape == (3, 32, 32)


def test_a_fashion_model_takes_pictures_with_the_clothes_names(tmp_path):
    p = Predictor(make_fashion_model(tmp_path / "f.onnx"))
    assert p.preprocessing == "product" and not p.input.drawn and p.classes[1] == "Trouser"


def test_grey_models_from_elsewhere_in_other_layouts_predict_alike(tmp_path):
    """The same weights behind an NCHW input and behind a channels-last input read the same image alike."""
    nchw = Predictor(make_model(tmp_path / "nchw.onnx", metadata=False))
    x = canonical(1, (1, 28, 28))
    assert nchw.input.spec.layout == "NCHW" and nchw.predict(x).probs.shape == (10,)


def test_a_refused_description_is_a_model_load_error(tmp_path):
    path = make_model(tmp_path / "liar.onnx", input_shape=("N", 3, 32, 32))
    with pytest.raises(ModelLoadError, match=r"liar.onnx expects input of shape \[N, 3, 32, 32\]"):
        Predictor(path)
