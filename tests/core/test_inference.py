"""Predictor: the model contract, foreign models, and every kind of bad file."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from model_factory import make_foreign_model, make_model, make_wrong_shape_model
from onnx import TensorProto, helper

from digitpad.core.inference import ModelLoadError, Predictor
from digitpad.core.saliency import occlusion_saliency


def digit_like():
    x = np.zeros((28, 28), np.float32)
    x[4:24, 13:16] = 1.0
    return x


def test_predict_contract(random_model):
    p = Predictor(random_model)
    r = p.predict(digit_like())
    assert r.probs.shape == (10,) and r.logits.shape == (10,)
    assert r.probs.sum() == pytest.approx(1.0, abs=1e-5)
    assert set(r.activations) == {"conv1", "conv2"} and p.layers == ["conv1", "conv2"]
    assert r.activations["conv1"].shape == (4, 14, 14) and r.activations["conv2"].shape == (8, 7, 7)
    assert r.seconds > 0
    assert p.metadata.arch == "testnet" and p.classes == [str(d) for d in range(10)]


def test_predict_batch_matches_single(random_model):
    p = Predictor(random_model)
    xs = np.random.default_rng(0).uniform(0, 1, (5, 1, 28, 28)).astype(np.float32)
    batch = p.predict_batch(xs)
    assert batch.shape == (5, 10)
    for x, row in zip(xs, batch):
        assert np.allclose(p.predict(x).probs, row, atol=1e-5)


def test_kernels_read_lazily_from_file(random_model):
    p = Predictor(random_model)
    k = p.kernels("conv2")
    assert k.shape == (8, 4, 3, 3)
    ref = {i.name: onnx.numpy_helper.to_array(i) for i in onnx.load(str(random_model)).graph.initializer}
    assert np.array_equal(k, ref["conv2.weight"])
    assert p.kernels("nope") is None


def test_session_is_tuned_for_latency(random_model):
    opts = Predictor(random_model).session.get_session_options()
    assert opts.intra_op_num_threads == 1 and opts.inter_op_num_threads == 1
    assert opts.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert opts.get_session_config_entry("session.inter_op.allow_spinning") == "0"


def test_foreign_model_without_metadata_still_predicts(tmp_path):
    p = Predictor(make_foreign_model(tmp_path / "foreign.onnx"))
    # Its conv layers are found in its graph: feature maps and kernels as for a digitpad file.
    assert p.metadata is None and p.layers == ["conv1", "conv2"] and p.kernels("conv1").shape == (4, 1, 3, 3)
    r = p.predict(digit_like())
    assert r.probs.sum() == pytest.approx(1.0, abs=1e-5) and r.activations["conv2"].shape[0] == 8
    assert p.predict_batch(np.zeros((3, 28, 28), np.float32)).shape == (3, 10)


def test_foreign_model_whose_output_is_softmax(tmp_path):
    path = make_model(tmp_path / "m.onnx", metadata=False, act_outputs=False, probs_name=None, logits_name="z")
    model = onnx.load(str(path))
    g = model.graph
    g.node.append(helper.make_node("Softmax", ["z"], ["out"], axis=1))
    del g.output[:]
    g.output.append(helper.make_tensor_value_info("out", TensorProto.FLOAT, ["N", 10]))
    onnx.save(model, str(path))
    p = Predictor(path)
    r = p.predict(digit_like())
    assert r.probs.sum() == pytest.approx(1.0, abs=1e-5)
    raw = p.session.run(None, {p.input_name: digit_like()[None, None]})[0][0]
    assert np.allclose(r.probs, raw, atol=1e-6)  # not softmaxed twice


def test_fixed_batch_model_still_batches(tmp_path):
    p = Predictor(make_model(tmp_path / "b1.onnx", input_shape=(1, 1, 28, 28)))
    assert p.predict_batch(np.zeros((4, 28, 28), np.float32)).shape == (4, 10)


def test_bad_metadata_json_is_reported_but_model_works(tmp_path, random_model):
    model = onnx.load(str(random_model))
    helper.set_model_props(model, {"digitpad": "{not json"})
    onnx.save(model, str(tmp_path / "badmeta.onnx"))
    p = Predictor(tmp_path / "badmeta.onnx")
    assert p.metadata is None and "JSON" in p.metadata_error
    assert p.predict(digit_like()).probs.shape == (10,)


@pytest.mark.parametrize("kind", ["corrupt", "truncated", "not_onnx", "empty", "missing", "wrong_shape",
                                  "no_class_output"])
def test_bad_model_files_give_clear_errors(tmp_path, random_model, kind):
    path = tmp_path / f"{kind}.onnx"
    if kind == "corrupt":
        data = bytearray(random_model.read_bytes())
        rng = np.random.default_rng(0)
        for i in rng.integers(0, len(data), 200):
            data[i] ^= 0xFF
        path.write_bytes(bytes(data))
    elif kind == "truncated":
        path.write_bytes(random_model.read_bytes()[: len(random_model.read_bytes()) // 2])
    elif kind == "not_onnx":
        path.write_text("This is a text file with a .onnx name, not a model.\n" * 20)
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "wrong_shape":
        make_wrong_shape_model(path)
    elif kind == "no_class_output":
        model = onnx.load(str(make_foreign_model(tmp_path / "f.onnx")))  # now a 7-class model
        for init in model.graph.initializer:
            if init.name in ("fc.weight", "fc.bias"):
                a = onnx.numpy_helper.to_array(init)
                init.CopyFrom(onnx.numpy_helper.from_array(a[..., :7].copy(), init.name))
        model.graph.output[0].type.tensor_type.shape.dim[1].dim_value = 7
        onnx.save(model, str(path))
    with pytest.raises(ModelLoadError) as info:
        Predictor(path)
    message = str(info.value)
    assert path.name in message
    assert "Traceback" not in message and len(message) < 400
    expected = {"wrong_shape": "shape", "empty": "empty", "missing": "Cannot read",
                "no_class_output": "[N, 10]"}.get(kind)
    if expected:
        assert expected in message


def test_saliency_marks_ink_not_background(random_model):
    p = Predictor(random_model)
    x = digit_like()
    sal, target = occlusion_saliency(p, x)
    assert sal.shape == (28, 28) and target == p.predict(x).top
    far = np.ones((28, 28), bool)
    far[0:28, 9:20] = False   # within one patch of the ink
    assert np.all(sal[far] == 0)
    assert np.abs(sal[~far]).sum() > 0


def test_saliency_of_empty_input_is_zero(random_model):
    sal, _ = occlusion_saliency(Predictor(random_model), np.zeros((28, 28), np.float32))
    assert not sal.any()


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_model_whose_outputs_are_not_finite_is_refused(tmp_path, random_model, bad):
    """Damaged weights (a flipped exponent, a diverged run) give NaN or inf for a drawn digit:
    the model is refused at load with the reason, not shown as "nan %"."""
    model = onnx.load(str(random_model))
    init = next(i for i in model.graph.initializer if i.dims and len(i.dims) == 4)   # a conv kernel
    w = onnx.numpy_helper.to_array(init).copy()
    w.flat[0] = bad
    init.CopyFrom(onnx.numpy_helper.from_array(w, init.name))
    path = tmp_path / "damaged.onnx"
    onnx.save(model, str(path))
    with pytest.raises(ModelLoadError, match=r"damaged.onnx gives (NaN or inf|invalid) probabilities .* "
                                             r"weights are damaged or its training diverged"):
        Predictor(path)
