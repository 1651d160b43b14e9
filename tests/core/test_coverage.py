"""Honest maps (which rows and columns reach the class scores) and receptive fields."""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from digitpad.core.coverage import receptive_field, used_maps
from digitpad.core.forward import Network
from digitpad.core.inference import Predictor


def _strided_net(kernel: int, stride: int, size: int = 7) -> Network:
    """image [N, 1, size, size] -> conv (kernel, stride) -> ReLU -> flatten -> dense -> logits."""
    out = (size - kernel) // stride + 1
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.normal(size=(2, 1, kernel, kernel)).astype(np.float32), "w"),
             numpy_helper.from_array(rng.normal(size=(2 * out * out, 10)).astype(np.float32), "fc")]
    nodes = [helper.make_node("Relu", ["image"], ["r0"]),
             helper.make_node("Conv", ["r0", "w"], ["c"], kernel_shape=[kernel, kernel], strides=[stride, stride]),
             helper.make_node("Relu", ["c"], ["r"]), helper.make_node("Flatten", ["r"], ["f"]),
             helper.make_node("MatMul", ["f", "fc"], ["logits"])]
    graph = helper.make_graph(nodes, "strided", [helper.make_tensor_value_info("image", TensorProto.FLOAT,
                                                                               ["N", 1, size, size])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    return Network.load(model)


def test_strided_conv_skips_rows():
    net = _strided_net(kernel=1, stride=2)
    used = used_maps(net)["r0"]
    assert used.rows.tolist() == [True, False] * 3 + [True] and used.cols.tolist() == used.rows.tolist()
    assert "rows 1, 3 and 5" in used.reason.lower() and "Conv 1 (1x1 window, stride 2" in used.reason
    assert used_maps(net)["r"].complete          # everything the conv computes goes to the dense layer
    assert used_maps(_strided_net(kernel=3, stride=2))["r0"].complete


def test_floor_pooled_conv4_edge_is_dropped(zoo):
    p = Predictor(zoo["digitpad+floor"])
    maps = p.used_maps()
    for layer in ("conv1", "conv2", "conv3"):
        assert p.used_map(layer).complete
    conv4 = p.used_map("conv4")
    assert conv4.rows.tolist() == [True] * 6 + [False] and conv4.cols.tolist() == conv4.rows.tolist()
    assert conv4.mask.sum() == 36 and conv4.reason.startswith("Row 6 and column 6 feed nothing: MaxPool 3")
    assert not maps[p.network.producer["act:conv4"].inputs[0]].complete   # its pre-ReLU conv output too
    assert all(m.complete for m in Predictor(zoo["digitpad-s+ceil"]).used_maps().values())
    assert all(m.complete for m in Predictor(zoo["digitpad"]).used_maps().values())   # ceil mode: all read


def test_receptive_field_sizes_and_clipping(zoo):
    p = Predictor(zoo["digitpad+floor"])
    centre = p.receptive_field("conv1", 0, 10, 12)
    assert centre.box == (9, 11, 11, 13) and centre.size == (3, 3) and centre.mask.sum() == 9
    corner = p.receptive_field("conv1", 0, 0, 0)
    assert corner.box == (0, 0, 1, 1) and corner.size == (3, 3)       # a third of it is padding
    # conv1 3x3, pool 2x2/2, conv2 3x3, conv3 3x3: 3 + 1 + 2*2 + 2*2 = 12 pixels
    assert p.receptive_field("conv3", 0, 6, 6).size == (12, 12)
    assert p.receptive_field("conv4", 0, 3, 3).size == (22, 22)
    assert p.receptive_field("logits", 3, 0, 0).mask.all()


def test_receptive_field_is_what_the_unit_depends_on(zoo):
    """Changing every pixel outside the field leaves the unit alone; changing those inside moves it."""
    p = Predictor(zoo["digitpad-s"])
    net = p.network
    rng = np.random.default_rng(5)
    x = rng.uniform(0, 1, (1, 1, 28, 28)).astype(np.float32)
    # pre-ReLU conv outputs: a ReLU at 0 would hide a change
    pre = {layer: net.producer[f"act:{layer}"].inputs[0] for layer in ("conv1", "conv2", "conv3")}
    for stage, (c, r, col) in ((pre["conv1"], (3, 27, 9)), (pre["conv2"], (3, 5, 9)), (pre["conv3"], (1, 0, 6))):
        field = receptive_field(net, stage, (c, r, col))
        before = net.run(x)[stage][0, c, r, col]
        outside = np.where(field.mask, x, rng.uniform(0, 1, x.shape).astype(np.float32))
        assert abs(net.run(outside)[stage][0, c, r, col] - before) <= 1e-6
        inside = np.where(field.mask, rng.uniform(0, 1, x.shape).astype(np.float32), x)
        assert abs(net.run(inside)[stage][0, c, r, col] - before) > 1e-6


def test_an_activation_copied_out_by_identity_is_as_used_as_its_source():
    """The NumPy engine's exporter (and others) split act:* outputs off with an Identity; the
    copy must not read as 'nothing reaches the output' while its source feeds the answer."""
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.normal(0, 0.3, (2, 1, 3, 3)).astype(np.float32), "w"),
             numpy_helper.from_array(rng.normal(0, 0.3, (32, 10)).astype(np.float32), "fc")]
    nodes = [helper.make_node("Conv", ["image", "w"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("Identity", ["r"], ["act:conv1"]),
             helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Flatten", ["p"], ["f"]),
             helper.make_node("MatMul", ["f", "fc"], ["logits"])]
    graph = helper.make_graph(nodes, "copy", [helper.make_tensor_value_info("image", TensorProto.FLOAT,
                                                                            [1, 1, 8, 8])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10]),
                               helper.make_tensor_value_info("act:conv1", TensorProto.FLOAT, [1, 2, 8, 8])], inits)
    net = Network.load(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))
    used = used_maps(net, ["logits"])
    assert used["act:conv1"].reason is None and used["act:conv1"].rows.all() and used["act:conv1"].cols.all()
    assert used["act:conv1"].rows.tolist() == used["r"].rows.tolist()
