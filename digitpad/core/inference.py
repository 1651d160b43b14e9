"""Run a model file with ONNX Runtime: predictions, layer activations and kernels.

One ``InferenceSession`` per model, tuned for batch-1 latency on a laptop that is also
drawing a UI (and maybe training): one intra-op thread, no spinning (a spinning idle
ORT thread steals a core from the UI thread), full graph optimisation.

Imports only numpy and onnxruntime at module level; the ``onnx`` package (protobuf,
~0.2 s to import) is loaded only when kernels are first asked for, or the arithmetic of a unit
(``explain``, ``stages``, ``shapes``, ``used_maps``, ``receptive_field``): those run the model
again with digitpad's own NumPy forward pass (digitpad.core.forward), read from the same file.
"""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import onnxruntime as ort

from . import modelfile, preprocess
from . import not_digit as not_digit_rule
from .contract import (
    ACT_PREFIX,
    METADATA_KEY,
    MNIST_CLASSES,
    MNIST_INPUT,
    OPTDIGITS_INPUT,
    PREPROCESSING_SIZES,
    InputSpec,
    ModelMetadata,
)
from .modelfile import ModelLoadError

if TYPE_CHECKING:
    from .coverage import Field, UsedMap
    from .explain import Explanation
    from .forward import Network, Stage
    from .shapes import ModelShapes


class ExplainUnavailable(Exception):
    """This model cannot be computed step by step (an op the NumPy forward pass lacks, ...);
    the message is one line meant for the user. Predictions still work."""


