"""Weight snapshots in both engines: when they are taken, what they hold, that the last one is the
exported model (ONNX Runtime's probabilities through the timeline's NumPy forward pass), the size cap,
and --resume keeping and extending them."""
from __future__ import annotations

import math

import numpy as np
import pytest
from train_helpers import TINY, metadata, run_cli

from digitpad.core import snapshots as snapfile
from digitpad.core.inference import Predictor
from digitpad.core.paths import RunFiles
from digitpad.core.timeline import Timeline
from training import checkpoint, snapshots
from training.scratch import checkpoint as scratch_checkpoint


def test_schedule_is_geometric_dense_early_and_ends_at_the_last_step():
    steps = snapshots.schedule(9380)
    assert len(steps) >= 24 and steps[0] == 1 and steps[-1] == 9380 and steps == sorted(set(steps))
    assert sum(s <= 938 for s in steps) > len(steps) / 2   # most of them in the first tenth of the run
    assert snapshots.schedule(10) == list(range(1, 11))     # a short run: every step


def test_the_size_cap_keeps_the_conv_kernels_then_the_first():
    shapes = {"c1.weight": (32, 1, 3, 3), "c1.bias": (32,), "c2.weight": (64, 32, 3, 3), "fc.weight": (10, 10_000)}
    assert snapshots.kept_names(shapes, 25)[1] == "all"
    names, kept = snapshots.kept_names(shapes, 25, budget=4 * 25 * 20_000)
    assert kept == "conv kernels" and names == ["c1.weight", "c2.weight"]
    assert snapshots.kept_names(shapes, 25, budget=100) == (["c1.weight"], "first conv kernels")


def _check_last_is_the_model(model, xs):
    """The last snapshot holds the exported initializers exactly, and through the timeline's NumPy forward
    pass gives ONNX Runtime's probabilities and maps; the first one does not."""
    import onnx
    from onnx import numpy_helper

    snaps = snapfile.read(RunFiles(model).snapshots)
    inits = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(model)).graph.initializer}
    assert set(snaps.initializers) == set(snaps.weights)
    for name, init in snaps.initializers.items():
        np.testing.assert_array_equal(snaps.weights[name][-1], inits[init])
    predictor = Predictor(model)
    timeline = Timeline.for_model(model, predictor)
    assert timeline is not None and timeline.complete
    for x in xs:
        ref = predictor.predict(x[None])
        got = timeline.predict(x[None], len(timeline) - 1)
        assert np.abs(got.probs - ref.probs).max() < 1e-4
        assert got.activations.keys() == ref.activations.keys()
        for layer in ref.activations:
            np.testing.assert_allclose(got.activations[layer], ref.activations[layer], atol=1e-4)
    first = timeline.predict(xs[0][None], 0)
    assert not np.allclose(first.probs, timeline.predict(xs[0][None], -1).probs, atol=1e-3)  # training moved it
    return timeline


