"""The Arithmetic tab (issue 11): a click on a unit shows the numbers Predictor.explain computed,
side by side with ONNX Runtime's; receptive fields, honest maps, shapes and what-if.

Clicks and hovers are real mouse events on the pyqtgraph views (posted to their viewport), on
the shipped model (conv3 has 64 input channels, its batch norm is folded) unless said.
"""
from __future__ import annotations

import numpy as np
import pytest
from bn_model import make_bn_model
from drawing import draw, seven
from map_clicks import click_unit, hover_unit, open_unit
from model_factory import make_foreign_model
from PySide6.QtWidgets import QToolTip
from windows import open_window

from digitpad.core.paths import shipped_model_path
from digitpad.gui.draw.arithmetic import step_text
from digitpad.gui.draw.numbers import num, short


@pytest.fixture
def shipped(qtbot):
    w = open_window(qtbot, shipped_model_path())
    draw(w.workbench.canvas, seven(w.workbench.canvas.width()))
    yield w
    w.close()


def _show_layer(qtbot, wb, layer: str):
    fm = wb.feature_maps
    wb.inspector.setCurrentWidget(fm)
    fm.chooser.combo.setCurrentText(layer)
    qtbot.wait(50)   # the grid lays itself out
    return fm


def _grid_equals(grid, values, padding=None) -> None:
    assert np.allclose(grid.values[~np.isnan(grid.values)], np.asarray(values, np.float64)[~np.isnan(grid.values)])
    if padding is not None:
        assert np.array_equal(grid.padding, padding)
        assert all(grid.texts[r][c] == "pad" for r, c in zip(*np.nonzero(padding)))


def _check_header(panel, e, ort_value: float) -> None:
    assert panel.value.text() == f"= {num(e.value)}"
    check = panel.check.text()
    assert f"ONNX Runtime returned: <b>{num(ort_value)}</b>" in check and "agree" in check
    assert abs(e.value - ort_value) <= 1e-4


def test_click_a_conv1_pixel_shows_its_arithmetic(shipped, qtbot):
    wb = shipped.workbench
    p, tab = wb.controller.predictor, wb.arithmetic
    fm = _show_layer(qtbot, wb, "conv1")
    open_unit(qtbot, fm, 5, 0, 0)   # a corner: the window hangs over the padding
    assert wb.inspector.currentWidget() is tab
    e = p.explain(wb.model_input, "conv1", 5, 0, 0)
    panel = tab.panel
    assert panel.title.text() == "conv1 · map 5 · row 0, col 0"
    _check_header(panel, e, float(wb.prediction.activations["conv1"][5, 0, 0]))
    t = e.terms
    row = panel.terms.rows[0]
    assert row.isVisibleTo(panel) and not panel.terms.bars.isVisibleTo(panel)   # one input channel: no bars
    _grid_equals(row.window, t.window[0], t.padding)
    assert row.window.padding[0].all() and row.window.padding[:, 0].all() and row.window.texts[0][0] == "pad"
    _grid_equals(row.kernel, t.kernel[0])
    _grid_equals(row.products, t.products[0])
    assert row.window.texts[1][1] == short(t.window[0, 1, 1])
    assert row.title.text() == f"Input channel 0: Σ products = {num(t.sums[0])}"
    assert _bias_and_total(t) in panel.terms.total.text()
    ops = [s.op for s in e.steps]   # the shipped model keeps batch norm as a step; a folded one has none
    assert ops in (["Relu"], ["BatchNormalization", "Relu"])
    assert all(step_text(step) in panel.steps_text.text() for step in e.steps)
    assert ("folded into this conv" in panel.notes.text()) == (ops == ["Relu"])
    assert tab.marks.unit == (0, 0, 0) and fm.marks.unit == (5, 0, 0)   # outlined where it was clicked


