"""A model's training as a timeline: its run's weight snapshots (``core.snapshots``), each run by the
core's NumPy forward pass (``core.forward``), so the maps and probabilities of any moment of training
can be shown for the current drawing without torch and without a new ONNX Runtime session.

    timeline = Timeline.for_model("m.onnx")      # None: the model has no (usable) snapshots
    timeline.points[k]                           # {"step", "epoch", "accuracy", "loss"}
    timeline.predict(x, k)                       # what Predictor.predict(x) gives, with snapshot k's weights

The snapshots file is found by the run's name rule (``paths.RunFiles.snapshots``: ``m.snapshots.npz``
beside ``m.onnx``), read through the checked reader, and must belong to the model: the same run id, and
a tensor for each initializer it names, of that initializer's shape. The last snapshot holds the
exported weights, so its probabilities equal ONNX Runtime's on the model (tests: within 1e-4).

Snapshot k's network is the model's own (``Predictor.network``) with the snapshot's tensors in place of
the file's initializers and what the forward pass had folded from them computed again: a copy of a dict
and a few small operations, kept for the last few snapshots asked for.
"""
from __future__ import annotations

import copy
import os
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from . import not_digit as not_digit_rule
from .inference import Prediction, Predictor
from .modelfile import ModelLoadError
from .paths import RunFiles
from .snapshots import SnapshotError, Snapshots, points, read

CACHED_NETWORKS = 4


