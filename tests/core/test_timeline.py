"""core.timeline: a model's run snapshots run by the NumPy forward pass, and every way a snapshots file
can be unusable (damaged, hostile, another run's, not the model's shapes) giving None or one clear
SnapshotError, never a crash or a hang. The engines' own runs are in tests/training/test_snapshots.py."""
from __future__ import annotations

import io
import shutil
import zipfile

import numpy as np
import pytest
from special_files import SPECIAL_KINDS, make_special, no_hang
from timeline_files import scaled_snapshots as _snapshots

from digitpad.core import snapshots as snapfile
from digitpad.core.inference import Predictor
from digitpad.core.paths import RunFiles, shipped_model_path
from digitpad.core.snapshots import SnapshotError
from digitpad.core.timeline import Timeline


@pytest.fixture(scope="module")
def shipped():
    return Predictor(shipped_model_path())


@pytest.fixture
def model(tmp_path, shipped):
    path = tmp_path / "m.onnx"
    shutil.copy(shipped_model_path(), path)
    snapfile.write(RunFiles(path).snapshots, _snapshots(shipped))
    return path


def _digit():
    x = np.zeros((28, 28), np.float32)
    x[6:22, 12:16] = 1.0
    return x


def test_the_last_snapshot_is_the_model_and_earlier_ones_differ(model, shipped):
    timeline = Timeline.for_model(model, shipped)
    assert len(timeline) == 3 and timeline.complete
    assert [p["step"] for p in timeline.points] == [0, 50, 100] and np.isnan(timeline.points[0]["accuracy"])
    ref = shipped.predict(_digit())
    last = timeline.predict(_digit(), 2)
    assert np.abs(last.probs - ref.probs).max() < 1e-4 and last.top == ref.top
    for layer, a in ref.activations.items():
        np.testing.assert_allclose(last.activations[layer], a, atol=1e-4)
    half = timeline.predict(_digit(), 1)
    assert not np.allclose(half.activations["conv1"], ref.activations["conv1"], atol=1e-3)
    assert np.isclose(half.probs.sum(), 1.0, atol=1e-5)
    np.testing.assert_array_equal(timeline.kernels("conv1", 1), shipped.kernels("conv1") * np.float32(0.5))
    np.testing.assert_array_equal(timeline.kernels("conv1", -1), shipped.kernels("conv1"))
    with pytest.raises(IndexError):
        timeline.predict(_digit(), 3)


def test_a_model_without_snapshots_has_none(tmp_path):
    path = tmp_path / "plain.onnx"
    shutil.copy(shipped_model_path(), path)
    assert Timeline.for_model(path) is None and Timeline.open(path) is None
    assert Timeline.for_model(shipped_model_path()) is None


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _npy(array, allow_pickle=False) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=allow_pickle)
    return buf.getvalue()


def _members(snaps) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(snaps.to_bytes())) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _huge_header() -> bytes:
    header = b"{'descr': '<f4', 'fortran_order': False, 'shape': (3,), " + b" " * 200_000 + b"}\n"
    return b"\x93NUMPY\x02\x00" + len(header).to_bytes(4, "little") + header + b"\0" * 12


def _damage(snaps, how: str) -> bytes:
    members = _members(snaps)
    if how == "garbage":
        return b"this is not an archive"
    if how == "truncated":
        return snaps.to_bytes()[:5000]
    if how == "pickled object":
        members["w0.npy"] = _npy(np.array([{"x": 1}, None], dtype=object), allow_pickle=True)
    elif how == "wrong count":
        w = np.load(io.BytesIO(members["w0.npy"]))
        members["w0.npy"] = _npy(w[:2])
    elif how == "wrong dtype":
        members["step.npy"] = _npy(np.arange(3, dtype=np.float32))
    elif how == "huge header":
        members["w0.npy"] = _huge_header()
    elif how == "lying header":
        members["w0.npy"] = members["w0.npy"][:200]
    elif how == "bad meta":
        members["meta.npy"] = _npy(np.array("{not json"))
    elif how == "meta names":
        snaps.meta["initializers"] = {"nope": "x"}
        return snaps.to_bytes()
    elif how == "steps backwards":
        members["step.npy"] = _npy(np.array([0, 50, 20], np.int64))
    elif how == "nan weights":
        w = np.load(io.BytesIO(members["w0.npy"]))
        w[1] = np.nan
        members["w0.npy"] = _npy(w)
    elif how == "missing member":
        del members["accuracy.npy"]
    return _zip(members)


