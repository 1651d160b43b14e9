"""ONNX Runtime's own value of any stage, not only of the model's outputs.

``Predictor.explain`` compares its recomputed number with ONNX Runtime's when the stage is a
graph output (logits, probs, act:*). A pooled map, a conv before its ReLU or the flattened
vector are not outputs, so ONNX Runtime never hands them over. ``StageProbe`` opens the same
file a second time with every stage tensor added to the graph's outputs, so each number the
Arithmetic tab shows can be checked against ONNX Runtime's.

A tensor that is a graph output is kept as is by ONNX Runtime's optimiser (a conv whose output
is wanted is not fused with its ReLU), so these are the values of that tensor as ONNX Runtime
computes it. Imports onnx: build it off the UI thread (gui.draw.stepwise does).
"""
from __future__ import annotations

import numpy as np
import onnxruntime as ort

from . import modelfile
from .inference import session_options


class StageProbe:
    """``value(x, stage, index)``: ONNX Runtime's value of unit ``index`` of ``stage`` for image x."""

    def __init__(self, predictor):
        import onnx  # lazy: protobuf is ~0.2 s to import
        from onnx import helper

        net = predictor.network
        model = onnx.load_from_string(modelfile.read_model(predictor.path))   # self-contained, as loaded
        present = {o.name for o in model.graph.output}
        zeros = np.zeros((1, *net.input_shape), np.float32)
        dtypes = {k: v.dtype for k, v in net.run(zeros).items()}
        wanted = [s.name for s in net.stages if s.name not in present and s.name != net.input_name]
        for name in wanted:
            elem = helper.np_dtype_to_tensor_dtype(np.dtype(dtypes[name]))
            model.graph.output.append(helper.make_tensor_value_info(name, elem, None))
        self.session = ort.InferenceSession(model.SerializeToString(), sess_options=session_options(),
                                            providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.names = [o.name for o in self.session.get_outputs()]
        self.to_tensor = predictor.input.to_tensor
        self._cache: tuple[bytes, dict[str, np.ndarray]] | None = None

    def values(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Every stage's tensor from ONNX Runtime for canonical image x (batch axis of 1 kept); the
        last input's results are kept."""
        x = self.to_tensor(x)[:1]
        key = x.tobytes()
        if self._cache is None or self._cache[0] != key:
            self._cache = (key, dict(zip(self.names, self.session.run(None, {self.input_name: x}))))
        return self._cache[1]

    def value(self, x: np.ndarray, stage: str, index: tuple[int, ...]) -> float | None:
        """None when ONNX Runtime does not produce that tensor (the input itself)."""
        values = self.values(x)
        if stage not in values:
            return None
        return float(values[stage][(0, *index)])