def test_click_a_conv3_pixel_many_channels_usefully(shipped, qtbot):
    wb = shipped.workbench
    p, tab = wb.controller.predictor, wb.arithmetic
    acts = wb.prediction.activations["conv3"]
    ch = int(np.argmax(acts.reshape(64, -1).max(axis=1)))
    r, c = (int(v) for v in np.unravel_index(int(np.argmax(acts[ch])), acts.shape[1:]))
    fm = _show_layer(qtbot, wb, "conv3")
    open_unit(qtbot, fm, ch, r, c)
    e = p.explain(wb.model_input, "conv3", ch, r, c)
    t, panel = e.terms, tab.panel
    assert panel.title.text() == f"conv3 · map {ch} · row {r}, col {c}"
    _check_header(panel, e, float(acts[ch, r, c]))
    # 64 per-channel sums as sorted bars, the three largest |sum| expanded with their grids
    assert panel.terms.bars.isVisibleTo(panel) and len(panel.terms.bars.values) == 64
    assert np.allclose(panel.terms.bars.values, np.sort(t.sums)[::-1])
    top = np.argsort(-np.abs(t.sums), kind="stable")[:3]
    for row, i in zip(panel.terms.rows, top):
        assert row.title.text().startswith(f"Input channel {t.channels[i]} (")
        assert row.title.text().endswith(f"Σ products = {num(t.sums[i])}")
        _grid_equals(row.window, t.window[i], t.padding)
        _grid_equals(row.kernel, t.kernel[i])
        _grid_equals(row.products, t.products[i])
    rest = float(t.sums.sum() - t.sums[top].sum())
    assert f"The other 61 channels add {num(rest)}" in panel.terms.total.text()
    assert f"Σ over 64 channels = {num(t.total)}{_bias_and_total(t)}" in panel.terms.total.text()
    # the pooling window it falls into, winner marked
    [w] = e.downstream
    grid = panel.downstream_grids[0]
    assert grid.isVisibleTo(panel) and grid.marks[w.winner] == "winner"
    _grid_equals(grid, w.window)
    # a bar click expands that channel first
    weakest = int(t.channels[np.argmin(np.abs(t.sums))])
    panel.terms.bars.chosen.emit(weakest)
    assert panel.terms.rows[0].title.text().startswith(f"Input channel {weakest} (your pick)")
    # the unit's receptive field is outlined on the input
    assert wb.input_view.outline == p.receptive_field("conv3", ch, r, c).box


def test_a_pooled_stage_is_checked_against_onnxruntime(shipped, qtbot):
    wb = shipped.workbench
    p, tab = wb.controller.predictor, wb.arithmetic
    wb.inspector.setCurrentWidget(tab)
    pool = next(s for s in p.stages() if s.title == "MaxPool 2")
    tab.combo.setCurrentIndex(tab.combo.findData(pool.name))
    tab.channel.setValue(9)
    qtbot.wait(50)
    click_unit(qtbot, tab.grid, 0, 3, 4)
    assert tab.stage == pool.name and tab.index == (9, 3, 4)
    e = p.explain(wb.model_input, pool.name, 9, 3, 4)
    assert e.terms.kind == "pool" and e.onnxruntime is None    # not a graph output...
    ort_value = wb.stepwise.probe.value(wb.model_input, pool.name, (9, 3, 4))
    _check_header(tab.panel, e, ort_value)                      # ...but the probe asks ONNX Runtime
    grid = tab.panel.terms.grid
    _grid_equals(grid, e.terms.window)
    assert grid.marks == {e.terms.winner: "winner"}
    wr, wc = e.terms.winner_position
    assert f"max = <b>{num(e.value)}</b>, at row {wr}, col {wc}" in tab.panel.terms.total.text()