DAMAGE = ["garbage", "truncated", "pickled object", "wrong count", "wrong dtype", "huge header", "lying header",
          "bad meta", "meta names", "steps backwards", "nan weights", "missing member"]


@pytest.mark.parametrize("how", DAMAGE)
def test_a_damaged_or_hostile_file_is_one_clear_error(model, shipped, how):
    path = RunFiles(model).snapshots
    path.write_bytes(_damage(_snapshots(shipped), how))
    with pytest.raises(SnapshotError) as e:
        no_hang(lambda: Timeline.open(model, shipped))
    message = str(e.value)
    assert "m.snapshots.npz" in message and "\n" not in message and len(message) < 400, message
    assert Timeline.for_model(model, shipped) is None


@pytest.mark.parametrize("kind", [k for k in SPECIAL_KINDS if k != "dangling"])
def test_special_files_are_refused_without_blocking(model, shipped, kind):
    path = RunFiles(model).snapshots
    path.unlink()
    make_special(path, kind)
    with pytest.raises(SnapshotError, match="m.snapshots.npz"):
        no_hang(lambda: Timeline.open(model, shipped))
    assert no_hang(lambda: Timeline.for_model(model, shipped)) is None


def test_a_dangling_link_is_one_clear_error(model, shipped):
    path = RunFiles(model).snapshots
    path.unlink()
    make_special(path, "dangling")
    with pytest.raises(SnapshotError, match="m.snapshots.npz"):
        Timeline.open(model, shipped)


def test_an_oversized_file_is_refused_before_it_is_read(model, shipped, monkeypatch):
    from digitpad.core import fileio

    monkeypatch.setattr(fileio, "SNAPSHOTS", fileio.Kind("a weight snapshots file", 1024))
    with pytest.raises(SnapshotError, match="m.snapshots.npz"):
        Timeline.open(model, shipped)


@pytest.mark.parametrize("how", ["another run", "not exported", "unknown weight", "other shape"])
def test_snapshots_that_do_not_belong_to_the_model_are_refused(model, shipped, how):
    snaps = _snapshots(shipped)
    name = next(iter(snaps.weights))
    if how == "another run":
        snaps.meta["run_id"] = "f" * 32
    elif how == "not exported":
        snaps.meta["initializers"] = None
    elif how == "unknown weight":
        snaps.meta["initializers"][name] = "no.such.weight"
    else:
        snaps.weights[name] = snaps.weights[name][..., :1] if snaps.weights[name].ndim > 1 else \
            np.concatenate([snaps.weights[name], snaps.weights[name]], axis=1)
    snapfile.write(RunFiles(model).snapshots, snaps)
    with pytest.raises(SnapshotError, match="m.snapshots.npz"):
        Timeline.open(model, shipped)
    assert Timeline.for_model(model, shipped) is None


def test_kernels_only_snapshots_say_so(model, shipped):
    snaps = _snapshots(shipped)
    kernels = {n: w for n, w in snaps.weights.items() if w.ndim == 5}
    snaps = snapfile.Snapshots({**snaps.meta, "kept": "conv kernels",
                                "initializers": {n: n for n in kernels}}, snaps.step, snaps.epoch, snaps.accuracy,
                               snaps.loss, kernels)
    snapfile.write(RunFiles(model).snapshots, snaps)
    timeline = Timeline.for_model(model, shipped)
    assert not timeline.complete and timeline.kept == "conv kernels"
    assert np.abs(timeline.predict(_digit(), -1).probs - shipped.predict(_digit()).probs).max() < 1e-4
