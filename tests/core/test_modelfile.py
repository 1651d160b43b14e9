"""A model is one self-contained file of the contract's shape: data kept outside the file is
refused (wherever the tensor hides), class-score outputs must be [N, K], special files never
reach ONNX Runtime, and describing a model reads its metadata, not its weights."""
from __future__ import annotations

import os
import shutil
import sys

import numpy as np
import onnx
import pytest
from model_factory import make_foreign_model, make_model
from onnx import TensorProto, helper, numpy_helper
from special_files import make_special, no_hang

from digitpad.core import modelfile
from digitpad.core.inference import ModelLoadError, Predictor


# -- external data ------------------------------------------------------------------------------
def _save_external(model: onnx.ModelProto, path, location="weights.bin"):
    onnx.save_model(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=location, size_threshold=0)
    return path


def test_a_model_saved_with_external_data_is_refused_in_one_sentence(tmp_path, monkeypatch):
    src = make_model(tmp_path / "src.onnx")
    ext = _save_external(onnx.load(str(src)), tmp_path / "ext.onnx")
    assert (tmp_path / "weights.bin").is_file()
    for cwd in (tmp_path, tmp_path.parent):       # whether or not the weights could be found from here
        monkeypatch.chdir(cwd)
        with pytest.raises(ModelLoadError) as e:
            Predictor(ext)
        text = str(e.value)
        assert "ext.onnx" in text and "external data" in text and "conv1.weight" in text and "\n" not in text
    assert Predictor(src).predict(np.zeros((1, 1, 28, 28), np.float32)).probs.shape == (10,)


def _external(tensor: onnx.TensorProto, location="stolen.bin") -> onnx.TensorProto:
    """The tensor as a reference to a file outside the model (what a hostile file would hold)."""
    tensor.ClearField("raw_data")
    tensor.ClearField("float_data")
    tensor.data_location = TensorProto.EXTERNAL
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", location
    return tensor


def _model(nodes, inits=(), outputs=("y",), sparse=()) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 28, 28])],
                              [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs],
                              list(inits), sparse_initializer=list(sparse))
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m


def _weights(name="w"):
    return numpy_helper.from_array(np.ones((1, 10), np.float32), name)


@pytest.mark.parametrize("where", ["initializer", "constant node", "if branch", "loop body, two deep",
                                   "sparse initializer", "data_location only", "external_data only"])
def test_external_tensors_are_found_wherever_they_hide(tmp_path, where):
    (tmp_path / "stolen.bin").write_bytes(np.ones(10, np.float32).tobytes())
    flat = helper.make_node("Flatten", ["image"], ["f"])
    if where in ("initializer", "data_location only", "external_data only"):
        t = _external(_weights())
        if where == "data_location only":
            t.ClearField("external_data")
        if where == "external_data only":
            t.data_location = TensorProto.DEFAULT
        m = _model([flat, helper.make_node("MatMul", ["f", "w"], ["y"])], [t])
    elif where == "constant node":
        m = _model([helper.make_node("Constant", [], ["y"], value=_external(_weights()))])
    elif where == "sparse initializer":
        values = _external(numpy_helper.from_array(np.ones(2, np.float32), "w"))
        indices = numpy_helper.from_array(np.array([0, 3], np.int64), "w_idx")
        m = _model([helper.make_node("Identity", ["w"], ["y"])], sparse=[helper.make_sparse_tensor(values, indices,
                                                                                                    [10])])
    else:
        inner = helper.make_graph([helper.make_node("Constant", [], ["out"], value=_external(_weights()))], "inner",
                                  [], [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)])
        if where == "loop body, two deep":
            inner = helper.make_graph([helper.make_node("If", ["c"], ["out"], then_branch=inner, else_branch=inner)],
                                      "mid", [], [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)],
                                      [numpy_helper.from_array(np.array(True), "c")])
        cond = numpy_helper.from_array(np.array(True), "cond")
        m = _model([helper.make_node("If", ["cond"], ["y"], then_branch=inner, else_branch=inner)], [cond])
    data = m.SerializeToString()
    assert modelfile.external_tensors(data)
    path = tmp_path / "m.onnx"
    path.write_bytes(data)
    with pytest.raises(ModelLoadError, match="external data"):
        modelfile.read_model(path)


def test_a_self_contained_model_has_no_external_tensors(random_model):
    assert modelfile.external_tensors(random_model.read_bytes()) == []


def test_the_app_start_path_does_not_import_onnx(tmp_path):
    make_model(tmp_path / "m.onnx")
    code = ("import sys; from digitpad.core.inference import Predictor; "
            f"Predictor({str(tmp_path / 'm.onnx')!r}); print('onnx' in sys.modules)")
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "False", out.stderr


