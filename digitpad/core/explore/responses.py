"""What each filter responds to: the test images that activate a channel of a conv layer most, and least.

An image's response in a channel is its strongest unit there (the map's maximum), as the Deep
Visualization Toolbox ranked its top images; the unit is kept, so the part of the image it sees (its
receptive field, ``Predictor.receptive_field``) can be shown: the patch.

One pass of the model over the test set hands over every layer's maps at once (ONNX Runtime computes
them all anyway); each batch's maps are reduced at once to the maximum and where it is, per image and
channel ([N, C] each: 10,000 x 32 values instead of 10,000 x 32 x 28 x 28). The result is cached per
model file content, input reading and test set, so any channel of any layer is then a sort away.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from . import cache
from .graph import model_bytes
from .passes import run_over


@dataclass
class LayerResponses:
    """One layer's response to each test image: ``peaks`` [N, C] (each channel's strongest unit) and
    ``where`` [N, C] (that unit, as row * width + col of the [H, W] map)."""

    layer: str
    peaks: np.ndarray
    where: np.ndarray
    height: int
    width: int

    def unit(self, image: int, channel: int) -> tuple[int, int]:
        """(row, col) of image ``image``'s strongest unit in ``channel``."""
        return divmod(int(self.where[image, channel]), self.width)

    def ranked(self, channel: int) -> np.ndarray:
        """Every test image, strongest response in ``channel`` first (ties: the lower index first)."""
        return np.lexsort((np.arange(len(self.peaks)), -self.peaks[:, channel]))


def _outputs(predictor) -> dict[str, str]:
    """layer name -> the graph tensor that carries its maps, for the model's inspectable layers."""
    outputs = {info.name: info.output for info in predictor.layer_infos}
    return {name: outputs[name] for name in predictor.layers}


def layer_responses(predictor, images: np.ndarray, *, full_scale: float = 255, cache_results: bool = True,
                    progress: Callable[[int, int], None] | None = None,
                    cancelled: Callable[[], bool] | None = None) -> dict[str, LayerResponses]:
    """Every inspectable layer's response to each image (canonical images or uint8 rows with their
    ``full_scale``), from the cache when it is there. Raises layout.Cancelled when asked to stop."""
    outputs = _outputs(predictor)
    if not outputs:
        return {}
    labels_free = np.zeros(0, np.int64)
    file = cache.path("responses", predictor.digest, repr(predictor.input.spec), repr(sorted(outputs.items())),
                      cache.data_digest(np.asarray(images), labels_free, full_scale))
    n = len(images)
    if cache_results:
        stored = cache.read(file, lambda a: _valid(a, list(outputs), n))
        if stored is not None:
            return {name: LayerResponses(name, stored[f"{name}.peaks"], stored[f"{name}.where"],
                                         int(stored[f"{name}.shape"][0]), int(stored[f"{name}.shape"][1]))
                    for name in outputs}
    found: dict[str, LayerResponses] = {}
    names = list(outputs)
    for start, values in run_over(predictor, images, [outputs[name] for name in names], full_scale=full_scale,
                                  progress=progress, cancelled=cancelled, data=model_bytes(predictor)):
        for name in names:
            a = values[outputs[name]]
            a = a.reshape(*a.shape, 1, 1) if a.ndim == 2 else a       # a dense layer: one unit per channel
            b, c, h, w = a.shape
            flat = a.reshape(b, c, h * w)
            where = flat.argmax(axis=2)
            peaks = np.take_along_axis(flat, where[..., None], axis=2)[..., 0]
            if name not in found:   # a unit's place in 2 bytes where it fits: the shipped model's file 23 -> 16 MB
                places = np.uint16 if h * w <= np.iinfo(np.uint16).max else np.int32
                found[name] = LayerResponses(name, np.empty((n, c), np.float32), np.empty((n, c), places), h, w)
            found[name].peaks[start:start + b] = peaks
            found[name].where[start:start + b] = where
    if cache_results:
        arrays = {}
        for name, r in found.items():
            arrays |= {f"{name}.peaks": r.peaks, f"{name}.where": r.where,
                       f"{name}.shape": np.array([r.height, r.width], np.int64)}
        cache.write(file, arrays)
    return found


