"""Predictor.explain: every number recomputed from its terms equals what the model computed."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import numpy_helper
from onnx_graphs import foreign_mnist

from digitpad.core.inference import ExplainUnavailable, Predictor

ZOO = ["digitpad", "digitpad-s", "seed001", "seed002", "seed000", "digitpad-s+bn", "digitpad-s+ceil", "shipped"]


def _initializers(path) -> dict[str, np.ndarray]:
    return {i.name: numpy_helper.to_array(i) for i in onnx.load(str(path)).graph.initializer}


def _normalised_input(path) -> str:
    """The tensor the first conv reads (the input after (x - mean) / std): its name is the exporter's."""
    return next(n.output[0] for n in onnx.load(str(path)).graph.node if n.op_type == "Div")


@pytest.mark.parametrize("name", ZOO)
def test_value_equals_activation_on_real_digits(zoo, mnist_test, name):
    """Random units of every layer and stage, five real digits: .value is within 1e-4 of ONNX
    Runtime's activation (and of the NumPy forward pass's own number)."""
    if name not in zoo:
        pytest.skip("no shipped model")
    p = Predictor(zoo[name])
    rng = np.random.default_rng(len(name))
    images, _ = mnist_test
    for x in images[rng.choice(len(images), 5, replace=False)]:
        pred = p.predict(x)
        for layer in p.layers:
            act = pred.activations[layer]
            for _ in range(25):
                c, r, col = (int(rng.integers(n)) for n in act.shape)
                e = p.explain(x, layer, c, r, col)
                assert abs(e.value - act[c, r, col]) <= 1e-4
                assert e.onnxruntime == act[c, r, col]
        for j in range(10):
            assert abs(p.explain(x, "logits", j).value - pred.logits[j]) <= 1e-4
            assert abs(p.explain(x, "probs", j).value - pred.probs[j]) <= 1e-4
        for stage in p.stages():   # pools, flatten, normalisation, pre-activation convs, dense...
            index = tuple(int(rng.integers(n)) for n in stage.shape)
            e = p.explain(x, stage.name, *index) if len(index) == 3 else p.explain(x, stage.name, index[0])
            assert abs(e.value - e.computed) <= 1e-4, stage.title


def test_conv_unit_terms(zoo):
    """A corner unit of conv1: the window on every input channel with padding marked, the kernel,
    products and sums, bias, then batch norm with the layer's own numbers, then ReLU."""
    path = zoo["digitpad-s+bn"]
    p = Predictor(path)
    inits = _initializers(path)
    x = np.random.default_rng(1).uniform(0, 1, (28, 28)).astype(np.float32)
    e = p.explain(x, "conv1", 3, 0, 0)
    t = e.terms
    assert t.kind == "conv" and t.input == _normalised_input(path) and list(t.channels) == [0]
    assert list(t.rows) == [-1, 0, 1] and list(t.cols) == [-1, 0, 1]
    assert t.padding[0].all() and t.padding[:, 0].all() and not t.padding[1:, 1:].any()
    assert (t.window[0][t.padding] == 0).all()
    normalised = (x - 0.1307) / 0.3081
    assert np.allclose(t.window[0, 1:, 1:], normalised[:2, :2], atol=1e-6)
    assert np.array_equal(t.kernel, inits["net.blocks.conv1.conv.weight"][3])
    assert np.allclose(t.products, t.window * t.kernel) and np.isclose(t.total, t.products.sum())
    assert [s.op for s in e.steps] == ["BatchNormalization", "Relu"]
    bn = e.steps[0]
    for key, init in (("mean", "running_mean"), ("var", "running_var"), ("gamma", "weight"), ("beta", "bias")):
        assert bn.terms[key] == pytest.approx(float(inits[f"net.blocks.conv1.bn.{init}"][3]))
    assert bn.terms["x"] == pytest.approx(t.value)
    assert bn.formula == "(x - mean) / sqrt(var + eps) * gamma + beta"
    assert bn.text().startswith("(") and bn.text().endswith(f"= {bn.text().split('= ')[-1]}")
    assert e.steps[1].output == max(0.0, bn.output)
    assert not any("folded" in n for n in e.notes)


