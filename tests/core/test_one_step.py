"""One SGD step on one image: the new weights, the stepped model in ONNX Runtime and the NumPy forward pass,
the rest of the test set, and saving it (only when asked)."""
from __future__ import annotations

import numpy as np
import pytest

from digitpad.core import paths
from digitpad.core.evaluation import load_test_set
from digitpad.core.inference import Predictor
from digitpad.core.modelfile import ModelLoadError
from digitpad.core.one_step import sample_change, sample_indices, save, take_step


@pytest.fixture(scope="module")
def shipped():
    return Predictor(paths.shipped_model_path())


@pytest.fixture(scope="module")
def test_set(mnist_dir):
    return load_test_set(mnist_dir, "mnist")


def digit(test_set, i: int) -> np.ndarray:
    return (test_set.images[i].astype(np.float32) / 255)[None, None]


def test_a_step_moves_the_learnt_weights_down_their_gradient_and_nothing_else(shipped, test_set, tmp_path):
    x = digit(test_set, 7)
    before = {k: v.copy() for k, v in shipped.network.constants.items()}
    step = take_step(shipped, x, 3, 0.01)
    g = step.gradients
    assert set(step.new) == set(g.learnt) and "net.blocks.conv1.bn.running_mean" not in step.new
    for name, w in step.new.items():
        np.testing.assert_array_equal(w, (before[name] - np.float32(0.01) * g.initializers[name]).astype(np.float32))
    after = step.predictor.network.constants
    for name in shipped.network.initializers:
        if name not in step.new:
            np.testing.assert_array_equal(after[name], before[name])   # running statistics, normalisation
    for name, w in shipped.network.constants.items():
        np.testing.assert_array_equal(w, before[name])                 # the model in use is untouched
    # the stepped model, in ONNX Runtime and in the NumPy forward pass
    probs_np = step.predictor.network.run(x)["probs"][0]
    np.testing.assert_allclose(step.probs, probs_np, atol=1e-4)
    assert step.kernels("conv1")[1].shape == shipped.kernels("conv1").shape
    np.testing.assert_array_equal(step.kernels("conv1")[0], shipped.kernels("conv1"))
    assert not np.array_equal(step.kernels("conv1")[1], shipped.kernels("conv1"))
    assert not paths.models_dir().exists() or not any(paths.models_dir().iterdir())   # nothing saved


def test_a_small_step_lowers_the_loss_as_the_gradient_predicts(shipped, test_set):
    """To first order, L(w - lr g) = L(w) - lr |g|^2: checked on a tiny step."""
    x = digit(test_set, 11)
    lr = 1e-5
    step = take_step(shipped, x, 5, lr)
    g = step.gradients
    predicted = lr * sum(float(np.square(g.initializers[n], dtype=np.float64).sum()) for n in g.learnt)
    assert step.loss < g.loss
    assert g.loss - step.loss == pytest.approx(predicted, rel=0.05)


def test_steps_chain_and_a_huge_one_is_refused(shipped, test_set):
    x = digit(test_set, 3)
    first = take_step(shipped, x, 2, 0.005)
    second = take_step(shipped, x, 2, 0.005, previous=first)
    assert (second.number, second.origin, second.before) == (2, shipped, first.predictor)
    assert second.loss < first.loss < first.gradients.loss
    with pytest.raises(ModelLoadError, match="smaller"):
        take_step(shipped, x, 2, 1e38)
    with pytest.raises(ValueError):
        take_step(shipped, x, 2, -0.1)


def test_the_rest_of_the_test_set(shipped, test_set):
    idx = sample_indices(len(test_set), 1000)
    assert len(idx) == 1000 and idx[0] == 0 and idx[-1] == len(test_set) - 1
    assert set(np.asarray(test_set.labels)[idx]) == set(range(10))
    same = sample_change(shipped, shipped, test_set.images, test_set.labels, n=300)
    assert same.changed == 0 and same.correct_before == same.correct_after and same.images == 300
    assert same.accuracy_before > 0.97
    big = take_step(shipped, digit(test_set, 7), 3, 0.3)   # a large step towards "3" for a 9: the set suffers
    change = sample_change(shipped, big.predictor, test_set.images, test_set.labels, n=300)
    assert change.changed > 0 and change.accuracy_after < change.accuracy_before
    assert sample_change(shipped, big.predictor, test_set.images, test_set.labels, cancelled=lambda: True) is None


def test_saving_writes_a_new_model_beside_the_users_models(shipped, test_set, tmp_path):
    x = digit(test_set, 7)
    step = take_step(shipped, x, 3, 0.01)
    change = sample_change(shipped, step.predictor, test_set.images, test_set.labels, n=200)
    first = save(step, tmp_path, change)
    again = save(step, tmp_path)
    assert first.name == "default-step1.onnx" and again.name == "default-step1-2.onnx"   # never over a file
    saved = Predictor(first)
    np.testing.assert_allclose(saved.predict(x).probs, step.probs, atol=1e-6)
    t = saved.metadata.training
    assert t["step"]["label"] == 3 and t["step"]["learning_rate"] == 0.01 and t["run_id"] is None
    assert t["parent"]["run_id"] == shipped.metadata.training["run_id"]
    assert saved.metadata.metrics == {"sample_accuracy": change.accuracy_after, "sample_images": 200}
    assert saved.layers == shipped.layers