def test_a_logit_lists_its_largest_contributions_and_leads_to_them(shipped, qtbot):
    wb = shipped.workbench
    p, tab = wb.controller.predictor, wb.arithmetic
    wb.inspector.setCurrentWidget(tab)
    tab.combo.setCurrentIndex(tab.combo.findData("logits"))
    qtbot.wait(50)
    j = wb.prediction.top
    click_unit(qtbot, tab.grid, 0, 0, j)    # ten logits shown in one row
    assert tab.index == (j,)
    e = p.explain(wb.model_input, "logits", j)
    panel = tab.panel
    assert panel.title.text() == f"logits [{j}] (class {p.classes[j]})"
    _check_header(panel, e, float(wb.prediction.logits[j]))
    top = e.terms.top(12)
    rows = panel.terms.contributions.rows
    assert [r[1:] for r in rows] == [(c.input, c.weight, c.product) for c in top]
    assert rows[0][0] == f"x[{top[0].index}]  ← MaxPool 3 {list(top[0].source[1])}"
    assert f"+ bias <b>{num(e.terms.bias)}</b> = <b>{num(e.value)}</b>" in panel.terms.total.text()
    # a contribution row leads to the unit it came from, and Back returns
    panel.terms.contributions.chosen.emit(0)
    assert (tab.stage, tab.index) == (top[0].source[0], top[0].source[1])
    assert panel.explanation.terms.kind == "pool"
    tab.back.click()
    assert (tab.stage, tab.index) == ("logits", (j,))
    # softmax: exp and normalisation with the numbers
    tab.show_unit("probs", (j,))
    s = tab.panel.explanation.terms
    assert f"{num(s.exps[j])} / {num(s.total)} = <b>{num(s.value)}</b>" in tab.panel.terms.total.text()
    assert num(s.exps[j]) in tab.panel.terms.table.text()
    _check_header(tab.panel, tab.panel.explanation, float(wb.prediction.probs[j]))


def test_hover_outlines_the_receptive_field_and_names_the_value(shipped, qtbot):
    wb = shipped.workbench
    p = wb.controller.predictor
    fm = _show_layer(qtbot, wb, "conv3")
    hover_unit(qtbot, fm.grid, 2, 6, 7)
    qtbot.waitUntil(lambda: wb.input_view.outline is not None, timeout=2000)
    field = p.receptive_field("conv3", 2, 6, 7)
    assert wb.input_view.outline == field.box
    top, left, bottom, right = field.box
    assert (bottom - top + 1, right - left + 1) == (12, 12)   # 3x3 convs and a 2x2 pool: 12x12 at conv3
    value = wb.prediction.activations["conv3"][2, 6, 7]
    assert QToolTip.text().startswith(f"conv3 · map 2 · row 6, col 7 = {value:.4g}")
    fm.grid._hover_at(None)    # the pointer leaves the maps
    assert wb.input_view.outline is None


def test_honest_maps_dim_what_feeds_nothing(floor_pooled_model, qtbot):
    w = open_window(qtbot, floor_pooled_model)
    draw(w.workbench.canvas, seven(w.workbench.canvas.width()))
    wb = w.workbench
    fm = _show_layer(qtbot, wb, "conv4")     # 7x7 max-pooled 2x2: row 6 and column 6 are never read
    assert fm.marks.used is not None and fm.honest.isVisibleTo(fm)
    assert "Row 6 and column 6 feed nothing" in fm.honest.text()
    overlay = fm.marks._overlay.image
    assert overlay[6, 0, 3] > 0 and overlay[0, 6, 3] > 0 and overlay[5, 5, 3] == 0   # tile 0's dimmed edge
    hover_unit(qtbot, fm.grid, 1, 6, 2)
    qtbot.waitUntil(lambda: "Dimmed: Row 6 and column 6 feed nothing" in QToolTip.text(), timeout=2000)
    fm = _show_layer(qtbot, wb, "conv3")
    assert fm.marks.used is None and not fm.honest.isVisibleTo(fm)


