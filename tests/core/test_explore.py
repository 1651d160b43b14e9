"""Explore (core.explore): the test-set map laid out from the last hidden layer and new inputs placed in
it, the images each filter responds to, where two models disagree; cached per model file; every kind of
model through the input seam."""
from __future__ import annotations

import numpy as np
import pytest
from model_factory import make_colour_model, make_fashion_model, make_foreign_model, make_model

from digitpad.core import paths
from digitpad.core.evaluation import load_test_set
from digitpad.core.explore import (
    EMBEDDING,
    PCA,
    TestSetMap,
    disagreements,
    graph,
    layer_responses,
    layout,
    passes,
    top_activating,
)
from digitpad.core.explore import cache as explore_cache
from digitpad.core.inference import Predictor

SHIPPED = paths.shipped_model_path()


@pytest.fixture(scope="module")
def shipped():
    return Predictor(SHIPPED)


@pytest.fixture(scope="module")
def mnist(mnist_dir):
    return load_test_set(mnist_dir, "mnist")


def _among_own_class(m: TestSetMap, position: np.ndarray, label: int) -> bool:
    """The map's ten points nearest ``position`` mostly (6 or more) share ``label``."""
    return int((m.labels[m.nearest_points(position, 10)] == label).sum()) > 5


def test_a_placed_test_image_lands_among_its_own_class(shipped, mnist):
    """The issue's target (>= 80 %) on a real subset: the map made from 2,000 MNIST test digits, 300 other
    test digits (never in the map) placed in it, and 300 of the map's own."""
    rng = np.random.default_rng(0)
    order = rng.permutation(len(mnist))
    inside, outside = order[:2000], order[2000:2300]
    m = TestSetMap(shipped, mnist.images[inside], mnist.labels[inside], cache_results=False)
    assert m.method == EMBEDDING and m.points.shape == (2000, 2) and np.isfinite(m.points).all()
    assert m.feature == "/head/head.0/Flatten_output_0"          # the final Gemm's input: conv4 pooled, flat
    held_out = np.mean([_among_own_class(m, m.place(shipped.input.from_rows(mnist.images[i:i + 1])),
                                         mnist.labels[i]) for i in outside])
    own = np.mean([_among_own_class(m, m.place(shipped.input.from_rows(mnist.images[i:i + 1])), mnist.labels[i])
                   for i in inside[:300]])
    assert held_out >= 0.9 and own >= 0.9, (held_out, own)
    # The model's answers come with the map: the shipped model gets almost all of them right.
    assert (m.predicted == m.labels).mean() > 0.98 and (m.confidence <= 1).all()


def test_the_pca_layout_comes_first_and_the_finished_one_is_cached(random_model, mnist, monkeypatch):
    p = Predictor(random_model)
    images, labels = mnist.images[:300], mnist.labels[:300]
    first = TestSetMap.first(p, images, labels)
    assert first.method == PCA and not first.final and first.points.shape == (300, 2)
    done = first.refined()
    assert done.final and done.method == EMBEDDING and not np.allclose(done.points, first.points)
    files = list(explore_cache.folder().glob("map-*.npz"))
    assert len(files) == 1 and files[0].parent.parent == paths.cache_dir()

    def no_pass(*_a, **_k):
        raise AssertionError("the model was run again")
    monkeypatch.setattr("digitpad.core.explore.testset_map.run_over", no_pass)
    again = TestSetMap(p, images, labels)
    assert again.final and np.array_equal(again.points, done.points)
    assert np.allclose(again.place(p.input.from_rows(images[:1])), done.place(p.input.from_rows(images[:1])))
    monkeypatch.undo()
    # Checked on read: other labels, a damaged file, another model file: made again, never an error.
    other = TestSetMap.first(p, images, (labels + 1) % 10)
    assert not other.final
    files[0].write_bytes(b"PK\x03\x04 not a real archive")
    assert not TestSetMap.first(p, images, labels).final