def test_torch_run_keeps_snapshots_and_the_last_is_the_exported_model(tiny_run, small_mnist):
    from training.data import load

    snaps = snapfile.read(RunFiles(tiny_run).snapshots)
    total = 2 * math.ceil(600 / 32)
    assert len(snaps) >= 21 and snaps.step[0] == 0 and snaps.step[-1] == total and snaps.meta["kept"] == "all"
    assert np.isnan(snaps.accuracy[0]) and np.isnan(snaps.loss[0]) and np.isfinite(snaps.loss[1:]).all()
    history = metadata(tiny_run).training["history"]
    assert snaps.accuracy[-1] == history[-1]["test_accuracy"]
    assert snaps.accuracy[list(snaps.step).index(total // 2)] == history[0]["test_accuracy"]   # epoch 1's end
    assert metadata(tiny_run).training["snapshots"]["file"] == RunFiles(tiny_run).snapshots.name
    assert snaps.meta["engine"] == "torch" and snaps.meta["run_id"] == metadata(tiny_run).training["run_id"]
    _, test = load("mnist", small_mnist)
    timeline = _check_last_is_the_model(tiny_run, test.images[:20, None].astype(np.float32) / 255)
    points = timeline.points
    assert [p["step"] for p in points] == list(snaps.step) and {"step", "epoch", "accuracy"} <= set(points[0])
    assert points[-1]["epoch"] == 2.0
    assert timeline.kernels("conv1", 0).shape == Predictor(tiny_run).kernels("conv1").shape
    assert checkpoint.load(checkpoint.checkpoint_path(tiny_run))["snapshots"] == {
        "count": len(snaps), "last_step": total, "planned_steps": total}


def test_resume_with_more_epochs_keeps_and_extends_the_snapshots(tiny_run, small_mnist, capsys):
    before = snapfile.read(RunFiles(tiny_run).snapshots)
    rc, events, err = run_cli(capsys, "--resume", "--out", str(tiny_run), "--epochs", "3", "--data-dir",
                              str(small_mnist))
    assert rc == 0, err
    after = snapfile.read(RunFiles(tiny_run).snapshots)
    n = len(before)
    assert list(after.step[:n]) == list(before.step) and after.step[-1] == 3 * before.step[-1] // 2
    assert len(after) > n and after.meta["planned_steps"] == after.step[-1]
    for name, w in before.weights.items():
        np.testing.assert_array_equal(after.weights[name][:n - 1], w[:n - 1])
    _check_last_is_the_model(tiny_run, np.random.default_rng(1).random((5, 1, 28, 28)).astype(np.float32))


def test_numpy_engine_keeps_snapshots_and_resumes_them(tmp_path, mnist_dir, capsys):
    out = tmp_path / "n.onnx"
    common = ["--engine", "numpy", "--dataset", "optdigits", "--limit", "800", "--batch-size", "16",
              "--data-dir", str(mnist_dir)]
    rc, _, err = run_cli(capsys, *common, "--epochs", "1", "--out", str(out))
    assert rc == 0, err
    first = snapfile.read(RunFiles(out).snapshots)
    assert len(first) >= 21 and first.step[0] == 0 and first.step[-1] == 50 and first.meta["engine"] == "numpy"
    ckpt = scratch_checkpoint.load(scratch_checkpoint.checkpoint_path(out))
    assert ckpt["meta"]["snapshots"]["count"] == len(first)
    rng = np.random.default_rng(2)
    _check_last_is_the_model(out, rng.random((10, 1, 8, 8)).astype(np.float32))

    rc, _, err = run_cli(capsys, "--resume", "--out", str(out), "--epochs", "2", "--data-dir", str(mnist_dir))
    assert rc == 0, err
    second = snapfile.read(RunFiles(out).snapshots)
    assert list(second.step[:len(first)]) == list(first.step) and second.step[-1] == 100
    _check_last_is_the_model(out, rng.random((10, 1, 8, 8)).astype(np.float32))


def test_a_run_into_a_folder_with_another_runs_snapshots_is_refused(tmp_path, small_mnist, capsys):
    out = tmp_path / "m.onnx"
    RunFiles(out).snapshots.write_bytes(b"someone else's")
    rc, events, err = run_cli(capsys, *TINY, "--data-dir", str(small_mnist), "--out", str(out))
    assert rc == 2 and "m.snapshots.npz" in events[-1]["message"]


@pytest.mark.parametrize("damage", ["garbage", "other run"])
def test_resume_with_damaged_snapshots_starts_them_again_with_a_warning(tiny_run, small_mnist, capsys, damage):
    path = RunFiles(tiny_run).snapshots
    if damage == "garbage":
        path.write_bytes(b"PK\x03\x04 not really")
    else:
        snaps = snapfile.read(path)
        snaps.meta["run_id"] = "0" * 32
        snapfile.write(path, snaps)
    rc, events, err = run_cli(capsys, "--resume", "--out", str(tiny_run), "--epochs", "3", "--data-dir",
                              str(small_mnist))
    assert rc == 0 and "snapshots" in err
    snaps = snapfile.read(path)
    assert snaps.step[0] == 2 * math.ceil(600 / 32) and snaps.step[-1] == 3 * math.ceil(600 / 32)


def test_export_of_a_checkpoint_ends_its_snapshots_with_the_exported_model(tiny_run, small_mnist, capsys):
    again = tiny_run.with_name("again.onnx")
    rc, _, err = run_cli(capsys, "export", str(checkpoint.checkpoint_path(tiny_run)), "--out", str(again),
                         "--data-dir", str(small_mnist))
    assert rc == 0, err
    assert len(snapfile.read(RunFiles(again).snapshots)) == len(snapfile.read(RunFiles(tiny_run).snapshots))
    _check_last_is_the_model(again, np.random.default_rng(3).random((5, 1, 28, 28)).astype(np.float32))


def test_numpy_export_of_a_checkpoint_too(tmp_path, mnist_dir, capsys):
    out = tmp_path / "n.onnx"
    rc, _, err = run_cli(capsys, "--engine", "numpy", "--dataset", "optdigits", "--limit", "800", "--epochs", "1",
                         "--data-dir", str(mnist_dir), "--out", str(out))
    assert rc == 0, err
    again = tmp_path / "again.onnx"
    rc, _, err = run_cli(capsys, "export", str(scratch_checkpoint.checkpoint_path(out)), "--out", str(again),
                         "--data-dir", str(mnist_dir))
    assert rc == 0, err
    _check_last_is_the_model(again, np.random.default_rng(4).random((5, 1, 8, 8)).astype(np.float32))
