"""Run a model file with ONNX Runtime: predictions, layer activations and kernels.

One ``InferenceSession`` per model, tuned for batch-1 latency on a laptop that is also
drawing a UI (and maybe training): one intra-op thread, no spinning (a spinning idle
ORT thread steals a core from the UI thread), full graph optimisation.

Imports only numpy and onnxruntime at module level; the ``onnx`` package (protobuf,
~0.2 s to import) is loaded only when kernels are first asked for.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnxruntime as ort

from . import preprocess
from .contract import (ACT_PREFIX, LOGITS, METADATA_KEY, MNIST_CLASSES, MNIST_INPUT, OPTDIGITS_INPUT,
                       PREPROCESSING_SIZES, PROBS, InputSpec, ModelMetadata)


class ModelLoadError(Exception):
    """A model file that cannot be used; the message is meant for the user."""


@dataclass
class Prediction:
    probs: np.ndarray                      # [10], sums to 1
    logits: np.ndarray                     # [10]
    activations: dict[str, np.ndarray] = field(default_factory=dict)  # layer -> [C, H, W]
    seconds: float = 0.0                   # wall time of the ORT call

    @property
    def top(self) -> int:
        return int(np.argmax(self.probs))


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def session_options() -> ort.SessionOptions:
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    so.add_session_config_entry("session.inter_op.allow_spinning", "0")
    so.log_severity_level = 3  # ORT's warnings go to stderr, not to the user
    return so


def _looks_like_probs(row: np.ndarray) -> bool:
    return bool(np.all(row >= 0) and np.all(row <= 1) and abs(float(row.sum()) - 1.0) < 1e-3)


class Predictor:
    """A loaded model. Raises ModelLoadError if the file is not a usable digit classifier."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            data = self.path.read_bytes()
        except OSError as e:
            raise ModelLoadError(f"Cannot read {self.path.name}: {e.strerror or e}") from None
        if not data:
            raise ModelLoadError(f"{self.path.name} is empty.")
        try:
            self.session = ort.InferenceSession(data, sess_options=session_options(),
                                                providers=["CPUExecutionProvider"])
        except Exception as e:  # ORT raises its own exception types for bad protobufs
            raise ModelLoadError(_describe_load_failure(self.path.name, e)) from None
        self._kernels_cache: dict[str, np.ndarray] | None = None
        self.metadata, self.metadata_error = self._read_metadata()
        self._check_input()
        self._find_outputs()
        self.classes = self.metadata.classes if self.metadata else list(MNIST_CLASSES)
        self._smoke_test()

    # -- loading -------------------------------------------------------------------------
    def _check_input(self) -> None:
        """The input the model takes: its metadata's description, else what its graph's input
        shape says (8x8 when both sides are pinned to 8, else MNIST's 28x28); the two must agree."""
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            raise ModelLoadError(f"{self.path.name} has {len(inputs)} inputs; a digit classifier has one "
                                 f"(float32 [N, 1, 28, 28]).")
        inp = inputs[0]
        self.input_name = inp.name
        if inp.type != "tensor(float)":
            raise ModelLoadError(f"{self.path.name} expects {inp.type} input; digitpad feeds float32 images.")
        shape = list(inp.shape)
        fixed = [d if isinstance(d, int) else None for d in shape]
        if self.metadata is not None:
            spec = self.metadata.input_spec
        else:
            spec = OPTDIGITS_INPUT if len(fixed) == 4 and fixed[2] == fixed[3] == OPTDIGITS_INPUT.size else MNIST_INPUT
        if spec.preprocessing not in preprocess.PREPROCESSINGS:
            known = ", ".join(preprocess.PREPROCESSINGS)
            raise ModelLoadError(f"{self.path.name} asks for the {spec.preprocessing!r} preprocessing, which this "
                                 f"version of digitpad does not have (it knows {known}).")
        if spec.channels != 1 or spec.size != PREPROCESSING_SIZES[spec.preprocessing]:
            raise ModelLoadError(f"{self.path.name} describes its input as {spec.channels} x {spec.size}x{spec.size} "
                                 f"with the {spec.preprocessing!r} preprocessing, which makes 1 x "
                                 f"{PREPROCESSING_SIZES[spec.preprocessing]}x{PREPROCESSING_SIZES[spec.preprocessing]}.")
        want = [None, *spec.shape]
        ok = len(shape) == 4 and all(w is None or f is None or f == w for f, w in zip(fixed, want))
        if not ok:
            shown = "[" + ", ".join(str(d) if isinstance(d, int) else "N" for d in shape) + "]"
            raise ModelLoadError(f"{self.path.name} expects input of shape {shown}; digitpad feeds grayscale "
                                 f"28x28 images [N, 1, 28, 28] or UCI 8x8 digits [N, 1, 8, 8]"
                                 + (f" (its metadata says [N, {', '.join(map(str, spec.shape))}])."
                                    if self.metadata is not None else "."))
        self.input_spec: InputSpec = spec
        self.fixed_batch = fixed[0]  # some exports pin the batch to 1

    def _find_outputs(self) -> None:
        outputs = self.session.get_outputs()
        names = [o.name for o in outputs]
        self.output_names = names
        self.logits_name = LOGITS if LOGITS in names else None
        self.probs_name = PROBS if PROBS in names else None
        if self.logits_name is None and self.probs_name is None:
            # A foreign model: its first [N, 10] output is the class scores.
            for o in outputs:
                if len(o.shape) == 2 and o.shape[1] == 10:
                    self.logits_name = o.name
                    break
            else:
                raise ModelLoadError(f"{self.path.name} has no output of shape [N, 10] "
                                     f"(outputs: {', '.join(names)}); it is not a 10-class classifier.")
        self.activation_outputs = [n for n in names if n.startswith(ACT_PREFIX)]

    def _read_metadata(self) -> tuple[ModelMetadata | None, str | None]:
        props = self.session.get_modelmeta().custom_metadata_map
        text = props.get(METADATA_KEY)
        if text is None:
            return None, None
        try:
            return ModelMetadata.from_json(text), None
        except ValueError as e:  # still usable: predictions work without metadata
            return None, str(e)

    def _smoke_test(self) -> None:
        try:
            self.predict(np.zeros((1, *self.input_shape), np.float32))
        except Exception as e:
            raise ModelLoadError(f"{self.path.name} loads but fails on a {self.input_size}x{self.input_size} image "
                                 f"({str(e).strip().splitlines()[0][:200] if str(e).strip() else e!r}).") from None

    # -- what the views need ---------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def input_size(self) -> int:
        """Side of the model's input image: 28 (MNIST-style) or 8 (UCI 8x8 digits)."""
        return self.input_spec.size

    @property
    def input_channels(self) -> int:
        return self.input_spec.channels

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """[channels, size, size] of one input."""
        return self.input_spec.shape

    @property
    def preprocessing(self) -> str:
        """The named preprocessing this model's input is made with: "mnist" or "optdigits"."""
        return self.input_spec.preprocessing

    def to_model_input(self, img: np.ndarray) -> np.ndarray | None:
        """This model's input from a white-on-black drawing ([H, W], 0..1): float32
        [1, channels, size, size], or None when there is no ink."""
        return preprocess.PREPROCESSINGS[self.preprocessing](img)

    @property
    def layers(self) -> list[str]:
        """Inspectable layers in network order (metadata names, else act:* outputs)."""
        if self.metadata:
            return [layer.name for layer in self.metadata.layers if layer.output in self.output_names]
        return [n[len(ACT_PREFIX):] for n in self.activation_outputs]

    def _layer_output(self, layer: str) -> str:
        if self.metadata:
            for info in self.metadata.layers:
                if info.name == layer:
                    return info.output
        return ACT_PREFIX + layer

    def predict(self, x: np.ndarray) -> Prediction:
        """x: [size, size] or [1, 1, size, size] float32 (size: ``input_size``). Returns probs, logits and
        all activations."""
        x = np.ascontiguousarray(x, dtype=np.float32).reshape(1, *self.input_shape)
        t0 = time.perf_counter()
        values = self.session.run(None, {self.input_name: x})
        seconds = time.perf_counter() - t0
        out = dict(zip(self.output_names, values))
        logits, probs = self._scores(out)
        acts = {}
        for layer in self.layers:
            a = out.get(self._layer_output(layer))
            if a is not None and a.ndim == 4:
                acts[layer] = a[0]
        return Prediction(probs=probs[0], logits=logits[0], activations=acts, seconds=seconds)

    def _scores(self, out: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        logits = out.get(self.logits_name) if self.logits_name else None
        probs = out.get(self.probs_name) if self.probs_name else None
        if logits is None:
            logits = np.log(np.clip(probs, 1e-12, None))
        logits = np.asarray(logits, dtype=np.float32).reshape(-1, 10)
        if probs is None:
            # A foreign model's only output may already be a softmax.
            probs = logits if all(_looks_like_probs(r) for r in logits) else softmax(logits)
        return logits, np.asarray(probs, dtype=np.float32).reshape(-1, 10)

    def predict_batch(self, xs: np.ndarray) -> np.ndarray:
        """xs: [N, 1, size, size] (or [N, size, size]). Returns probabilities [N, 10]; no activations."""
        xs = np.ascontiguousarray(xs, dtype=np.float32).reshape(-1, *self.input_shape)
        wanted = [n for n in (self.logits_name, self.probs_name) if n]
        if self.fixed_batch == 1 and len(xs) != 1:
            rows = [self.session.run(wanted, {self.input_name: x[None]}) for x in xs]
            values = [np.concatenate(col) for col in zip(*rows)]
        else:
            values = self.session.run(wanted, {self.input_name: xs})
        _, probs = self._scores(dict(zip(wanted, values)))
        return probs

    def kernels(self, layer: str) -> np.ndarray | None:
        """Conv weights [out, in, kh, kw] of a layer, read from the file; None if not known."""
        if not self.metadata:
            return None
        info = next((layer_info for layer_info in self.metadata.layers if layer_info.name == layer), None)
        if info is None or not info.kernel:
            return None
        if self._kernels_cache is None:
            self._kernels_cache = _read_initializers(self.path)
        w = self._kernels_cache.get(info.kernel)
        return w if w is not None and w.ndim == 4 else None


def _describe_load_failure(name: str, error: Exception) -> str:
    text = str(error).strip()
    if "INVALID_PROTOBUF" in text or "protobuf parsing failed" in text:
        return f"{name} is not an ONNX model, or the file is damaged or incomplete (it cannot be parsed)."
    # ORT prefixes "[ONNXRuntimeError] : 10 : INVALID_GRAPH : "; the rest is the reason.
    reason = text.split(" : ")[-1].splitlines()[0] if text else type(error).__name__
    return f"{name} cannot be loaded by ONNX Runtime: {reason[:300]}"


def _read_initializers(path: Path) -> dict[str, np.ndarray]:
    import onnx  # lazy: only the kernel views need it
    from onnx import numpy_helper

    model = onnx.load(str(path))
    return {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
