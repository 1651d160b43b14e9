"""The ``snapshot`` event as the app reads it: built by the engine's own ``payload``, checked field by
field (events are untrusted input: a bad one is ignored with a reason, never a crash)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from digitpad.client.state import RunState
from digitpad.core import live_snapshot
from digitpad.core.live_snapshot import SnapshotEventError, parse, payload


def event(step=10, channels=40, side=28, k=5, cin=1, **extra) -> dict:
    rng = np.random.default_rng(step)
    ev = {"event": live_snapshot.EVENT, **payload(
        step=step, epoch=step / 100, layer="conv1", kernels=rng.normal(0, 0.2, (channels, cin, k, k)),
        maps=np.maximum(rng.normal(0, 1, (channels, side, side)), 0), image=rng.random((cin, side, side)), label=7)}
    return json.loads(json.dumps({**ev, **extra}))   # as it comes down the pipe


def test_payload_caps_the_channels_downsamples_big_maps_and_parses_back():
    ev = event(channels=40, side=64, cin=3)
    snap = parse(ev)
    assert snap.channels == 40 and snap.kernels.shape == (32, 3, 5, 5)
    assert snap.maps.shape == (32, 32, 32) and snap.image.shape == (3, 32, 32)
    assert snap.step == 10 and snap.epoch == 0.1 and snap.label == 7 and snap.layer == "conv1"
    assert len(json.dumps(ev)) < 180_000   # the worst case: 32 maps of 32x32 noise


def test_values_survive_the_rounding():
    rng = np.random.default_rng(0)
    k = rng.normal(0, 0.1, (8, 1, 3, 3))
    maps = np.maximum(rng.normal(0, 2, (8, 28, 28)), 0)
    snap = parse({"event": "snapshot", **json.loads(json.dumps(payload(
        step=1, epoch=0.01, layer="conv1", kernels=k, maps=maps, image=np.zeros((1, 28, 28)), label=3)))})
    np.testing.assert_allclose(snap.kernels, k, rtol=1e-3)
    assert np.abs(snap.maps - maps).max() <= maps.max() / 255
    assert np.array_equal(live_snapshot.shrink(np.ones((2, 30, 30)), 8), np.ones((2, 8, 8)))


@pytest.mark.parametrize("change, words", [
    ({"step": "12"}, "step"),
    ({"step": -1}, "out of range"),
    ({"epoch": float("inf")}, "epoch"),
    ({"label": True}, "label"),
    ({"layer": 3}, "layer"),
    ({"layer": "x" * 100}, "layer"),
    ({"kernels": "no"}, "kernels is not a list"),
    ({"kernels": [[[[1, 2], [3]]]]}, "kernels"),
    ({"kernels": [[[["a"]]]]}, "kernels"),
    ({"kernels": [[[1.0]]]}, "kernels has shape"),
    ({"kernels": np.zeros((33, 1, 3, 3)).tolist()}, "more than"),
    ({"maps": [[[1.5]]]}, "maps is not a regular array of integers"),
    ({"maps": [[[256]]]}, "outside 0..255"),
    ({"maps": np.zeros((32, 64, 64), int).tolist()}, "more than"),
    ({"maps": np.zeros((3, 28, 28), int).tolist()}, "kernels and 3 maps"),
    ({"image": [[[0, -1]]]}, "outside"),
    ({"maps_range": [1, 1]}, "maps_range"),
    ({"maps_range": None}, "maps_range"),
    ({"channels": 4}, "channels"),
])
def test_malformed_events_are_refused_with_a_reason(change, words):
    ev = event(channels=32)
    ev.update(change)
    with pytest.raises(SnapshotEventError, match=words.replace("(", r"\(").replace(".", r"\.")):
        parse(ev)


def test_run_state_keeps_the_last_good_snapshot_and_says_why_one_was_ignored():
    st = RunState()
    st.feed({"event": "start", "total_steps": 100, "steps_per_epoch": 10, "config": {"epochs": 10}})
    assert st.snapshot is None
    st.feed(event(step=0))
    st.feed(event(step=20))
    assert st.snapshot.step == 20 and not st.snapshot_error
    st.feed({**event(step=30), "maps": "oops"})
    assert st.snapshot.step == 20 and "maps is not a list" in st.snapshot_error
    st.feed({"event": "snapshot"})
    assert st.snapshot.step == 20 and st.snapshot_error
    st.feed({"event": "start", "total_steps": 100, "steps_per_epoch": 10, "config": {"epochs": 10}, "resumed": True})
    assert st.snapshot.step == 20   # a resumed run goes on showing it
    st.feed({"event": "start", "total_steps": 100, "steps_per_epoch": 10, "config": {"epochs": 10}})
    assert st.snapshot is None and not st.snapshot_error