def test_the_cache_is_per_model_file_content(tmp_path, mnist):
    a = Predictor(make_model(tmp_path / "a.onnx", seed=1))
    b = Predictor(make_model(tmp_path / "b.onnx", seed=2))
    images, labels = mnist.images[:120], mnist.labels[:120]
    TestSetMap(a, images, labels)
    assert not TestSetMap.first(b, images, labels).final          # b's file is another: its own map
    TestSetMap(b, images, labels)
    assert len(list(explore_cache.folder().glob("map-*.npz"))) == 2


def test_the_last_hidden_layer_is_found_from_the_graph(tmp_path, shipped):
    import onnx

    small = Predictor(make_model(tmp_path / "m.onnx"))
    assert graph.find_hidden(small, graph.model_bytes(small)) == "flat"     # Reshape -> MatMul -> Add
    assert graph.find_hidden(shipped, graph.model_bytes(shipped)) == "/head/head.0/Flatten_output_0"
    g = onnx.load(str(tmp_path / "m.onnx")).graph
    assert graph.hidden_tensor(g, "probs") == "flat"                          # through the Softmax too
    assert graph.hidden_tensor(g, "act:conv1") is None                        # no dense layer on that path


def test_a_changed_file_is_refused(tmp_path, mnist):
    path = make_model(tmp_path / "m.onnx", seed=1)
    p = Predictor(path)
    make_model(path, seed=2)
    with pytest.raises(graph.ModelChanged, match="changed on disk"):
        TestSetMap(p, mnist.images[:20], mnist.labels[:20])


def test_top_activating_is_strongest_first_with_the_least_and_patches(random_model, mnist):
    p = Predictor(random_model)
    images = mnist.images[:200]
    x = p.input.from_rows(images)
    acts = np.stack([p.predict(x[i:i + 1]).activations["conv1"] for i in range(len(x))])   # [N, C, H, W]
    peaks = acts.reshape(len(x), acts.shape[1], -1).max(axis=2)
    top = top_activating(p, images, "conv1", 2, k=5)
    assert list(top) == list(np.argsort(-peaks[:, 2], kind="stable")[:5]) and len(top) == 5
    assert np.allclose(top.values, peaks[top.indices, 2], atol=1e-5)
    assert (np.diff(top.values) <= 0).all() and (np.diff(top.least_values) >= 0).all()
    assert np.allclose(top.least_values, np.sort(peaks[:, 2])[:5], atol=1e-5)
    for i, (row, col) in zip(top.indices, top.units):
        assert acts[i, 2, row, col] == pytest.approx(peaks[i, 2], abs=1e-5)     # the unit is the strongest one
    field = top.patches[0]
    expected = p.receptive_field("conv1", 2, *top.units[0])
    assert field.box == expected.box and np.array_equal(field.mask, expected.mask)
    assert top.silent == int((peaks[:, 2] <= 0).sum())
    with pytest.raises(ValueError, match="no layer"):
        top_activating(p, images, "conv9", 0)


def test_responses_are_one_pass_for_every_layer_and_cached(random_model, mnist, monkeypatch):
    p = Predictor(random_model)
    images = mnist.images[:100]
    calls = []
    real = passes.session_with

    def counted(*a, **k):
        calls.append(a[1])
        return real(*a, **k)
    monkeypatch.setattr(passes, "session_with", counted)
    found = layer_responses(p, images)
    assert set(found) == {"conv1", "conv2"} and len(calls) == 1
    assert found["conv2"].peaks.shape == (100, 8)
    again = layer_responses(p, images)
    assert len(calls) == 1 and np.array_equal(again["conv1"].where, found["conv1"].where)