@dataclass
class Prediction:
    probs: np.ndarray                      # [10], sums to 1
    logits: np.ndarray                     # [10]
    activations: dict[str, np.ndarray] = field(default_factory=dict)  # layer -> [C, H, W]
    seconds: float = 0.0                   # wall time of the ORT call
    # How digit-like the input looks (logsumexp of the logits, see not_digit.py; higher: more),
    # and whether it is below the model's calibrated threshold. Always False for a model
    # without a calibrated threshold (older files, models from elsewhere).
    digit_score: float = float("nan")
    not_digit: bool = False

    @property
    def top(self) -> int:
        return int(np.argmax(self.probs))


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def session_options(threads: int = 1, spinning: bool = False) -> ort.SessionOptions:
    """The one place ONNX Runtime sessions are tuned. Drawing: one thread, no spinning (an idle
    spinning ORT thread steals a core from the UI thread). Batch work: more threads, allowed to
    spin between a batch's layers."""
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if not spinning:
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
        data = modelfile.read_model(self.path)   # a regular file, self-contained (no external data)
        try:
            self.session = ort.InferenceSession(data, sess_options=session_options(),
                                                providers=["CPUExecutionProvider"])
        except Exception as e:  # ORT raises its own exception types for bad protobufs
            raise ModelLoadError(_describe_load_failure(self.path.name, e)) from None
        self._kernels_cache: dict[str, np.ndarray] | None = None
        self._network: Network | None = None
        self._network_error: str | None = None
        self._trace_cache: tuple[bytes, dict[str, np.ndarray], dict[str, np.ndarray]] | None = None
        self.metadata, self.metadata_error = self._read_metadata()
        self._check_input()
        self._find_outputs()
        self.classes = self.metadata.classes if self.metadata else list(MNIST_CLASSES)
        # The calibrated "not a digit" rule, or None (then not_digit is always False).
        self.not_digit_rule = not_digit_rule.from_metadata(self.metadata) if self.logits_name else None
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
        blank = np.zeros((1, *self.input_shape), np.float32)
        self.logits_name, self.probs_name = modelfile.score_outputs(
            self.path.name, [(o.name, o.shape) for o in outputs],
            len(self.metadata.classes) if self.metadata else len(MNIST_CLASSES),
            run=lambda wanted: self.session.run(wanted, {self.input_name: blank}))
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
        """A blank image and a drawn digit must give finite probabilities: a model with NaN or inf
        in its weights (a damaged file, a diverged run) is refused here, not shown as "nan %"."""
        drawn = self.to_model_input(_drawn_digit())
        for what, x in (("a blank", np.zeros((1, *self.input_shape), np.float32)), ("a drawn digit's", drawn)):
            try:
                pred = self.predict(x)
            except Exception as e:
                raise ModelLoadError(
                    f"{self.path.name} loads but fails on {what} {self.input_size}x{self.input_size} image "
                    f"({str(e).strip().splitlines()[0][:200] if str(e).strip() else e!r}).") from None
            p = pred.probs
            if not (np.isfinite(pred.logits).all() and np.isfinite(p).all() and (p >= 0).all()
                    and abs(float(p.sum()) - 1.0) < 1e-3):
                raise ModelLoadError(f"{self.path.name} gives {'NaN or inf' if not np.isfinite(p).all() else 'invalid'}"
                                     f" probabilities for {what} image: its weights are damaged or its training "
                                     "diverged, so it cannot be used.")

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
        score = float(not_digit_rule.digit_score(logits)[0])
        flagged = self.not_digit_rule is not None and self.not_digit_rule.flags(score)
        return Prediction(probs=probs[0], logits=logits[0], activations=acts, seconds=seconds,
                          digit_score=score, not_digit=bool(flagged))

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
        return self._batch(xs)[1]

    def score_batch(self, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """xs: [N, 1, size, size]. Returns probabilities [N, 10], digit scores [N] and not_digit [N]
        (all False without a calibrated threshold), as :meth:`predict` gives them one at a time."""
        logits, probs = self._batch(xs)
        scores = not_digit_rule.digit_score(logits)
        flagged = self.not_digit_rule.flags(scores) if self.not_digit_rule else np.zeros(len(scores), bool)
        return probs, scores, flagged

    def _batch(self, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        xs = np.ascontiguousarray(xs, dtype=np.float32).reshape(-1, *self.input_shape)
        wanted = [n for n in (self.logits_name, self.probs_name) if n]
        if self.fixed_batch == 1 and len(xs) != 1:
            rows = [self.session.run(wanted, {self.input_name: x[None]}) for x in xs]
            values = [np.concatenate(col) for col in zip(*rows)]
        else:
            values = self.session.run(wanted, {self.input_name: xs})
        return self._scores(dict(zip(wanted, values)))

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


    # -- step by step: the NumPy forward pass (issue 11) ---------------------------------------------
    @property
    def network(self) -> Network:
        """This model as digitpad's own NumPy forward pass, read from the file on first use
        (imports onnx: ~0.3 s the first time). Raises ExplainUnavailable with a one-line reason."""
        if self._network is None and self._network_error is None:
            from .forward import Network, UnsupportedModel

            names = {self._layer_output(layer): layer for layer in self.layers}
            try:
                self._network = Network.load(self.path, names, input_shape=self.input_shape)
            except UnsupportedModel as e:
                self._network_error = f"{self.path.name} cannot be computed step by step: {e}"
            except Exception as e:  # noqa: BLE001  any graph we cannot follow: say so in one line, keep predicting
                first = str(e).strip().splitlines()[0][:200] if str(e).strip() else ""
                self._network_error = f"{self.path.name} cannot be computed step by step ({type(e).__name__}: {first})"
        if self._network is None:
            raise ExplainUnavailable(self._network_error)
        return self._network

    @property
    def explain_unavailable(self) -> str | None:
        """None when explain() and the rest work for this model, else the one-line reason."""
        try:
            _ = self.network
        except ExplainUnavailable as e:
            return str(e)
        return None

    def stages(self) -> list[Stage]:
        """Every tensor the forward pass computes, in network order (see forward.Stage): the
        input, normalisation, each conv and its batch norm and ReLU, pools, the flattened vector,
        dense layers, logits, probs. ``Stage.name`` is the address the methods below take."""
        return self.network.stages

    def stage_name(self, layer: str) -> str:
        """The stage of a layer name (``'conv3'`` -> ``'act:conv3'``), or a stage name itself."""
        if layer in self.layers:
            name = self._layer_output(layer)
            if name in self.network:
                return name
        try:
            return self.network.stage(layer).name
        except KeyError:
            raise ExplainUnavailable(f"{self.path.name} has no layer or stage named {layer!r}") from None

    def trace(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Every stage's tensor for image x, from the NumPy forward pass (batch axis of 1 kept).
        The last input's results are kept, so clicking around one drawing computes once."""
        return self._traced(x)[0]

    def _traced(self, x: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        x = np.ascontiguousarray(x, dtype=np.float32).reshape(1, *self.input_shape)
        key = x.tobytes()
        cached = self._trace_cache
        if cached is None or cached[0] != key:
            values = self.network.run(x)
            ort_values = dict(zip(self.output_names, self.session.run(None, {self.input_name: x})))
            cached = self._trace_cache = (key, values, ort_values)
        return cached[1], cached[2]

    def explain(self, x: np.ndarray, layer: str, channel: int, row: int = 0, col: int = 0) -> Explanation:
        """How unit (channel, row, col) of ``layer`` was computed for image ``x``, with its terms
        (digitpad.core.explain.Explanation). ``layer`` is a layer name (``self.layers``) or any
        stage name (``self.stages()``); in a vector stage (flattened, dense, logits, probs)
        ``channel`` is the index and row, col are 0. ``.value`` is recomputed from the terms and
        equals ``predict(x).activations[layer][channel, row, col]`` within 1e-4; ``.onnxruntime``
        holds ONNX Runtime's own value when the stage is one of the model's outputs."""
        from .explain import ExplainError, explain

        name = self.stage_name(layer)
        shape = self.network.stage(name).shape
        if len(shape) == 3:
            index = (channel, row, col)
        elif len(shape) == 1 and row == 0 and col == 0:
            index = (channel,)
        else:
            raise ExplainUnavailable(f"{layer} has shape {list(shape)}; give (channel, row, col) for maps, "
                                     f"(index) for vectors")
        values, ort_values = self._traced(x)
        try:
            result = explain(self.network, values, name, index, roots=self._roots())
        except ExplainError as e:
            raise ExplainUnavailable(str(e)) from None
        if name in ort_values:
            result.onnxruntime = float(ort_values[name][(0, *index)])
        return result

    def _roots(self) -> list[str] | None:
        """The outputs the answer is read from: what honest maps trace back from."""
        return [n for n in (self.logits_name, self.probs_name) if n and n in self.network] or None

    def shapes(self) -> ModelShapes:
        """Per stage: shape, the output-size formula filled in, params, multiply-adds; totals."""
        from .shapes import model_shapes

        return model_shapes(self.network)

    def used_maps(self) -> dict[str, UsedMap]:
        """For each [C, H, W] stage (by stage name): the rows and columns that feed the output."""
        from .coverage import used_maps

        return used_maps(self.network, self._roots())

    def used_map(self, layer: str) -> UsedMap | None:
        """used_maps() for one layer or stage name (None for a vector stage)."""
        return self.used_maps().get(self.stage_name(layer))

    def receptive_field(self, layer: str, channel: int, row: int, col: int) -> Field:
        """The input pixels unit (channel, row, col) of ``layer`` depends on (its 28x28 outline)."""
        from .coverage import receptive_field

        name = self.stage_name(layer)
        shape = self.network.stage(name).shape
        return receptive_field(self.network, name, (channel, row, col) if len(shape) == 3 else (channel,))


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


@functools.cache
def _drawn_digit() -> np.ndarray:
    """A 4 drawn with a round pen, as the canvas draws (white on black, 0..1): the load check's input."""
    yy, xx = np.mgrid[0:100, 0:100].astype(np.float32) + 0.5
    pen = 6.0
    ink = np.zeros((100, 100), np.float32)
    for (x0, y0), (x1, y1) in (((40, 8), (18, 62)), ((18, 62), (78, 62)), ((60, 30), (60, 94))):
        dx, dy = x1 - x0, y1 - y0
        t = np.clip(((xx - x0) * dx + (yy - y0) * dy) / (dx * dx + dy * dy), 0.0, 1.0)
        d = np.hypot(xx - (x0 + t * dx), yy - (y0 + t * dy))
        ink = np.maximum(ink, np.clip(pen + 0.5 - d, 0.0, 1.0))   # antialiased edge, as a round pen
    return ink
