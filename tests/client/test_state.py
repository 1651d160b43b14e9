"""A run as the app follows it: built from the engine's events, resumable, smoothed."""
from __future__ import annotations

from pathlib import Path

import pytest

from digitpad.client.state import RunState, smooth


def _events(n_epochs=2, spe=5, stop_at=None):
    yield {"event": "start", "total_steps": n_epochs * spe, "steps_per_epoch": spe, "config": {"epochs": n_epochs},
           "device": "cpu", "params": 10, "n_train": 50, "resumed": False, "checkpoint": "/x/m.ckpt.pt"}
    step = 0
    for e in range(1, n_epochs + 1):
        for _ in range(spe):
            step += 1
            yield {"event": "step", "step": step, "epoch": e, "loss": 1.0 / step, "lr": 0.1, "samples_per_s": 100.0,
                   "eta_s": 3.0, "elapsed_s": step * 0.1}
            if stop_at == step:
                yield {"event": "done", "status": "stopped", "checkpoint": "/x/m.ckpt.pt"}
                return
        yield {"event": "epoch", "epoch": e, "epochs": n_epochs, "train_loss": 0.5, "test_loss": 0.4,
               "test_accuracy": 0.9 + e / 100, "lr": 0.1, "elapsed_s": step * 0.1, "checkpoint": "/x/m.ckpt.pt"}
    yield {"event": "exported", "path": "/x/m.onnx", "metrics": {"test_accuracy": 0.92}}
    yield {"event": "done", "status": "completed", "path": "/x/m.onnx"}


def test_run_state_follows_the_events():
    st = RunState()
    for ev in _events():
        st.feed(ev)
    assert st.status == "completed" and st.progress == 1.0 and len(st.steps) == 10
    assert [h["epoch"] for h in st.history] == [1, 2] and st.exported == Path("/x/m.onnx")
    assert "Epoch 2/2" in st.progress_text() and "step 10/10" in st.progress_text()


def test_run_state_resume_keeps_the_curves():
    st = RunState()
    for ev in _events(stop_at=3):
        st.feed(ev)
    assert st.status == "stopped" and st.steps == [1, 2, 3]
    st.feed({"event": "start", "total_steps": 10, "steps_per_epoch": 5, "config": {"epochs": 2}, "resumed": True})
    st.feed({"event": "step", "step": 4, "epoch": 1, "loss": 0.2, "lr": 0.1, "samples_per_s": 1, "eta_s": 1,
             "elapsed_s": 1})
    st.feed({"event": "step", "step": 4, "epoch": 1, "loss": 0.2, "lr": 0.1})   # duplicate: ignored
    assert st.steps == [1, 2, 3, 4]


def test_smoothing_is_bias_corrected():
    assert smooth([2.0, 2.0, 2.0]) == pytest.approx([2.0, 2.0, 2.0])
    assert smooth([]) == []