@pytest.mark.parametrize("kind", ["digits", "8x8", "fashion", "colour", "foreign"])
def test_every_kind_of_model_through_the_input_seam(kind, tmp_path):
    """Maps and responses on each kind of input: data-set rows (uint8) made canonical by the model's adapter."""
    rng = np.random.default_rng(3)
    if kind == "digits":
        p = Predictor(make_model(tmp_path / "d.onnx"))
    elif kind == "8x8":
        p = Predictor(make_model(tmp_path / "e.onnx", dataset="optdigits", input_shape=("N", 1, 8, 8)))
    elif kind == "fashion":
        p = Predictor(make_fashion_model(tmp_path / "f.onnx"))
    elif kind == "colour":
        p = Predictor(make_colour_model(tmp_path / "c.onnx"))
    else:
        p = Predictor(make_foreign_model(tmp_path / "x.onnx"))
    c, s, _ = p.input_shape
    scale = 16 if kind == "8x8" else 255
    rows = rng.integers(0, scale + 1, (60, s, s) if c == 1 else (60, c, s, s)).astype(np.uint8)
    labels = rng.integers(0, 10, 60)
    m = TestSetMap(p, rows, labels, full_scale=scale)
    assert m.points.shape == (60, 2) and np.isfinite(m.points).all()
    x = p.input.from_rows(rows[7:8], scale)
    at = m.locate(x, k=5)
    assert at.position.shape == (2,) and at.nearest[0] == 7          # its own image is the nearest
    # The same images as canonical floats: the same features, so the same map.
    assert np.allclose(TestSetMap(p, p.input.from_rows(rows, scale), labels, cache_results=False).points, m.points,
                       atol=1e-3)
    top = top_activating(p, rows, p.layers[0], 0, k=3, full_scale=scale)
    assert len(top) == 3 and top.units[0][0] >= 0


def test_placement_is_fast_enough_to_follow_the_pen():
    """10,000 reduced vectors: the neighbours and the weighted place of one new vector in a few ms (the
    issue's bound is 5 ms with the model's run; benchmarks/bench_explore.py measures it)."""
    rng = np.random.default_rng(0)
    placer = layout.Placer(rng.standard_normal((10_000, 50)).astype(np.float32),
                           rng.standard_normal((10_000, 2)).astype(np.float32))
    z = placer.vectors[123] + 1e-3
    pos, near = placer.place(z, k=10)
    assert near[0] == 123 and len(near) == 10 and pos.shape == (2,)
    d = np.linalg.norm(placer.vectors - z, axis=1)
    assert set(near) == set(np.argsort(d)[:10])


def test_the_layout_keeps_neighbours_together():
    """Three well-separated clusters in 20-D come out as three clusters in 2-D."""
    rng = np.random.default_rng(1)
    centres = rng.standard_normal((3, 20)) * 10
    labels = np.repeat(np.arange(3), 100)
    feats = (centres[labels] + rng.standard_normal((300, 20))).astype(np.float32)
    reduced = layout.reduce(feats)
    points = layout.layout(reduced, layout.pca_layout(reduced))
    placer = layout.Placer(points, points)
    same = [np.mean(labels[placer.neighbours(points[i], 11)[0][1:]] == labels[i]) for i in range(300)]
    assert np.mean(same) > 0.95
    assert np.array_equal(points, layout.layout(reduced, layout.pca_layout(reduced)))   # seeded: the same map


def test_disagreements_come_surest_first():
    probs_a = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [0.99, 0.01]], np.float32)
    probs_b = np.array([[0.1, 0.9], [0.45, 0.55], [0.3, 0.7], [0.02, 0.98]], np.float32)
    labels = np.array([0, 1, 1, 1])
    d = disagreements(probs_a, probs_b, labels)
    assert list(d.indices) == [3, 0, 1]          # both surest first: min(0.99, 0.98), min(0.9, 0.9), 0.55
    assert list(d.first) == [0, 0, 0] and list(d.second) == [1, 1, 1]
    assert (d.first_right, d.second_right, d.total) == (1, 2, 4)
    assert list(d.sorted_by("first").indices) == [3, 0, 1] and list(d.sorted_by("second").indices) == [3, 0, 1]
    assert list(d.sorted_by("second").second_confidence) == pytest.approx([0.98, 0.9, 0.55])
