"""Small ONNX graphs built with onnx.helper, for checking ops one at a time against ONNX Runtime."""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper


def single_op(op: str, in_shape, inits: dict[str, np.ndarray] | None = None, *, input_names=("x",),
              opset: int = 17, **attrs) -> bytes:
    """A graph of one node reading ``x`` (float32 ``in_shape``) and the given initializers."""
    inits = inits or {}
    node = helper.make_node(op, [*input_names, *inits], ["y"], **attrs)
    graph = helper.make_graph(
        [node], op.lower(), [helper.make_tensor_value_info(input_names[0], TensorProto.FLOAT, list(in_shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(v, k) for k, v in inits.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model.SerializeToString()


def run_ort(model: bytes, x: np.ndarray) -> dict[str, np.ndarray]:
    sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(None, {sess.get_inputs()[0].name: x})))


def foreign_mnist(path, opset: int = 8) -> None:
    """An MNIST net as older tools wrote them (like the ONNX model zoo's mnist-8): input
    'Input3' [1, 1, 28, 28], conv bias as a separate Add of a [C, 1, 1] constant, SAME_UPPER
    padding, MatMul + Add for the dense layer, output 'Plus214_Output_0', no metadata."""
    rng = np.random.default_rng(3)

    def f32(*s, scale=0.3):
        return rng.normal(0, scale, s).astype(np.float32)

    inits = {"w1": f32(8, 1, 5, 5), "b1": f32(8, 1, 1), "w2": f32(16, 8, 5, 5, scale=0.1), "b2": f32(16, 1, 1),
             "fc": f32(256, 10, scale=0.05), "fcb": f32(1, 10), "shape": np.array([1, 256], np.int64),
             "scale": np.array(1 / 255, np.float32).reshape(1)}
    n = helper.make_node
    nodes = [
        n("Mul", ["Input3", "scale"], ["scaled"]),
        n("Conv", ["scaled", "w1"], ["c1"], kernel_shape=[5, 5], auto_pad="SAME_UPPER"),
        n("Add", ["c1", "b1"], ["a1"]), n("Relu", ["a1"], ["r1"]),
        n("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        n("Conv", ["p1", "w2"], ["c2"], kernel_shape=[5, 5], auto_pad="SAME_UPPER"),
        n("Add", ["c2", "b2"], ["a2"]), n("Relu", ["a2"], ["r2"]),
        n("MaxPool", ["r2"], ["p2"], kernel_shape=[3, 3], strides=[3, 3]),
        n("Reshape", ["p2", "shape"], ["flat"]),
        n("MatMul", ["flat", "fc"], ["mm"]), n("Add", ["mm", "fcb"], ["Plus214_Output_0"]),
    ]
    # IR version 3 lists every initializer among the graph's inputs too, as mnist-8 does.
    listed = [helper.make_tensor_value_info(k, helper.np_dtype_to_tensor_dtype(v.dtype), v.shape)
              for k, v in inits.items()]
    graph = helper.make_graph(nodes, "CNTKGraph", [helper.make_tensor_value_info("Input3", TensorProto.FLOAT,
                                                                                 [1, 1, 28, 28]), *listed],
                              [helper.make_tensor_value_info("Plus214_Output_0", TensorProto.FLOAT, [1, 10])],
                              [numpy_helper.from_array(v, k) for k, v in inits.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 3
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
