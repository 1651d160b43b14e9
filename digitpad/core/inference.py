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
import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import onnxruntime as ort

from . import modelfile
from . import not_digit as not_digit_rule
from .contract import ACT_PREFIX, METADATA_KEY, MNIST_CLASSES, InputSpec, LayerInfo, ModelMetadata
from .convention import Convention, ConventionStore, Found
from .model_input import InputAdapter, InputMismatch, spec_from_graph
from .modelfile import ModelLoadError

if TYPE_CHECKING:
    from .backward import Gradients
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
    """A loaded model. Raises ModelLoadError if the file is not a usable image classifier.

    A file without digitpad metadata is made as inspectable as its graph allows (``core.foreign``):
    its conv layers become feature maps and its input convention is found by scoring (or remembered
    for this file's content). ``prepare=False`` leaves that slow part (~0.2-0.5 s) to the caller,
    who runs ``foreign.prepare(predictor, ...)`` off the UI thread and hands the result to ``adopt``;
    until then a remembered convention, else the graph's plain 0..1 reading, is used."""

    def __init__(self, path: str | Path, *, prepare: bool = True, data: bytes | None = None):
        self.path = Path(path)
        # Where the graph and weights are read again (the NumPy forward pass, kernels): the file, or the
        # bytes of a model that is not on disk (one step of SGD, core.one_step), which ``path`` only names.
        self._source: Path | bytes = self.path if data is None else bytes(data)
        if data is None:
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
        self.digest = hashlib.sha256(data).hexdigest()
        self.metadata, self.metadata_error = self._read_metadata()
        self._check_input()
        self._find_outputs()
        self.classes = self.metadata.classes if self.metadata else list(MNIST_CLASSES)
        self.layer_infos: list[LayerInfo] = (
            list(self.metadata.layers) if self.metadata else
            [LayerInfo(n[len(ACT_PREFIX):], "conv", n) for n in self.activation_outputs])
        # The calibrated "not a digit" rule, or None (then not_digit is always False).
        self.not_digit_rule = not_digit_rule.from_metadata(self.metadata) if self.logits_name else None
        # A file from elsewhere: how it wants its input (convention.Found), and whether the slow part of
        # making it inspectable is still to do (prepare=False).
        self.convention: Found | None = None
        self.foreign_pending = False
        if self.metadata is None:
            remembered = self.remembered_convention() if self.convention_applies else None
            if remembered is not None:
                self._use_found(remembered, remember=False)
            if prepare:
                from . import foreign

                self.adopt(foreign.prepare(self, data))
            else:
                self.foreign_pending = True
        self._smoke_test()

    # -- loading -------------------------------------------------------------------------
    def _check_input(self) -> None:
        """The input the model takes: its metadata's description, else one read off its graph's input
        shape (``model_input.spec_from_graph``); the adapter checks that the two agree."""
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            raise ModelLoadError(f"{self.path.name} has {len(inputs)} inputs; an image classifier has one "
                                 f"(float32 [N, 1, 28, 28], for example).")
        inp = inputs[0]
        self.input_name = inp.name
        if inp.type != "tensor(float)":
            raise ModelLoadError(f"{self.path.name} expects {inp.type} input; digitpad feeds float32 images.")
        shape = list(inp.shape)
        spec = self.metadata.input_spec if self.metadata is not None else spec_from_graph(shape)
        try:
            self.input = InputAdapter(spec, shape, self.path.name)
        except InputMismatch as e:
            raise ModelLoadError(str(e)) from None
        self.input_spec: InputSpec = spec
        self.graph_input_shape = shape
        self.fixed_batch = shape[0] if shape and isinstance(shape[0], int) and shape[0] > 0 else None

    def _find_outputs(self) -> None:
        outputs = self.session.get_outputs()
        names = [o.name for o in outputs]
        self.output_names = names
        blank = self.input.to_tensor(self.input.blank())
        self.logits_name, self.probs_name = modelfile.score_outputs(
            self.path.name, [(o.name, o.shape) for o in outputs],
            len(self.metadata.classes) if self.metadata else len(MNIST_CLASSES),
            run=lambda wanted: self.session.run(wanted, {self.input_name: blank}))
        self.activation_outputs = [n for n in names if n.startswith(ACT_PREFIX)]
        # Outputs that may hold a file-from-elsewhere's class scores (a convention search tries each).
        self.score_outputs = [o.name for o in outputs
                              if len(o.shape) == 2 and (o.shape[1] == 10 or not isinstance(o.shape[1], int))]

    # -- a file from elsewhere: its layers and input convention (core.foreign, core.convention) -----
    @property
    def convention_applies(self) -> bool:
        """Whether this model's input convention is found by scoring: a file without metadata that
        takes 28x28 grey digits (the reference digits are MNIST's)."""
        return self.metadata is None and self.input.preprocessing == "mnist"

    def remembered_convention(self) -> Found | None:
        """What was found (or chosen) for this file's content before, if its outputs still fit."""
        found = ConventionStore().get(self.digest)
        if found is None or any(s.output not in self.output_names for s in found.scores):
            return None
        return found

    def adopt(self, setup) -> None:
        """Take what ``foreign.prepare`` made: the derived layers, a session that also returns their
        tensors, the scored conventions (remembered for the next start)."""
        self.layer_infos = list(setup.layers)
        if setup.session is not None:
            self.session = setup.session
            self.output_names = [o.name for o in setup.session.get_outputs()]
            self._kernels_cache, self._trace_cache = None, None
        if setup.found is not None:
            self._use_found(setup.found, remember=True)
        self.foreign_pending = False

    def use_convention(self, chosen: Convention) -> None:
        """The user's choice among the scored conventions (remembered); the best one again clears it."""
        if self.convention is None:
            raise ValueError(f"{self.path.name} has no conventions to choose from")
        self.convention.chosen = None if chosen == self.convention.best.convention else chosen
        self._use_found(self.convention, remember=True)

    def _use_found(self, found: Found, remember: bool) -> None:
        used = found.used
        self.convention = found
        self.input = InputAdapter(used.convention.apply(self.input.spec), self.graph_input_shape, self.path.name)
        self.input_spec = self.input.spec
        self.logits_name, self.probs_name = used.output, None
        self._trace_cache = None
        if remember:
            ConventionStore().put(self.digest, found)

    def model_bytes(self) -> bytes:
        """The model file's content as this Predictor loaded it: the bytes it was given, else the file read
        again and checked against ``digest`` (ModelLoadError when it changed on disk since it was opened)."""
        if isinstance(self._source, bytes):
            return self._source
        data = modelfile.read_model(self.path)
        if hashlib.sha256(data).hexdigest() != self.digest:
            raise ModelLoadError(f"{self.path.name} changed on disk since it was opened; open it again.")
        return data

    @staticmethod
    def open_session(model: bytes | str, threads: int = 1, spinning: bool = False) -> ort.InferenceSession:
        """Another ONNX Runtime session of a model (its bytes), tuned as ``session_options`` says."""
        return ort.InferenceSession(model, sess_options=session_options(threads, spinning),
                                    providers=["CPUExecutionProvider"])

    def run_outputs(self, session: ort.InferenceSession, wanted: list[str], xs: np.ndarray) -> list[np.ndarray]:
        """Graph outputs ``wanted`` for graph tensors ``xs``, image by image when the graph pins its batch to 1."""
        if self.fixed_batch == 1 and len(xs) != 1:
            rows = [session.run(wanted, {self.input_name: x[None]}) for x in xs]
            return [np.concatenate(col) for col in zip(*rows)]
        return session.run(wanted, {self.input_name: xs})

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
        """Two real inputs (a drawn digit or a photo-like pattern, and noise) must give finite
        probabilities: a model with NaN or inf in its weights (a damaged file, a diverged run) is
        refused here, not shown as "nan %". A blank image is not among them: a graph that normalises
        each image by its own spread has nothing to normalise in a blank one."""
        sample = self.input.from_drawing(_drawn_digit()) if self.input.drawn else _pattern(self.input.shape)
        noise = np.random.default_rng(0).random((1, *self.input.shape), dtype=np.float32)
        for what, x in (("a drawn digit" if self.input.drawn else "a test picture", sample), ("a noise", noise)):
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
        """Side of the model's canonical image: 28 (MNIST-style), 8 (UCI 8x8 digits), 32 (CIFAR-10)."""
        return self.input.size

    @property
    def input_channels(self) -> int:
        return self.input.channels

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """[channels, size, size] of one canonical image."""
        return self.input.shape

    @property
    def preprocessing(self) -> str:
        """The named preprocessing that makes this model's canonical image (contract.PREPROCESSING_SHAPES)."""
        return self.input.preprocessing

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def layers(self) -> list[str]:
        """Inspectable layers in network order (the metadata's, else derived from the graph)."""
        return [layer.name for layer in self.layer_infos if layer.output in self.output_names]

    def _layer_output(self, layer: str) -> str:
        for info in self.layer_infos:
            if info.name == layer:
                return info.output
        return ACT_PREFIX + layer

    def predict(self, x: np.ndarray) -> Prediction:
        """x: one canonical image, [1, C, S, S] (or [C, S, S]; [S, S] when grey), float32 0..1. Returns
        probs, logits and all activations."""
        tensor = self.input.to_tensor(x)
        if len(tensor) != 1:
            raise ValueError(f"predict takes one image, not {len(tensor)}; use predict_batch")
        t0 = time.perf_counter()
        values = self.session.run(None, {self.input_name: tensor})
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
        k = self.num_classes
        logits = np.asarray(logits, dtype=np.float32).reshape(-1, k)
        if probs is None:
            # A foreign model's only output may already be a softmax.
            probs = logits if all(_looks_like_probs(r) for r in logits) else softmax(logits)
        return logits, np.asarray(probs, dtype=np.float32).reshape(-1, k)

    def scores_from(self, outputs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Logits and probabilities [N, K] from a run's outputs (name -> array) that hold the score outputs
        (``logits_name``, ``probs_name``): for batch sessions that hand over other tensors too."""
        return self._scores(outputs)

    def predict_batch(self, xs: np.ndarray) -> np.ndarray:
        """xs: canonical images [N, C, S, S] (or [N, S, S] when grey). Returns probabilities [N, K]; no
        activations."""
        return self._batch(xs)[1]

    def score_batch(self, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """xs: canonical images [N, C, S, S]. Returns probabilities [N, K], digit scores [N] and not_digit [N]
        (all False without a calibrated threshold), as :meth:`predict` gives them one at a time."""
        logits, probs = self._batch(xs)
        scores = not_digit_rule.digit_score(logits)
        flagged = self.not_digit_rule.flags(scores) if self.not_digit_rule else np.zeros(len(scores), bool)
        return probs, scores, flagged

    def _batch(self, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        xs = self.input.to_tensor(xs)
        wanted = [n for n in (self.logits_name, self.probs_name) if n]
        return self.run_scores(self.session, wanted, xs)

    def run_scores(self, session: ort.InferenceSession, wanted: list[str], xs: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
        """Logits and probabilities [N, K] of graph tensors ``xs`` through ``session`` (this model's, or a
        batch session of the same file), one image at a time when the graph pins its batch to 1."""
        return self._scores(dict(zip(wanted, self.run_outputs(session, wanted, xs))))

    def kernels(self, layer: str) -> np.ndarray | None:
        """Conv weights [out, in, kh, kw] of a layer, read from the file; None if not known."""
        info = next((layer_info for layer_info in self.layer_infos if layer_info.name == layer), None)
        if info is None or not info.kernel:
            return None
        if self._kernels_cache is None:
            self._kernels_cache = _read_initializers(self._source)
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
                self._network = Network.load(self._source, names, input_shape=self.input.tensor_shape)
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
                return self.network.canonical(name)
        try:
            return self.network.stage(layer).name
        except KeyError:
            raise ExplainUnavailable(f"{self.path.name} has no layer or stage named {layer!r}") from None

    def trace(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Every stage's tensor for canonical image x, from the NumPy forward pass (batch axis of 1
        kept; its input stage is the graph's tensor). The last input's results are kept, so clicking
        around one drawing computes once."""
        return self._traced(x)[0]

    def _traced(self, x: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        x = self.input.to_tensor(x)[:1]
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
        values, ort_values = self._traced(x)
        result = self.explain_in(self.network, values, layer, channel, row, col)
        if result.stage in ort_values:
            result.onnxruntime = float(ort_values[result.stage][(0, *result.index)])
        return result

    def explain_in(self, network, values: dict[str, np.ndarray], layer: str, channel: int, row: int = 0,
                   col: int = 0) -> Explanation:
        """As ``explain``, in ``network`` (this graph, perhaps with other weights: a training snapshot's)
        from its traced ``values``; no ONNX Runtime value."""
        from .explain import ExplainError, explain

        name = self.stage_name(layer)
        shape = network.stage(name).shape
        if len(shape) == 3:
            index = (channel, row, col)
        elif len(shape) == 1 and row == 0 and col == 0:
            index = (channel,)
        else:
            raise ExplainUnavailable(f"{layer} has shape {list(shape)}; give (channel, row, col) for maps, "
                                     f"(index) for vectors")
        try:
            return explain(network, values, name, index, roots=self._roots())
        except ExplainError as e:
            raise ExplainUnavailable(str(e)) from None

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

    # -- backpropagation: the NumPy backward pass (core.backward) ------------------------------------
    @property
    def gradients_unavailable(self) -> str | None:
        """None when ``gradients`` works for this model, else the one-line reason."""
        reason = self.explain_unavailable
        if reason is None:
            from .backward import unsupported

            why = unsupported(self.network)
            reason = None if why is None else f"{self.path.name} cannot be back-propagated: {why}"
        return reason

    def gradients(self, x: np.ndarray, label: int | None = None) -> Gradients:
        """How the loss -log p[label] for canonical image ``x`` changes with everything it depends on, from
        digitpad's own NumPy backward pass (core.backward.Gradients): ``.loss``, ``.input`` (dL/dx, the shape of
        ``x``, in the canonical image's space), ``.kernels`` (conv layer -> dL/dW, the shape ``kernels(layer)``
        gives), ``.activations``, ``.stages`` and ``.initializers``. ``label`` None: the model's answer.
        Inference-mode semantics, as the file computes: batch norm's running statistics, no dropout.
        Raises ExplainUnavailable (one line) for a graph it cannot follow."""
        from .backward import BackwardUnsupported, LayerWeights, gradients

        reason = self.gradients_unavailable
        if reason is not None:
            raise ExplainUnavailable(reason)
        values, ort_values = self._traced(x)
        request = self._gradient_request(values)
        if label is None:   # the answer shown (ONNX Runtime's), which the NumPy pass agrees with to 1e-4
            label = int(np.argmax(self._scores(ort_values)[1][0]))
        request.layers = [LayerWeights(info.name, self._layer_output(info.name), info.kernel)
                          for info in self.layer_infos]
        try:
            return gradients(self.network, values, label, request, x_shape=np.shape(x))
        except BackwardUnsupported as e:
            raise ExplainUnavailable(f"{self.path.name} cannot be back-propagated: {e}") from None

    def _gradient_request(self, values: dict[str, np.ndarray]):
        """Where the answer is read (logits, or probabilities as ``_scores`` takes them) and how a gradient
        reaches the canonical image."""
        from .backward import Request, Scores

        net = self.network
        if self.probs_name and self.probs_name in net:
            scores = Scores(self.probs_name, True)
        elif self.logits_name and self.logits_name in net:
            row = values[self.logits_name].reshape(-1, self.num_classes)[0]
            scores = Scores(self.logits_name, _looks_like_probs(row))   # as _scores decides for a file's only output
        else:
            raise ExplainUnavailable(f"{self.path.name}: the output the answer is read from is not in its graph")
        return Request(scores, [], None if self.input.identity else self.input.canonical_gradient)


def _describe_load_failure(name: str, error: Exception) -> str:
    text = str(error).strip()
    if "INVALID_PROTOBUF" in text or "protobuf parsing failed" in text:
        return f"{name} is not an ONNX model, or the file is damaged or incomplete (it cannot be parsed)."
    # ORT prefixes "[ONNXRuntimeError] : 10 : INVALID_GRAPH : "; the rest is the reason.
    reason = text.split(" : ")[-1].splitlines()[0] if text else type(error).__name__
    return f"{name} cannot be loaded by ONNX Runtime: {reason[:300]}"


def _read_initializers(source: Path | bytes) -> dict[str, np.ndarray]:
    import onnx  # lazy: only the kernel views need it
    from onnx import numpy_helper

    model = onnx.load_from_string(source if isinstance(source, bytes) else modelfile.read_model(source))
    return {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}


def _pattern(shape: tuple[int, int, int]) -> np.ndarray:
    """A smooth picture-like test image [1, C, S, S]: gradients and a disc, every channel different."""
    c, h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32) / max(h, w)
    disc = ((yy - 0.5) ** 2 + (xx - 0.5) ** 2 < 0.1).astype(np.float32)
    planes = [0.2 + 0.6 * (xx if i % 2 else yy) * (1 - disc) + 0.7 * disc * (i / max(c, 1)) for i in range(c)]
    return np.clip(np.stack(planes), 0, 1)[None].astype(np.float32)


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
