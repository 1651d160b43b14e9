"""The engines' ``snapshot`` events (issue 23, live in the Train tab): one at the start and one at every
weight snapshot, with the first conv layer's kernels and its maps of the first test image, which the
app's parser reads back."""
from __future__ import annotations

import numpy as np
from train_helpers import TINY, run_cli

from digitpad.core import live_snapshot
from digitpad.core import snapshots as snapfile
from digitpad.core.paths import RunFiles


def _snapshots(events):
    return [e for e in events if e["event"] == live_snapshot.EVENT]


def test_torch_run_sends_the_first_layers_kernels_and_maps_at_every_snapshot(tmp_path, small_mnist, capsys):
    out = tmp_path / "m.onnx"
    rc, events, err = run_cli(capsys, *TINY, "--data-dir", str(small_mnist), "--out", str(out))
    assert rc == 0, err
    sent = _snapshots(events)
    taken = snapfile.read(RunFiles(out).snapshots)
    assert [e["step"] for e in sent] == [int(s) for s in taken.step]   # the initial weights and each snapshot
    start = next(i for i, e in enumerate(events) if e["event"] == "start")
    assert events.index(sent[0]) > start
    parsed = [live_snapshot.parse(e) for e in sent]
    first, last = parsed[0], parsed[-1]
    w = taken.weights["blocks.conv1.conv.weight"]
    assert first.layer == "conv1" and first.channels == w.shape[1]
    assert first.kernels.shape == w.shape[1:] and first.maps.shape == (w.shape[1], 28, 28)
    assert first.image.shape == (1, 28, 28) and 0 <= first.label <= 9
    assert all(p.label == first.label and np.array_equal(p.image, first.image) for p in parsed)
    assert last.epoch == 2.0 and (last.maps >= 0).all() and last.maps.max() > 0   # ReLU maps
    # the kernels are the snapshot's (the EMA's), to the event's 4 significant digits
    np.testing.assert_allclose(last.kernels, w[-1], rtol=1e-3, atol=1e-6)
    assert not np.allclose(first.kernels, last.kernels)
    assert max(len(str(e)) for e in sent) < 80_000


def test_numpy_run_sends_them_too(tmp_path, mnist_dir, capsys):
    out = tmp_path / "n.onnx"
    rc, events, err = run_cli(capsys, "--engine", "numpy", "--dataset", "optdigits", "--limit", "400",
                              "--batch-size", "16", "--epochs", "1", "--data-dir", str(mnist_dir), "--out", str(out))
    assert rc == 0, err
    sent = _snapshots(events)
    taken = snapfile.read(RunFiles(out).snapshots)
    assert [e["step"] for e in sent] == [int(s) for s in taken.step]
    last = live_snapshot.parse(sent[-1])
    assert last.layer == "conv1" and last.channels == 4 and last.kernels.shape == (4, 1, 3, 3)
    assert last.maps.shape == (4, 8, 8) and last.image.shape == (1, 8, 8) and (last.maps >= 0).all()
    np.testing.assert_allclose(last.kernels, taken.weights["conv1.weight"][-1], rtol=1e-3, atol=1e-6)


def test_a_bar_run_computes_none(tmp_path, small_mnist, capsys):
    from training.cli import main

    assert main([*TINY, "--epochs", "1", "--data-dir", str(small_mnist), "--out", str(tmp_path / "m.onnx"),
                 "--progress", "none"]) == 0
    assert live_snapshot.EVENT not in capsys.readouterr().out


def test_the_events_change_nothing_in_the_run(tmp_path, mnist_dir, small_mnist, capsys):
    """The probes run the model's first layer between steps (the NumPy engine on its training net when it
    keeps no EMA): the weights a run ends with are the same with the events as without."""
    from training.cli import main

    numpy_run = ["--engine", "numpy", "--dataset", "optdigits", "--limit", "300", "--batch-size", "16", "--epochs",
                 "1", "--ema", "0", "--data-dir", str(mnist_dir)]
    torch_run = [*TINY, "--epochs", "1", "--data-dir", str(small_mnist)]
    for name, argv in (("n", numpy_run), ("t", torch_run)):
        finals = []
        for progress in ("jsonl", "none"):
            out = tmp_path / progress / f"{name}.onnx"
            assert main([*argv, "--out", str(out), "--progress", progress]) == 0
            finals.append(snapfile.read(RunFiles(out).snapshots))
        capsys.readouterr()
        for key, w in finals[0].weights.items():
            np.testing.assert_array_equal(w[-1], finals[1].weights[key][-1], err_msg=f"{name}: {key}")
