"""The Train tab's live kernels and maps (issue 23): the engine's snapshot events, fed through the
runner's pipe reader as the engine writes them, show beside the curves and update at each one; a bad
event leaves the last good one on screen. No engine here: the events are made with the engine's own
payload (tests/training/test_live_snapshots.py runs the real engines)."""
from __future__ import annotations

import json

import numpy as np

from digitpad.core import live_snapshot

START = {"event": "start", "total_steps": 200, "steps_per_epoch": 100, "config": {"epochs": 2, "dataset": "mnist"},
         "device": "cpu", "params": 1000, "n_train": 3200, "resumed": False, "checkpoint": "/x/m.ckpt.pt"}


def snapshot_line(step: int, channels: int = 16, cin: int = 1, side: int = 28) -> bytes:
    rng = np.random.default_rng(step)
    image = np.zeros((cin, side, side))
    image[:, 6:22, 12:16] = 1.0   # a one
    ev = {"event": live_snapshot.EVENT, **live_snapshot.payload(
        step=step, epoch=step / 100, layer="conv1", kernels=rng.normal(0, 0.3, (channels, cin, 3, 3)),
        maps=np.maximum(rng.normal(0, 1, (channels, side, side)), 0), image=image, label=1)}
    return json.dumps(ev).encode()


def feed(tab, *lines: bytes) -> None:
    for raw in lines:
        tab.runner._handle_line(raw)
    tab._redraw_now()


def test_snapshot_events_show_beside_the_curves_and_update(tab, qtbot):
    tab.resize(1100, 700)
    tab.show()
    qtbot.waitExposed(tab)
    view = tab.live.kernels
    qtbot.waitUntil(lambda: view.isVisible(), timeout=2000)   # shown by the layout, queued
    assert not view.kernels.isVisible() and "appear" in view.about.text()
    feed(tab, json.dumps(START).encode(), snapshot_line(0))
    assert view.kernels.isVisible() and view.maps.isVisible()
    assert view.moment.text() == "step 0 · epoch 0.00" and view.about.text() == "test digit: 1"
    assert view.kernels.maps.shape == (16, 3, 3) and view.maps.maps.shape == (16, 28, 28)
    assert not view.digit.pixmap().isNull()
    first = view.kernels.maps.copy()
    # the view sits beside the curves, not under them
    assert view.geometry().left() >= tab.live.curves.geometry().right()

    feed(tab, snapshot_line(120))
    assert view.moment.text() == "step 120 · epoch 1.20"
    assert not np.allclose(view.kernels.maps, first)
    np.testing.assert_allclose(view.kernels.maps, tab.runner.state.snapshot.kernels[:, 0])

    # a malformed event: the last good snapshot stays, the reason is shown
    bad = json.loads(snapshot_line(150))
    bad["maps"] = [[[1, 2], [3]]]
    feed(tab, json.dumps(bad).encode())
    assert view.moment.text() == "step 120 · epoch 1.20" and view.kernels.isVisible()
    assert "ignored" not in view.about.text()   # the view says the snapshot it shows
    assert "maps is not a regular array" in tab.runner.state.snapshot_error

    # more channels than shown, and a colour first layer: RGB patches, the first 32 maps
    feed(tab, snapshot_line(200, channels=48, cin=3, side=32))
    assert view.kernels.maps.shape == (32, 3, 3, 3) and view.maps.maps.shape == (32, 32, 32)
    assert "first 32 of 48" in view.maps_title.text()

    # a new run starts empty
    feed(tab, json.dumps(START).encode())
    assert not view.kernels.isVisible() and tab.runner.state.snapshot is None