class Timeline:
    """A model and its run's snapshots. Build with :meth:`for_model` or :meth:`open`."""

    def __init__(self, predictor: Predictor, snaps: Snapshots, path: Path):
        self.predictor = predictor
        self.snapshots = snaps
        self.path = path
        self.points: list[dict] = points(snaps)
        self.kept: str = snaps.meta["kept"]
        self._networks: OrderedDict[int, object] = OrderedDict()
        self._trace_cache: tuple | None = None
        # The scrubber predicts on a worker while the arithmetic explains on the UI thread: one cache.
        self._lock = threading.Lock()

    # -- finding one ---------------------------------------------------------------------------
    @staticmethod
    def file_for(model: str | os.PathLike) -> Path:
        """Where a model's snapshots are: the run's name rule (``RunFiles.snapshots``)."""
        return RunFiles.of(model).snapshots

    @classmethod
    def for_model(cls, path: str | os.PathLike, predictor: Predictor | None = None) -> Timeline | None:
        """The model's timeline, or None when it has no snapshots or they cannot be used (``open`` says
        why in one line). ``predictor``: the model already loaded (else it is loaded here)."""
        try:
            return cls.open(path, predictor)
        except (SnapshotError, ModelLoadError):
            return None

    @classmethod
    def open(cls, path: str | os.PathLike, predictor: Predictor | None = None) -> Timeline | None:
        """Like ``for_model``, but a snapshots file that is there and cannot be used raises SnapshotError
        (a ValueError; one line: damaged, hostile, another run's, not exported, or a model that cannot be
        computed step by step). None only when there is no such file."""
        model = Path(path)
        file = cls.file_for(model)
        if not os.path.lexists(file):
            return None
        snaps = read(file)
        predictor = predictor if predictor is not None else Predictor(model)
        run = predictor.metadata.training.get("run_id") if predictor.metadata else None
        if run is None or run != snaps.meta["run_id"]:
            raise SnapshotError(f"{file.name} belongs to another run than {model.name}")
        table = snaps.initializers
        if not table:
            raise SnapshotError(f"{file.name} is from a run that was not exported (no model weights named)")
        if predictor.explain_unavailable:
            raise SnapshotError(predictor.explain_unavailable)
        constants = predictor.network.constants
        inits = set(predictor.network.initializers)
        for name, init in table.items():
            if init not in inits:
                raise SnapshotError(f"{file.name} names a weight {init!r} that {model.name} does not have")
            if constants[init].shape != snaps.weights[name].shape[1:]:
                raise SnapshotError(f"{file.name}: {init} has shape {list(snaps.weights[name].shape[1:])}, the "
                                    f"model's has {list(constants[init].shape)}")
        return cls(predictor, snaps, file)

    # -- using it ------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.points)

    @property
    def complete(self) -> bool:
        """Every weight is in each snapshot (else only the conv kernels are: the size cap of a large net,
        and the other weights are the final model's)."""
        return self.kept == "all"

    def _index(self, k: int) -> int:
        if not -len(self) <= k < len(self):
            raise IndexError(f"snapshot {k} of {len(self)}")
        return k % len(self)

    def weights(self, k: int) -> dict[str, np.ndarray]:
        """Snapshot k's tensors by the model's initializer name."""
        k = self._index(k)
        return {init: self.snapshots.weights[name][k] for name, init in self.snapshots.initializers.items()}

    def network(self, k: int):
        """The model's NumPy forward pass (``forward.Network``) with snapshot k's weights."""
        with self._lock:
            return self._network(self._index(k))

    def _network(self, k: int):
        net = self._networks.get(k)
        if net is not None:
            self._networks.move_to_end(k)
            return net
        base = self.predictor.network
        net = copy.copy(base)
        net.constants = dict(base.constants)
        for init, value in self.weights(k).items():
            net.constants[init] = value.astype(base.constants[init].dtype, copy=False)
        for node in base.folded:   # what the forward pass computed once from the weights, again
            for name, out in zip(node.outputs, net._apply(node, net.constants)):
                net.constants[name] = out
        net.memo = {}
        self._networks[k] = net
        while len(self._networks) > CACHED_NETWORKS:
            self._networks.popitem(last=False)
        return net

    def kernels(self, layer: str, k: int) -> np.ndarray | None:
        """A conv layer's kernels [out, in, kh, kw] at snapshot k (as ``Predictor.kernels``), or None."""
        info = next((i for i in self.predictor.layer_infos if i.name == layer), None)
        if info is None or not info.kernel:
            return None
        w = self.weights(k).get(info.kernel)
        return w if w is not None and w.ndim == 4 else None

    def trace(self, x: np.ndarray, k: int) -> dict[str, np.ndarray]:
        """Every stage's tensor for canonical image x with snapshot k's weights (as ``Predictor.trace``)."""
        tensor = self.predictor.input.to_tensor(x)[:1]
        key = (self._index(k), tensor.tobytes())
        if self._trace_cache is None or self._trace_cache[0] != key:
            self._trace_cache = (key, self.network(k).run(tensor))
        return self._trace_cache[1]

    def explain(self, x: np.ndarray, layer: str, channel: int, row: int = 0, col: int = 0, k: int = -1):
        """How a unit was computed for x with snapshot k's weights (as ``Predictor.explain``; ONNX Runtime
        holds only the final weights, so ``.onnxruntime`` is None)."""
        result = self.predictor.explain_in(self.network(k), self.trace(x, k), layer, channel, row, col)
        result.weights = f"training snapshot {self._index(k) + 1} of {len(self)}"
        return result

    def predict(self, x: np.ndarray, k: int) -> Prediction:
        """``Predictor.predict(x)`` computed with snapshot k's weights (the NumPy forward pass): probs,
        logits, activations and the digit score. ``not_digit`` is always False: the model's threshold is
        calibrated for its final weights only."""
        import time

        p = self.predictor
        tensor = p.input.to_tensor(x)
        if len(tensor) != 1:
            raise ValueError(f"predict takes one image, not {len(tensor)}")
        net = self.network(k)
        outputs = {name for name in (p.logits_name, p.probs_name) if name}
        wanted = {layer: p._layer_output(layer) for layer in p.layers}
        t0 = time.perf_counter()
        values = net.run(tensor, keep=outputs | set(wanted.values()))
        seconds = time.perf_counter() - t0
        logits, probs = p.scores_from(values)
        acts = {layer: values[out][0] for layer, out in wanted.items() if out in values and values[out].ndim == 4}
        score = float(not_digit_rule.digit_score(logits)[0])
        return Prediction(probs=probs[0], logits=logits[0], activations=acts, seconds=seconds, digit_score=score)