def test_folded_batch_norm_is_said(zoo):
    e = Predictor(zoo["digitpad+floor"]).explain(np.zeros((28, 28), np.float32),
                                                                            "conv3", 0, 5, 5)
    assert [s.op for s in e.steps] == ["Relu"] and e.terms.has_bias
    assert any("folded into this conv by the exporter" in n for n in e.notes)
    plain = Predictor(zoo["seed001"]).explain(np.zeros((28, 28), np.float32), "conv1", 0, 5, 5)
    assert not plain.notes  # seed001 has no batch norm: its conv bias is its own


def test_pool_window_downstream_and_dropped_units(zoo, mnist_test):
    p = Predictor(zoo["digitpad+floor"])
    x = mnist_test[0][0]
    pred = p.predict(x)
    e = p.explain(x, "conv3", 7, 4, 9)
    [window] = e.downstream
    assert (window.row, window.col) == (2, 4) and window.reads(4, 9)
    assert window.value == pred.activations["conv3"][7, 4:6, 8:10].max()
    wr, wc = window.winner_position
    assert pred.activations["conv3"][7, wr, wc] == window.value
    # conv4 is 7x7 and pooled 2x2 without ceil mode: row 6 and column 6 feed nothing
    dropped = p.explain(x, "conv4", 0, 6, 3)
    assert dropped.downstream == [] and not dropped.used
    assert any("never reads" in n for n in dropped.notes)
    assert p.explain(x, "conv4", 0, 5, 3).used


def test_ceil_mode_pool_window_marks_the_overhang(zoo):
    p = Predictor(zoo["digitpad-s+ceil"])
    x = np.random.default_rng(2).uniform(0, 1, (28, 28)).astype(np.float32)
    e = p.explain(x, "conv3", 1, 6, 6)   # 7x7 map, ceil-mode 2x2 pool: the last window hangs over
    [window] = e.downstream
    assert e.used and (window.row, window.col) == (3, 3)
    assert window.padding.sum() == 3 and window.winner == (0, 0) and window.winner_position == (6, 6)
    assert p.used_map("conv3").complete


def test_dense_and_softmax_terms(zoo, mnist_test):
    path = zoo["digitpad+floor"]
    p = Predictor(path)
    x = mnist_test[0][1]
    pred = p.predict(x)
    e = p.explain(x, "logits", pred.top)
    d = e.terms
    assert d.kind == "dense" and d.inputs.shape == (1152,)
    top = d.top(10)
    assert [abs(c.product) for c in top] == sorted((abs(c.product) for c in top), reverse=True)
    assert abs(top[0].product) == np.abs(d.products).max()
    assert np.isclose(d.total + d.bias, e.value)
    stage, index = top[0].source    # the input came from the last pooled maps, before flattening
    assert p.network.stage(stage).op == "MaxPool" and len(index) == 3
    assert p.trace(x)[stage][(0, *index)] == pytest.approx(top[0].input)
    s = p.explain(x, "probs", pred.top).terms
    assert s.kind == "softmax" and s.shift == pytest.approx(pred.logits.max())
    assert np.allclose(s.exps / s.total, pred.probs, atol=1e-6)
    flat = p.explain(x, p.stages()[-3].name, 100).terms
    assert flat.kind == "copy" and len(flat.source) == 3


def test_input_normalisation_steps(zoo):
    p = Predictor(zoo["digitpad-s"])
    x = np.zeros((28, 28), np.float32)
    x[10, 12] = 0.75
    e = p.explain(x, "div", 0, 10, 12)
    assert e.terms.kind == "input" and e.terms.value == 0.75
    assert [s.op for s in e.steps] == ["Sub", "Div"]
    assert e.steps[0].text() == "0.75 - 0.1307 = 0.6193"
    assert e.value == pytest.approx((0.75 - 0.1307) / 0.3081, abs=1e-6)


def test_trace_is_cached_per_input(zoo, monkeypatch):
    p = Predictor(zoo["digitpad-s"])
    calls = []
    run = p.network.run
    monkeypatch.setattr(p.network, "run", lambda x, **kw: calls.append(1) or run(x, **kw))
    x = np.ones((28, 28), np.float32) * 0.5
    p.explain(x, "conv2", 0, 1, 1)
    p.explain(x, "conv3", 2, 3, 3)
    assert len(calls) == 1
    p.explain(x * 0.9, "conv2", 0, 1, 1)
    assert len(calls) == 2


