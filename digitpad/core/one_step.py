"""One step of gradient descent on one image: what a single SGD update learnt from this drawing does.

``take_step(predictor, x, label, learning_rate)`` computes the gradients of -log p[label] for ``x``
(core.backward, from scratch in NumPy), moves every weight a training step changes by
``-learning_rate * dL/dw`` (plain SGD: no momentum, no weight decay), and puts the new weights back
into a copy of the model file's bytes with onnx's ``numpy_helper``, so that ONNX Runtime and the NumPy
forward pass both run the stepped model (``Step.predictor``). Nothing is written: the model on disk and
the one in use are untouched. ``previous=`` takes another step from a stepped model; ``Step.number``
counts them from ``Step.origin``, the model in use.

``sample_change`` measures how the step moves the rest of the test set (accuracy before and after on an
evenly spaced sample; a background job, seconds for a large net), and ``save`` writes the stepped model
as a new file beside the user's models, with the core's atomic write (``fileio.atomic_write_bytes``):
the engine's file rules (a run's lock, checkpoint and log) are for runs, and this is not one.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .backward import Gradients
from .contract import METADATA_KEY, ModelMetadata
from .fileio import atomic_write_bytes
from .inference import Predictor
from .modelfile import ModelLoadError

SAMPLE = 1000            # test images the sample change is measured on: ~0.3 s for the shipped model


@dataclass
class Step:
    """One SGD step from ``before`` (the model stepped from) on one image."""

    label: int
    learning_rate: float
    gradients: Gradients             # what the step followed: dL/dw before it, the loss and probabilities before
    old: dict[str, np.ndarray]       # the weights it changed, before ...
    new: dict[str, np.ndarray]       # ... and after: w - learning_rate * dL/dw
    predictor: Predictor             # the stepped model (ONNX Runtime and the NumPy forward pass both run it)
    before: Predictor                # the model stepped from
    origin: Predictor                # the model in use, before the first step
    probs: np.ndarray                # after the step, for the same image [K]
    number: int = 1                  # steps taken from ``origin``, this one included

    @property
    def loss(self) -> float:
        """-log p[label] after the step (before it: ``gradients.loss``)."""
        return max(0.0, -float(np.log(max(float(self.probs[self.label]), np.finfo(np.float32).tiny))))

    def kernels(self, layer: str) -> tuple[np.ndarray, np.ndarray] | None:
        """A conv layer's kernels before and after the step, or None when it has none."""
        w0, w1 = self.before.kernels(layer), self.predictor.kernels(layer)
        return None if w0 is None or w1 is None else (w0, w1)

    def largest_change(self) -> tuple[str, float]:
        """The weight tensor that moved most, relative to its own size, and by how much (|dw| / |w|, RMS)."""
        def rel(name: str) -> float:
            w = np.sqrt(np.mean(np.square(self.old[name], dtype=np.float64)))
            d = np.sqrt(np.mean(np.square(self.new[name] - self.old[name], dtype=np.float64)))
            return float(d / w) if w > 0 else float(d)
        name = max(self.new, key=rel)
        return name, rel(name)


def stepped_bytes(model: bytes, new: dict[str, np.ndarray]) -> bytes:
    """The model file's bytes with initializers ``new`` (name -> array, same shape and type) put in place."""
    import onnx  # lazy: the Draw tab reads onnx on a worker after the first frame
    from onnx import numpy_helper

    proto = onnx.load_from_string(model)
    found = set()
    for init in proto.graph.initializer:
        if init.name in new:
            old = numpy_helper.to_array(init)
            value = np.asarray(new[init.name], old.dtype)
            if value.shape != old.shape:
                raise ValueError(f"{init.name} has shape {list(old.shape)}, not {list(value.shape)}")
            init.CopyFrom(numpy_helper.from_array(value, init.name))
            found.add(init.name)
    missing = set(new) - found
    if missing:
        raise ValueError(f"no initializer named {sorted(missing)[0]!r} in the model")
    return proto.SerializeToString()


