"""The Draw tab's training timeline: a model with snapshots gets the scrubber; moving it shows snapshot
k's probabilities, feature maps and kernels (computed off the UI thread), drawing while scrubbing
follows, the last snapshot is the model again, play runs to the end; a model without snapshots says so."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
from timeline_files import scaled_snapshots
from windows import open_window

from digitpad.core import snapshots as snapfile
from digitpad.core.inference import Predictor
from digitpad.core.paths import RunFiles, shipped_model_path
from digitpad.core.timeline import Timeline


@pytest.fixture
def snap_model(tmp_path):
    path = tmp_path / "m.onnx"
    shutil.copy(shipped_model_path(), path)
    snapfile.write(RunFiles(path).snapshots, scaled_snapshots(Predictor(path), (0.0, 0.3, 0.7, 1.0)))
    return path


@pytest.fixture
def app_window(qtbot, snap_model):
    w = open_window(qtbot, snap_model)
    yield w
    w.close()


def _draw(wb, points):
    wb.canvas.draw_stroke(points)


def test_scrubbing_shows_each_snapshot_and_back(qtbot, app_window, snap_model):
    wb = app_window.workbench
    view = wb.timeline
    qtbot.waitUntil(lambda: view.timeline is not None, timeout=10_000)
    assert view.bar.isVisibleTo(wb) and view.slider.maximum() == 3 and view.slider.value() == 3
    assert "Snapshot 4 of 4 (the model)" in view.note.full
    _draw(wb, [(150, 40), (150, 250)])
    reference = Timeline.for_model(snap_model)

    wb.inspector.setCurrentWidget(wb.kernels_view)
    view.slider.setValue(1)
    expected = reference.predict(wb.model_input, 1)
    qtbot.waitUntil(lambda: view.shown is not None, timeout=10_000)
    np.testing.assert_allclose(wb.panel.probs, expected.probs, atol=1e-5)
    np.testing.assert_allclose(wb.feature_maps.prediction.activations["conv1"], expected.activations["conv1"],
                               atol=1e-5)
    layer = wb.kernels_view.chooser.combo.currentText()
    np.testing.assert_allclose(wb.kernels_view.weights, reference.kernels(layer, 1))
    assert "Snapshot 2 of 4 (training): step 50" in view.note.full

    _draw(wb, [(100, 60), (200, 60)])   # drawing while scrubbing: snapshot 1 for the new drawing
    again = reference.predict(wb.model_input, 1)
    qtbot.waitUntil(lambda: view.shown is not None and np.allclose(wb.panel.probs, again.probs, atol=1e-5),
                    timeout=10_000)

    view.next_button.click()
    view.next_button.click()           # the last snapshot: the model itself
    assert view.slider.value() == 3 and view.shown is None and not view.in_use
    np.testing.assert_allclose(wb.panel.probs, wb.prediction.probs)
    np.testing.assert_allclose(wb.kernels_view.weights, wb.controller.predictor.kernels(layer))

    view.set_snapshot(0)
    view.toggle_play()
    qtbot.waitUntil(lambda: view.slider.value() == 3 and not view.timer.isActive(), timeout=10_000)


def test_a_model_without_snapshots_says_so(qtbot, window):
    view = window.workbench.timeline
    assert not view.bar.isVisibleTo(window.workbench)
    assert "no training snapshots" in view.note.full


def test_a_damaged_snapshots_file_says_why(qtbot, tmp_path, snap_model):
    from digitpad.app import MainWindow

    RunFiles(snap_model).snapshots.write_bytes(b"not an archive")
    w = MainWindow(model_path=snap_model)
    qtbot.addWidget(w)
    view = w.workbench.timeline
    qtbot.waitUntil(lambda: "unavailable" in view.note.full, timeout=10_000)
    assert "m.snapshots.npz" in view.note.full and not view.bar.isVisibleTo(w.workbench)
    w.close()


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
def test_the_scrubber_fits_the_window(qtbot, snap_model, size):
    import importlib.util
    from pathlib import Path

    from drawing import draw, seven
    from windows import open_window

    spec = importlib.util.spec_from_file_location("_layout_checks", Path(__file__).with_name("test_layout.py"))
    checks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(checks)
    layout_problems, scrolling_pages, settle = checks.layout_problems, checks.scrolling_pages, checks.settle

    w = open_window(qtbot, snap_model, size)
    wb = w.workbench
    qtbot.waitUntil(lambda: wb.timeline.timeline is not None, timeout=10_000)
    draw(wb.canvas, seven(wb.canvas.width()))
    wb.timeline.slider.setValue(1)
    qtbot.waitUntil(lambda: wb.timeline.shown is not None, timeout=10_000)
    problems = []
    for i in range(wb.inspector.count()):
        wb.inspector.setCurrentIndex(i)
        settle(qtbot)
        problems += [f"{wb.inspector.tabText(i)}: {p}" for p in layout_problems(w) + scrolling_pages(w)]
        if (w.width(), w.height()) != size:
            problems.append(f"the window resized itself to {w.width()}x{w.height()}")
    assert not problems, "\n".join(problems)
    w.close()


def test_the_arithmetic_follows_the_snapshot(qtbot, app_window, snap_model):
    """A unit's arithmetic is computed with the snapshot's weights while the timeline is scrubbed, and with
    the model's own (checked against ONNX Runtime) at its end."""
    wb = app_window.workbench
    view = wb.timeline
    qtbot.waitUntil(lambda: view.timeline is not None, timeout=10_000)
    _draw(wb, [(150, 40), (150, 250)])
    arithmetic = wb.inspectors.arithmetic
    wb.inspector.setCurrentWidget(arithmetic)
    arithmetic.show_unit("conv1", (2, 10, 12))
    reference = Timeline.for_model(snap_model)

    view.slider.setValue(1)
    qtbot.waitUntil(lambda: view.shown is not None, timeout=10_000)
    qtbot.waitUntil(lambda: arithmetic.weights_at is not None and not arithmetic._dirty, timeout=10_000)
    arithmetic._refresh_now()
    stage = arithmetic.stage
    e = reference.explain(wb.model_input, stage, *arithmetic.index, k=1)
    assert e.weights == "training snapshot 2 of 4" and e.onnxruntime is None
    np.testing.assert_allclose(arithmetic.values, reference.trace(wb.model_input, 1)[stage][0], atol=1e-6)
    assert "training snapshot 2 of 4" in arithmetic.panel.check.text()
    final = wb.controller.predictor.trace(wb.model_input)[stage][0]
    assert not np.allclose(arithmetic.values, final)          # the snapshot's numbers, not the model's

    view.slider.setValue(view.last)                            # the model itself again
    qtbot.waitUntil(lambda: arithmetic.weights_at is None, timeout=10_000)
    arithmetic._refresh_now()
    np.testing.assert_allclose(arithmetic.values, final, atol=1e-6)
    assert "training snapshot" not in arithmetic.panel.check.text()