def test_bad_requests_are_one_line(zoo):
    p = Predictor(zoo["digitpad-s"])
    x = np.zeros((28, 28), np.float32)
    for args in (("conv1", 16, 0, 0), ("conv1", 0, 28, 0), ("nope", 0, 0, 0), ("logits", 3, 1, 1)):
        with pytest.raises(ExplainUnavailable) as e:
            p.explain(x, *args)
        assert "\n" not in str(e.value)


def test_foreign_model_explains_by_stage_name(tmp_path):
    path = tmp_path / "mnist-like.onnx"
    foreign_mnist(path)
    p = Predictor(path)
    # Its conv layers are found in the graph: each read after its bias and ReLU, as ours are.
    assert p.layers == ["conv1", "conv2"] and p.explain_unavailable is None
    assert [p._layer_output(n) for n in p.layers] == ["r1", "r2"]
    x = np.random.default_rng(4).uniform(0, 1, (28, 28)).astype(np.float32)
    relu = next(s for s in p.stages() if s.op == "Relu")
    e = p.explain(x, relu.name, 2, 13, 0)
    assert e.terms.kind == "conv" and [s.op for s in e.steps] == ["Add", "Relu"]  # bias as an Add
    # SAME_UPPER 5x5 padding: column 0 reads two columns of padding on the left
    assert list(e.terms.cols) == [-2, -1, 0, 1, 2]
    assert e.terms.padding.all(axis=0).tolist() == [True, True, False, False, False]
    logit = p.explain(x, "Plus214_Output_0", 4)
    assert logit.terms.kind == "dense" and logit.onnxruntime == pytest.approx(logit.value, abs=1e-4)
    assert p.used_map(relu.name).complete
    second = [s for s in p.stages() if s.op == "Relu"][1]
    used = p.used_map(second.name)   # 14x14 pooled 3x3 with stride 3 gives 4x4: rows 12, 13 dropped
    assert used.rows.tolist() == [True] * 12 + [False] * 2 and used.cols.tolist() == used.rows.tolist()
    assert used.reason.startswith("Rows 12 and 13 and columns 12 and 13 feed nothing: MaxPool 2")