# -- the outputs --------------------------------------------------------------------------------
def _scores_model(path, logits_shape, produced: int, probs: bool = True, logits_name="logits"):
    """A model whose score output is declared ``logits_shape`` and really has ``produced`` columns."""
    w = numpy_helper.from_array(np.random.default_rng(0).normal(0, 0.01, (784, produced)).astype(np.float32), "w")
    nodes = [helper.make_node("Flatten", ["image"], ["f"]), helper.make_node("MatMul", ["f", "w"], [logits_name])]
    outputs = [helper.make_tensor_value_info(logits_name, TensorProto.FLOAT, logits_shape)]
    if probs:
        nodes.append(helper.make_node("Softmax", [logits_name], ["probs"], axis=1))
        outputs.append(helper.make_tensor_value_info("probs", TensorProto.FLOAT, logits_shape))
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("image", TensorProto.FLOAT,
                                                                         ["N", 1, 28, 28])], outputs, [w])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, str(path))
    return path


@pytest.mark.parametrize("declared, produced, probs", [
    (["N", 20], 20, True), (["N", 1000], 1000, True), (["N", 20], 20, False),
    (["N", "C"], 20, True),              # free dimension: caught from what it produces
    (None, 1000, True),                  # no shape declared at all
])
def test_class_scores_other_than_ten_are_refused(tmp_path, declared, produced, probs):
    path = _scores_model(tmp_path / "wide.onnx", declared, produced, probs)
    with pytest.raises(ModelLoadError) as e:
        Predictor(path)
    assert "wide.onnx" in str(e.value) and "[N, 10]" in str(e.value) and "\n" not in str(e.value)


def test_a_foreign_models_scores_must_be_ten_wide(tmp_path):
    path = _scores_model(tmp_path / "f.onnx", ["N", 1000], 1000, probs=False, logits_name="scores")
    with pytest.raises(ModelLoadError, match=r"no output of shape \[N, 10\]"):
        Predictor(path)
    ok = _scores_model(tmp_path / "g.onnx", ["N", 10], 10, probs=False, logits_name="scores")
    assert Predictor(ok).logits_name == "scores"


def test_scores_of_another_rank_are_refused(tmp_path):
    path = _scores_model(tmp_path / "rank3.onnx", ["N", 10], 10, probs=False)
    g = onnx.load(str(path))
    g.graph.node[-1].output[0] = "flat_scores"        # the score output "logits" becomes [N, 10, 1]
    g.graph.node.append(helper.make_node("Unsqueeze", ["flat_scores", "axes"], ["logits"]))
    g.graph.initializer.append(numpy_helper.from_array(np.array([2], np.int64), "axes"))
    g.graph.output[0].CopyFrom(helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10, 1]))
    onnx.save(g, str(path))
    with pytest.raises(ModelLoadError, match=r"\[N, 10, 1\]"):
        Predictor(path)


def test_score_outputs_alone():
    assert modelfile.score_outputs("m", [("logits", ["N", 10]), ("probs", ["N", 10])], 10) == ("logits", "probs")
    assert modelfile.score_outputs("m", [("x", ["N", 3]), ("s", [1, 10])], 10) == ("s", None)
    with pytest.raises(ModelLoadError, match="'probs' has shape"):
        modelfile.score_outputs("m", [("logits", ["N", 10]), ("probs", ["N", 20])], 10)
    with pytest.raises(ModelLoadError, match="for one image"):
        modelfile.score_outputs("m", [("logits", ["N", "C"])], 10, run=lambda names: [np.zeros((1, 20))])


# -- special files ------------------------------------------------------------------------------
@pytest.mark.parametrize("kind, words", [("fifo", "named pipe"), ("dev_zero", "device"), ("dangling", "does not exist"),
                                         ("loop", "loop"), ("folder", "folder")])
def test_special_files_are_refused_before_onnx_runtime(tmp_path, kind, words):
    path = make_special(tmp_path / "m.onnx", kind)
    with pytest.raises(ModelLoadError, match=words) as e:
        no_hang(lambda: Predictor(path))
    assert "m.onnx" in str(e.value)
    with pytest.raises(OSError):
        no_hang(lambda: modelfile.read_metadata_props(path))


# -- reading only the metadata ------------------------------------------------------------------
def test_metadata_is_read_without_reading_the_weights(tmp_path, random_model):
    """A graph field of 900 MB (a sparse file: reading it would take seconds and as much memory)
    before the metadata: only the field headers and the metadata are read."""
    props = {"digitpad": '{"x": 1}', "other": "y"}
    entries = b"".join(_field(14, _field(1, k.encode()) + _field(2, v.encode())) for k, v in props.items())
    path = tmp_path / "huge.onnx"
    with open(path, "wb") as f:
        f.write(_key(7, 2) + _varint(900 << 20))
        f.seek(900 << 20, os.SEEK_CUR)
        f.write(entries)
    assert modelfile.read_metadata_props(path) == props
    assert modelfile.read_metadata_props(random_model) == {p.key: p.value for p in
                                                          onnx.load(str(random_model)).metadata_props}
    assert modelfile.read_metadata_props(make_foreign_model(tmp_path / "f.onnx")) == {}
    cut = tmp_path / "cut.onnx"
    shutil.copyfile(random_model, cut)
    os.truncate(cut, os.path.getsize(cut) - 5)
    with pytest.raises(ValueError):
        modelfile.read_metadata_props(cut)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _key(field: int, wire: int) -> bytes:
    return _varint(field << 3 | wire)


def _field(field: int, payload: bytes) -> bytes:
    return _key(field, 2) + _varint(len(payload)) + payload