def test_explanation_follows_the_drawing_only_when_shown(shipped, qtbot, monkeypatch):
    wb = shipped.workbench
    p, tab = wb.controller.predictor, wb.arithmetic
    calls = []
    explain = p.explain
    monkeypatch.setattr(p, "explain", lambda *a, **k: calls.append(1) or explain(*a, **k))
    fm = _show_layer(qtbot, wb, "conv2")
    open_unit(qtbot, fm, 0, 7, 7)
    first_input = wb.model_input.copy()
    assert len(calls) == 1
    wb.inspector.setCurrentWidget(fm)          # hidden: drawing does not recompute it
    wb.canvas.draw_stroke([(120, 200), (300, 210)])
    wb.canvas.draw_stroke([(130, 260), (290, 250)])
    qtbot.wait(250)
    assert len(calls) == 1
    wb.inspector.setCurrentWidget(tab)         # shown again: brought up to date at once
    assert len(calls) == 2
    wb.canvas.draw_stroke([(100, 100), (300, 330)])
    qtbot.waitUntil(lambda: len(calls) == 3, timeout=2000)   # shown: follows the drawing (throttled)
    e = explain(wb.model_input, "conv2", 0, 7, 7)
    assert not np.array_equal(first_input, wb.model_input)
    assert tab.panel.explanation.value == e.value and tab.panel.value.text() == f"= {num(e.value)}"
    assert np.array_equal(tab.panel.terms.rows[0].window.values, e.terms.window[np.argsort(-np.abs(e.terms.sums),
                                                                                    kind="stable")[0]])


def _bias_and_total(t) -> str:
    """How the panel ends a conv's sum: with its bias, or saying it has none (batch norm kept)."""
    bias = f" + bias <b>{num(t.bias)}</b>" if t.has_bias else " (this conv has no bias)"
    return f"{bias} = <b>{num(t.value)}</b>"


def test_shapes_and_what_if_in_the_model_tab(shipped, qtbot):
    wb = shipped.workbench
    sv = wb.shapes_view
    wb.inspector.setCurrentIndex(wb.inspector.count() - 1)
    qtbot.waitUntil(lambda: sv.table.rowCount() > 0, timeout=2000)
    titles = [sv.table.item(r, 0).text() for r in range(sv.table.rowCount())]
    conv1 = titles.index("conv1 · Conv")
    assert sv.table.item(conv1, 1).text() == "32×28×28" and "(K, P, S: 3, 1, 1)" in sv.table.item(conv1, 0).toolTip()
    assert sv.table.item(conv1, 2).text() == "(28 - 3 + 2·1) / 1 + 1 = 28"
    has_bias = wb.controller.predictor.explain(wb.model_input, "conv1", 0, 0, 0).terms.has_bias
    assert sv.table.item(conv1, 3).text() == str(32 * 9 + (32 if has_bias else 0))
    last_pool = sv.table.item(titles.index("MaxPool 3"), 2).text()   # 7x7 pooled 2x2, ceil mode: 4
    assert last_pool.endswith("= 3.5 → 4 (rounded up: ceil mode)"), last_pool
    shapes = wb.controller.predictor.shapes()
    assert titles[-1] == "Total" and sv.table.item(len(titles) - 1, 3).text() == f"{shapes.params:,}"
    assert [b[0] for b in sv.diagram.blocks][:3] == ["input", "conv1 · Conv", "MaxPool 1"]
    # what if: the shapes follow, invalid settings are explained in words
    first = sv.rows[0]
    first["k"].setValue(40)
    assert "The kernel (40) is larger than the padded input (28 + 2 = 30)" in first["result"].text()
    assert "Follows a layer that cannot run." in sv.rows[1]["result"].text()
    assert "cannot run" in sv.after.text()
    first["k"].setValue(3)
    pool3 = sv.rows[-1]
    assert pool3["ceil"].isChecked()              # the shipped model's last pool rounds up
    pool3["ceil"].setChecked(False)
    assert "128×3×3" in pool3["result"].text() and "1,152" in sv.after.text() and "2,048" in sv.after.text()
    sv.input_size.setValue(0)
    assert "The input size must be at least 1 (it is 0)." in first["result"].text()
    sv.reset.click()
    assert sv.input_size.value() == 28 and "2,048" in sv.after.text() and "dense layer reads" not in sv.after.text()