def take_step(predictor: Predictor, x: np.ndarray, label: int, learning_rate: float,
              previous: Step | None = None) -> Step:
    """One SGD step of ``predictor`` (or, with ``previous``, of that step's model) on canonical image ``x``
    towards ``label``. Raises ExplainUnavailable (the graph cannot be back-propagated) and ModelLoadError
    (the file changed on disk, or the step made the weights so large its probabilities are not finite)."""
    if not (np.isfinite(learning_rate) and learning_rate > 0):
        raise ValueError(f"the learning rate must be a positive number, not {learning_rate}")
    origin = predictor if previous is None else previous.origin
    predictor = predictor if previous is None else previous.predictor
    g = predictor.gradients(x, label)
    net = predictor.network
    old = {name: net.constants[name] for name in g.learnt}
    with np.errstate(over="ignore"):   # a huge step: refused just below, in words
        new = {name: (w - np.float32(learning_rate) * g.initializers[name]).astype(w.dtype) for name, w in old.items()}
    if not all(np.isfinite(w).all() for w in new.values()):
        raise ModelLoadError(f"A step of {learning_rate:g} makes weights infinite: take a smaller one.")
    try:
        stepped = Predictor(predictor.path, data=stepped_bytes(predictor.model_bytes(), new))
    except ModelLoadError as e:   # the load check: probabilities that are not finite after the step
        raise ModelLoadError(f"After a step of {learning_rate:g} the model's probabilities are no longer finite "
                             f"numbers: take a smaller one. ({e})") from None
    return Step(label=int(label), learning_rate=float(learning_rate), gradients=g, old=old, new=new,
                predictor=stepped, before=predictor, origin=origin, probs=stepped.predict(x).probs,
                number=1 if previous is None else previous.number + 1)


# -- the rest of the test set ------------------------------------------------------------------------

@dataclass
class SampleChange:
    """A step's effect on test images other than the one it learnt from."""

    images: int
    correct_before: int
    correct_after: int
    changed: int                     # images whose answer changed
    indices: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0, int))

    @property
    def accuracy_before(self) -> float:
        return self.correct_before / max(self.images, 1)

    @property
    def accuracy_after(self) -> float:
        return self.correct_after / max(self.images, 1)


def sample_indices(total: int, n: int = SAMPLE) -> np.ndarray:
    """``n`` test images spread evenly over the set (every class, whatever the set's order), the same each time."""
    return np.unique(np.linspace(0, total - 1, min(n, total)).round().astype(int))


def sample_change(before: Predictor, after: Predictor, images: np.ndarray, labels: np.ndarray,
                  full_scale: float = 255, n: int = SAMPLE, batch: int = 250,
                  cancelled: Callable[[], bool] = lambda: False) -> SampleChange | None:
    """Accuracy of both models on a sample of a test set's rows (``images``: uint8 as the set stores them).
    None when ``cancelled()`` turns true between batches (a newer step was taken)."""
    idx = sample_indices(len(labels), n)
    answers = [[], []]
    for lo in range(0, len(idx), batch):
        if cancelled():
            return None
        xs = before.input.from_rows(images[idx[lo:lo + batch]], full_scale)
        for out, model in zip(answers, (before, after)):
            out.append(model.predict_batch(xs).argmax(axis=1))
    a0, a1 = np.concatenate(answers[0]), np.concatenate(answers[1])
    truth = np.asarray(labels)[idx]
    return SampleChange(len(idx), int((a0 == truth).sum()), int((a1 == truth).sum()), int((a0 != a1).sum()), idx)


# -- keeping it ------------------------------------------------------------------------------------

def save(step: Step, folder: str | Path, change: SampleChange | None = None) -> Path:
    """Write the stepped model as a new file in ``folder`` ("<model>-step<k>.onnx", never over another file),
    atomically. Its metadata says what it is: the parent run, the label, learning rate and losses of the
    step; the parent's test metrics no longer hold, so only the sample's accuracy (when measured) is kept."""
    import onnx

    origin = step.origin
    proto = onnx.load_from_string(step.predictor.model_bytes())
    meta = step.predictor.metadata
    if meta is not None:
        parent = meta.training if isinstance(meta.training, dict) else {}
        training = {
            "parent": ({"run_id": parent.get("run_id"), "weights_sha256": parent.get("weights_sha256")}
                       if parent.get("run_id") else parent.get("parent")),
            "run_id": None, "weights_sha256": None, "preset": None, "device": "cpu",
            "step": {"steps": step.number, "label": step.label, "learning_rate": step.learning_rate,
                     "loss_before": step.gradients.loss, "loss_after": step.loss,
                     "from": origin.path.name, "engine": "digitpad.core.one_step (NumPy backward pass, plain SGD)"},
        }
        if "versions" in parent:
            training["versions"] = parent["versions"]
        metrics = {} if change is None else {"sample_accuracy": change.accuracy_after, "sample_images": change.images}
        meta = replace(meta, training=training, metrics=metrics,
                       created=dt.datetime.now(dt.timezone.utc).astimezone().isoformat(timespec="seconds"))
        ModelMetadata.from_json(meta.to_json())   # what every reader will check, checked before writing
        for prop in proto.metadata_props:
            if prop.key == METADATA_KEY:
                prop.value = meta.to_json()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{origin.path.stem}-step{step.number}"
    path, k = folder / f"{stem}.onnx", 2
    while path.exists():
        path, k = folder / f"{stem}-{k}.onnx", k + 1
    atomic_write_bytes(path, proto.SerializeToString())
    return path