def _valid(a: dict[str, np.ndarray], layers: list[str], n: int) -> bool:
    for name in layers:
        peaks, where, shape = a[f"{name}.peaks"], a[f"{name}.where"], a[f"{name}.shape"]
        if not (peaks.ndim == 2 and peaks.shape[0] == n and where.shape == peaks.shape and shape.shape == (2,)
                and where.dtype.kind in "iu" and cache.finite(peaks) and shape.min() >= 1
                and (not where.size or 0 <= where.min() <= where.max() < shape[0] * shape[1])):
            return False
    return True


@dataclass
class TopImages:
    """The test images that activate ``channel`` of ``layer`` most (``indices``, strongest first) and least
    (``least``, weakest first), with each one's strongest value and unit, and the patch of the image that
    unit sees (``coverage.Field``; None when the model cannot be followed step by step).

    It reads as the indices themselves: ``list(top)``, ``top[0]``, ``len(top)``, ``np.asarray(top)``."""

    layer: str
    channel: int
    indices: np.ndarray
    values: np.ndarray
    units: list[tuple[int, int]]
    patches: list
    least: np.ndarray
    least_values: np.ndarray
    least_units: list[tuple[int, int]]
    least_patches: list
    silent: int = 0       # test images for which no unit of the channel is above 0 (a ReLU's "off")

    def __iter__(self) -> Iterator[int]:
        return iter(int(i) for i in self.indices)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i):
        return self.indices[i]

    def __array__(self, dtype=None, copy=None):
        return self.indices if dtype is None else self.indices.astype(dtype)


def _patches(predictor, layer: str, channel: int, units: list[tuple[int, int]]) -> list:
    """The receptive field of each unit, or None for each when the model cannot be followed step by step."""
    from ..inference import ExplainUnavailable

    fields: dict[tuple[int, int], object] = {}
    try:
        for unit in units:
            if unit not in fields:
                fields[unit] = predictor.receptive_field(layer, channel, *unit)
    except (ExplainUnavailable, KeyError, ValueError, IndexError):
        return [None] * len(units)
    return [fields[u] for u in units]


def top_of(predictor, responses: LayerResponses, channel: int, k: int = 9, patches: bool = True) -> TopImages:
    """The ``k`` strongest and weakest test images of one channel from a layer's responses."""
    c = responses.peaks.shape[1]
    if not 0 <= channel < c:
        raise ValueError(f"{responses.layer} has {c} channels, not {channel + 1}")
    order = responses.ranked(channel)
    k = max(0, min(k, len(order)))
    column = responses.peaks[:, channel]
    top, least = order[:k], np.lexsort((np.arange(len(column)), column))[:k]   # ties: the lower index first
    units = [responses.unit(int(i), channel) for i in top]
    least_units = [responses.unit(int(i), channel) for i in least]
    return TopImages(responses.layer, channel, top, responses.peaks[top, channel], units,
                     _patches(predictor, responses.layer, channel, units) if patches else [None] * len(top),
                     least, responses.peaks[least, channel], least_units,
                     _patches(predictor, responses.layer, channel, least_units) if patches else [None] * len(least),
                     int((column <= 0).sum()))


def top_activating(predictor, images: np.ndarray, layer: str, channel: int, k: int = 9, *, full_scale: float = 255,
                   cache_results: bool = True, patches: bool = True) -> TopImages:
    """The indices of the ``k`` images whose strongest unit in ``channel`` of ``layer`` is highest, strongest
    first (a ``TopImages``, which reads as those indices), with the least activating and each one's patch.
    ``images``: canonical images [N, C, S, S] 0..1, or the data set's uint8 rows with their ``full_scale``."""
    found = layer_responses(predictor, images, full_scale=full_scale, cache_results=cache_results)
    if layer not in found:
        raise ValueError(f"{predictor.name} has no layer {layer!r} to rank images by "
                         f"(its layers: {', '.join(found) or 'none'})")
    return top_of(predictor, found[layer], channel, k, patches)