def test_batch_norm_with_the_layers_own_values(qtbot, tmp_path):
    w = open_window(qtbot, make_bn_model(tmp_path / "bn.onnx"))
    wb = w.workbench
    draw(wb.canvas, seven(wb.canvas.width()))
    fm = _show_layer(qtbot, wb, "conv2")
    open_unit(qtbot, fm, 3, 4, 5)
    e = wb.controller.predictor.explain(wb.model_input, "conv2", 3, 4, 5)
    assert [s.op for s in e.steps] == ["BatchNormalization", "Relu"]
    steps = wb.arithmetic.panel.steps_text.text()
    assert "(x - mean) / sqrt(var + eps) * gamma + beta" in steps
    assert step_text(e.steps[0]) in steps and step_text(e.steps[1]) in steps
    bn = e.steps[0]
    for key in ("mean", "var", "gamma", "beta"):   # the layer's own values, as the file stores them
        v = bn.terms[key]
        assert (num(v) if v >= 0 else f"({num(v)})") in steps
    assert not wb.arithmetic.panel.notes.isVisibleTo(wb.arithmetic.panel)   # nothing folded here
    _check_header(wb.arithmetic.panel, e, float(wb.prediction.activations["conv2"][3, 4, 5]))
    w.close()


def test_a_model_without_metadata(qtbot, tmp_path):
    """No layer names, no act:* outputs: its conv layers are found in the graph, and every stage is explained."""
    w = open_window(qtbot, make_foreign_model(tmp_path / "foreign.onnx"))
    wb = w.workbench
    p, tab = wb.controller.predictor, wb.arithmetic
    draw(wb.canvas, seven(wb.canvas.width()))
    assert p.metadata is None and p.layers == ["conv1", "conv2"] and wb.stepwise.ready
    wb.inspector.setCurrentWidget(tab)
    relu = next(s for s in p.stages() if s.op == "Relu")
    assert tab.combo.findData(relu.name) >= 0 and tab.combo.count() == len(p.stages())
    tab.combo.setCurrentIndex(tab.combo.findData(relu.name))
    qtbot.wait(50)
    click_unit(qtbot, tab.grid, 0, 10, 12)
    e = p.explain(wb.model_input, relu.name, tab.index[0], 10, 12)
    assert tab.panel.explanation.terms.kind == "conv"
    _check_header(tab.panel, e, wb.stepwise.probe.value(wb.model_input, relu.name, tab.index))
    wb.inspector.setCurrentIndex(wb.inspector.count() - 1)
    qtbot.waitUntil(lambda: wb.shapes_view.table.rowCount() == len(p.stages()) + 1, timeout=2000)
    w.close()


def test_a_model_that_cannot_be_computed_step_by_step_says_why(qtbot, tmp_path):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes = [helper.make_node("LRN", ["image"], ["n"], size=3), helper.make_node("Flatten", ["n"], ["f"]),
             helper.make_node("MatMul", ["f", "w"], ["logits"])]
    graph = helper.make_graph(nodes, "lrn", [helper.make_tensor_value_info("image", TensorProto.FLOAT,
                                                                           ["N", 1, 28, 28])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])],
                              [numpy_helper.from_array(np.ones((784, 10), np.float32) / 784, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(tmp_path / "lrn.onnx"))
    w = open_window(qtbot, tmp_path / "lrn.onnx")
    wb = w.workbench
    draw(wb.canvas, seven(wb.canvas.width()))
    reason = wb.controller.predictor.explain_unavailable
    assert reason and "LRN" in reason and wb.stepwise.reason == reason
    wb.inspector.setCurrentWidget(wb.arithmetic)
    assert wb.arithmetic.panel.message.text() == reason and not wb.arithmetic.combo.isEnabled()
    assert wb.prediction is not None                  # predictions still work
    wb.inspector.setCurrentIndex(wb.inspector.count() - 1)
    assert wb.shapes_view.status.text() == reason
    w.close()
