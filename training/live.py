"""The ``snapshot`` events (digitpad.core.live_snapshot) of a run, for both engines (no torch here).

Whenever the Recorder takes a weight snapshot, ``Live`` sends the first conv layer's kernels and its
feature maps of one fixed test image (the test split's first, the same all run), as the evaluated
model (the EMA when kept) computes them now. Only in jsonl mode: a shell's bar gets none, and nothing
is computed for it. ``probe()`` returns (layer, kernels [out, in, k, k], maps [out, h, w]).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from digitpad.core import live_snapshot

from .progress import Reporter

Probe = Callable[[], tuple[str, np.ndarray, np.ndarray]]


class Live:
    def __init__(self, reporter: Reporter, probe: Probe, image: np.ndarray, label: int, steps_per_epoch: int):
        self.reporter, self.probe = reporter, probe
        self.image, self.label = np.asarray(image, np.float32), int(label)
        self.steps_per_epoch = max(1, steps_per_epoch)

    def __call__(self, step: int) -> None:
        if self.reporter.mode != "jsonl":
            return
        layer, kernels, maps = self.probe()
        self.reporter.emit(live_snapshot.EVENT, **live_snapshot.payload(
            step=step, epoch=step / self.steps_per_epoch, layer=layer, kernels=kernels, maps=maps,
            image=self.image, label=self.label))


def first_conv_numpy(net_of: Callable[[], object], image: np.ndarray) -> Probe | None:
    """The NumPy engine's probe: the first layer with a 4-d weight, and the output of the layer that
    shows its activation (``net.activations``), for ``image`` [c, h, w]. None when the net has no conv."""
    net = net_of()
    first = next((name for name, layer in net.layers
                  if getattr(layer, "params", {}).get("weight") is not None
                  and np.ndim(layer.params["weight"].value) == 4), None)
    if first is None:
        return None
    shown = net.activations.get(first, first)
    x = np.asarray(image, np.float32)[None]

    def probe():
        current = net_of()
        kernels = dict(current.layers)[first].params["weight"].value
        _, outputs = current.forward(x, keep=True)
        return first, kernels, outputs[shown][0]
    return probe
