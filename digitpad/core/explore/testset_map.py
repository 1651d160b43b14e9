"""A map of a model's test set: each test image a point in 2-D, laid out from the model's last hidden
layer (``graph.find_hidden``), and any new input placed in the same plane.

    TestSetMap(predictor, images, labels)      the finished layout (blocks: the app builds it on a worker)
    TestSetMap.first(...)                       the cached finished map, else the PCA layout at once
    a_first_map.refined()                       the finished layout from a PCA map (its features kept)
    .points [N, 2], .labels, .predicted, .confidence, .place(x) [2], .locate(x, k) (place and neighbours)

How it is laid out and why: ``layout``. The finished map is cached per model file content (its sha256),
input reading and test set (``cache``): made once, then ~20 ms to read at every start.

Placing a canonical input runs the model a second time with its last hidden layer as the output (a
session of its own, one thread: ~0.2 ms for the shipped model) and finds its nearest test images
among the reduced features (~0.3 ms for 10,000): the drawing's own session and path are untouched.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import cache
from .graph import find_hidden, model_bytes, session_with
from .layout import Placer, Reduced, layout, pca_layout, reduce
from .passes import run_over

PCA, EMBEDDING = "pca", "neighbour embedding"


@dataclass
class Placement:
    """Where an input lies: ``position`` [2] in the map's plane and its ``nearest`` test images (indices
    into the test set, nearest first, in the model's feature space)."""

    position: np.ndarray
    nearest: np.ndarray


def _features(predictor, images, labels, full_scale, progress, cancelled, data):
    """One pass over the test set: the hidden layer's vectors, the model's answers and their confidence."""
    feature = find_hidden(predictor, data)
    scores = [n for n in (predictor.logits_name, predictor.probs_name) if n]
    outputs = [feature] + [s for s in scores if s != feature]
    n = len(labels)
    feats = predicted = confidence = None
    for start, values in run_over(predictor, images, outputs, full_scale=full_scale, progress=progress,
                                  cancelled=cancelled, data=data):
        f = values[feature].reshape(len(values[feature]), -1).astype(np.float32)
        _, probs = predictor.scores_from(values)
        if feats is None:
            feats = np.empty((n, f.shape[1]), np.float32)
            predicted, confidence = np.empty(n, np.int64), np.empty(n, np.float32)
        stop = start + len(f)
        feats[start:stop] = f
        predicted[start:stop] = probs.argmax(axis=1)
        confidence[start:stop] = probs.max(axis=1)
    return feature, feats, predicted, confidence