def test_unsupported_model_predicts_and_says_why_in_one_line(tmp_path):
    from onnx import TensorProto, helper

    nodes = [helper.make_node("LRN", ["image"], ["n"], size=3),
             helper.make_node("Flatten", ["n"], ["f"]),
             helper.make_node("MatMul", ["f", "w"], ["logits"])]
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 28, 28])
    graph = helper.make_graph(nodes, "lrn", [image],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])],
                              [numpy_helper.from_array(np.ones((784, 10), np.float32) / 784, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / "lrn.onnx"
    onnx.save(model, str(path))
    p = Predictor(path)
    assert p.predict(np.zeros((28, 28), np.float32)).probs.shape == (10,)
    reason = p.explain_unavailable
    assert reason and "LRN" in reason and "\n" not in reason
    with pytest.raises(ExplainUnavailable):
        p.explain(np.zeros((28, 28), np.float32), "logits", 0)


def test_inference_module_does_not_import_onnx():
    code = ("import sys; import digitpad.core.inference, digitpad.core.shapes; "
            "print('onnx' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_layout_ops_are_copies_from_a_named_position():
    """Exports from channels-last frameworks transpose the image first; flatten may go through
    Squeeze/Unsqueeze. Each such unit is explained as a copy from one position of its input."""
    from onnx import TensorProto, helper

    from digitpad.core.explain import explain
    from digitpad.core.forward import Network

    rng = np.random.default_rng(6)
    inits = [numpy_helper.from_array(rng.normal(size=(4, 3, 3, 1)).astype(np.float32), "w"),   # HWIO-like
             numpy_helper.from_array(np.array([3, 2, 0, 1], np.int64), "unused"),
             numpy_helper.from_array(rng.normal(0, 0.02, (4 * 26 * 26, 10)).astype(np.float32), "fc"),
             numpy_helper.from_array(np.array([1], np.int64), "axis1")]
    nodes = [helper.make_node("Transpose", ["image"], ["nhwc"], perm=[0, 2, 3, 1]),
             helper.make_node("Transpose", ["nhwc"], ["nchw"], perm=[0, 3, 1, 2]),
             helper.make_node("Transpose", ["w"], ["oihw"], perm=[0, 3, 1, 2]),
             helper.make_node("Conv", ["nchw", "oihw"], ["c"], kernel_shape=[3, 3]),
             helper.make_node("Flatten", ["c"], ["f"]),
             helper.make_node("Unsqueeze", ["f", "axis1"], ["u"]),
             helper.make_node("Squeeze", ["u", "axis1"], ["s"]),
             helper.make_node("MatMul", ["s", "fc"], ["logits"])]
    graph = helper.make_graph(nodes, "nhwc", [helper.make_tensor_value_info("image", TensorProto.FLOAT,
                                                                            ["N", 1, 28, 28])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    net = Network.load(model)
    values = net.run(rng.uniform(0, 1, (1, 1, 28, 28)).astype(np.float32))
    assert [s.op for s in net.stages] == ["Input", "Transpose", "Transpose", "Conv", "Flatten", "Unsqueeze",
                                          "Squeeze", "MatMul"]   # the weight's Transpose was folded at load
    for stage in net.stages:
        for _ in range(10):
            index = tuple(int(rng.integers(n)) for n in stage.shape)
            e = explain(net, values, stage.name, index)
            assert e.terms.kind != "other" and abs(e.value - e.computed) <= 1e-5 * max(1.0, abs(e.value))
    e = explain(net, values, "nhwc", (5, 7, 0))
    assert e.terms.source == (0, 5, 7)


def test_as_text_reads_like_the_arithmetic(zoo):
    from digitpad.core.explain import as_text

    p = Predictor(zoo["digitpad-s+bn"])
    x = np.random.default_rng(7).uniform(0, 1, (28, 28)).astype(np.float32)
    conv = as_text(p.explain(x, "conv2", 4, 0, 13), p.network)
    assert "conv of MaxPool 1 (16 channels), 3x3 kernel, rows -1..1, cols 12..14" in conv
    assert "BatchNormalization: (" in conv and "Relu: max(0, " in conv and "read by MaxPool 2 [4, 0, 6]" in conv
    pred = p.predict(x)
    logit = as_text(p.explain(x, "logits", pred.top), p.network)
    assert logit.count(" x w ") == 5 and "(MaxPool 3 [" in logit
    assert "sum of 10 exps" in as_text(p.explain(x, "probs", 0), p.network)


def test_average_and_global_pool_terms():
    from onnx import TensorProto, helper

    from digitpad.core.explain import explain
    from digitpad.core.forward import Network

    rng = np.random.default_rng(8)
    inits = [numpy_helper.from_array(rng.normal(size=(3, 1, 3, 3)).astype(np.float32), "w"),
             numpy_helper.from_array(rng.normal(size=(10, 3)).astype(np.float32), "fc")]
    nodes = [helper.make_node("Conv", ["image", "w"], ["c"], kernel_shape=[3, 3]),
             helper.make_node("AveragePool", ["c"], ["a"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                              ceil_mode=1, count_include_pad=0),
             helper.make_node("GlobalAveragePool", ["a"], ["g"]),
             helper.make_node("Flatten", ["g"], ["f"]),
             helper.make_node("Gemm", ["f", "fc"], ["logits"], transB=1)]
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 28, 28])
    graph = helper.make_graph(nodes, "avg", [image],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])], inits)
    net = Network.load(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))
    values = net.run(rng.uniform(0, 1, (1, 1, 28, 28)).astype(np.float32))
    corner = explain(net, values, "a", (1, 0, 0))
    assert corner.terms.kind == "pool" and corner.terms.divisor == 4 and corner.terms.padding.sum() == 5
    assert abs(corner.value - corner.computed) <= 1e-5
    g = explain(net, values, "g", (2, 0, 0))
    assert g.terms.divisor == 14 * 14 and g.terms.window.shape == (14, 14)   # 26 -> 14 in ceil mode
    # all of the image, and then some: the pool's padding and ceil-mode overhang count in the extent
    assert g.receptive_field.mask.all() and g.receptive_field.size == (31, 31)
    assert abs(g.value - g.computed) <= 1e-5
    assert [w.op for w in explain(net, values, "a", (2, 5, 5)).downstream] == ["GlobalAveragePool"]