class TestSetMap:
    """The test set of ``predictor`` as points in 2-D (see the module's docstring). ``images``: canonical
    images [N, C, S, S] 0..1, or the data set's uint8 rows with their ``full_scale``; ``labels`` [N].
    ``progress(done, total)`` and ``cancelled()`` are for a background job (``layout.Cancelled``)."""

    __test__ = False   # pytest: not a test class

    def __init__(self, predictor, images: np.ndarray, labels: np.ndarray, *, full_scale: float = 255,
                 cache_results: bool = True, progress: Callable[[int, int], None] | None = None,
                 cancelled: Callable[[], bool] | None = None):
        first = type(self).first(predictor, images, labels, full_scale=full_scale, cache_results=cache_results,
                                 progress=progress, cancelled=cancelled)
        done = first if first.final else first.refined(cancelled=cancelled)
        self.__dict__.update(done.__dict__)

    # -- made in steps (the app shows the PCA layout while the better one is made) ------------------------
    @classmethod
    def first(cls, predictor, images: np.ndarray, labels: np.ndarray, *, full_scale: float = 255,
              cache_results: bool = True, progress: Callable[[int, int], None] | None = None,
              cancelled: Callable[[], bool] | None = None) -> TestSetMap:
        """The finished map from the cache when it is there, else the PCA layout (``final`` False) after
        one pass of the model over the test set."""
        labels = np.asarray(labels, np.int64)
        if len(labels) < 1 or len(images) != len(labels):
            raise ValueError(f"a map needs images and as many labels ({len(images)} images, {len(labels)} labels)")
        data = model_bytes(predictor)
        file = cache.path("map", predictor.digest, repr(predictor.input.spec),
                          cache.data_digest(np.asarray(images), labels, full_scale))
        if cache_results:
            stored = cache.read(file, lambda a: _valid(a, labels))
            if stored is not None:
                return cls._made(predictor, data, file, cache_results, labels, stored)
        feature, feats, predicted, confidence = _features(predictor, images, labels, full_scale, progress,
                                                          cancelled, data)
        reduced = reduce(feats)
        arrays = {"feature": np.array(feature), "method": np.array(PCA), "points": pca_layout(reduced),
                  "pca": pca_layout(reduced), "vectors": reduced.vectors, "mean": reduced.mean,
                  "components": reduced.components, "labels": labels, "predicted": predicted,
                  "confidence": confidence}
        return cls._made(predictor, data, file, cache_results, labels, arrays)

    @classmethod
    def _made(cls, predictor, data: bytes, file, cache_results: bool, labels: np.ndarray, arrays) -> TestSetMap:
        self = cls.__new__(cls)
        self.feature = str(arrays["feature"])
        self.method = str(arrays["method"])
        self.points = np.asarray(arrays["points"], np.float32)
        self.pca_points = np.asarray(arrays["pca"], np.float32)
        self.labels = labels
        self.predicted = np.asarray(arrays["predicted"], np.int64)
        self.confidence = np.asarray(arrays["confidence"], np.float32)
        self.reduced = Reduced(np.asarray(arrays["mean"], np.float32), np.asarray(arrays["components"], np.float32),
                               np.asarray(arrays["vectors"], np.float32))
        self.model_name, self.digest = predictor.name, predictor.digest
        self._adapter, self._fixed_batch = predictor.input, predictor.fixed_batch
        self._file, self._cache = file, cache_results
        self._session, names = session_with(data, [self.feature], threads=1, spinning=False)
        self._input_name = self._session.get_inputs()[0].name
        self._placer = Placer(self.reduced.vectors, self.points)
        return self

    @property
    def final(self) -> bool:
        """Whether this is the finished layout (False: the PCA layout, shown until it is)."""
        return self.method != PCA

    def refined(self, progress: Callable[[int, int], None] | None = None,
                cancelled: Callable[[], bool] | None = None) -> TestSetMap:
        """The finished layout of this map's test set (itself when it is finished), cached."""
        if self.final:
            return self
        points = layout(self.reduced, self.pca_points, progress=progress, cancelled=cancelled)
        done = type(self).__new__(type(self))
        done.__dict__.update(self.__dict__)
        done.points, done.method = points, EMBEDDING
        done._placer = Placer(self.reduced.vectors, points)
        if self._cache:
            cache.write(self._file, done.arrays())
        return done

    def arrays(self) -> dict[str, np.ndarray]:
        """What is cached: enough to place new inputs without the test images."""
        return {"feature": np.array(self.feature), "method": np.array(self.method), "points": self.points,
                "pca": self.pca_points, "vectors": self.reduced.vectors, "mean": self.reduced.mean,
                "components": self.reduced.components, "labels": self.labels, "predicted": self.predicted,
                "confidence": self.confidence}

    # -- reading it ------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.labels)

    @property
    def mistakes(self) -> np.ndarray:
        """[N] bool: the test images the model gets wrong."""
        return self.predicted != self.labels

    def features(self, x: np.ndarray) -> np.ndarray:
        """The reduced hidden-layer vectors [n, d] of canonical images ``x``."""
        tensor = self._adapter.to_tensor(x)
        if self._fixed_batch == 1 and len(tensor) != 1:
            out = np.concatenate([self._session.run(None, {self._input_name: t[None]})[0] for t in tensor])
        else:
            out = self._session.run(None, {self._input_name: tensor})[0]
        return self.reduced.project(out.reshape(len(out), -1))

    def locate(self, x: np.ndarray, k: int = 10) -> Placement:
        """One canonical image's place in the map and its ``k`` nearest test images."""
        position, near = self._placer.place(self.features(x)[0], k)
        return Placement(position, near[:k])

    def place(self, x: np.ndarray) -> np.ndarray:
        """A canonical input's position in the map's plane, [2] (``x``: [1, C, S, S] or [C, S, S])."""
        return self.locate(x).position

    def nearest_points(self, position: np.ndarray, k: int = 10) -> np.ndarray:
        """The ``k`` map points nearest to ``position`` in the plane, nearest first."""
        d = ((self.points - np.asarray(position, np.float32)) ** 2).sum(axis=1)
        k = min(k, len(d))
        part = np.argpartition(d, k - 1)[:k]
        return part[np.argsort(d[part], kind="stable")]


def _valid(a: dict[str, np.ndarray], labels: np.ndarray) -> bool:
    """A cached map fits this test set: every array there, shapes agreeing, numbers finite."""
    n = len(labels)
    points, vectors, comps = a["points"], a["vectors"], a["components"]
    d = vectors.shape[1] if vectors.ndim == 2 else -1
    return (points.shape == (n, 2) and a["pca"].shape == (n, 2) and vectors.shape == (n, d) and d >= 1
            and comps.ndim == 2 and comps.shape[1] == d and a["mean"].shape == (comps.shape[0],)
            and np.array_equal(a["labels"], labels) and a["predicted"].shape == (n,)
            and a["confidence"].shape == (n,) and a["feature"].dtype.kind == "U" and a["feature"].ndim == 0
            and str(a["method"]) in (PCA, EMBEDDING)
            and cache.finite(points, a["pca"], vectors, comps, a["mean"], a["confidence"]))


__all__ = ["TestSetMap", "Placement", "PCA", "EMBEDDING"]
