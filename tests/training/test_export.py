"""The exported file honours the model file contract and agrees with PyTorch."""
import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from digitpad.core import contract
from training import export, models


@pytest.fixture(scope="module")
def exported(tmp_path_factory, mnist_dir):
    from training.data import load

    torch.manual_seed(0)
    net = models.build("seed002").eval()
    _, test = load("mnist", mnist_dir)
    out = tmp_path_factory.mktemp("exp") / "m.onnx"
    meta = export.export(net, out, arch="seed002", dataset="mnist", metrics={"test_accuracy": 0.1},
                         training={"config": {"arch": "seed002"}}, parity_images=test.images[:3000])
    return net, out, meta, test


def test_contract_names_and_metadata(exported):
    net, out, meta, _ = exported
    proto = onnx.load(out)
    onnx.checker.check_model(proto)
    assert [i.name for i in proto.graph.input] == ["image"]
    assert [o.name for o in proto.graph.output] == ["logits", "probs", "act:conv1", "act:conv2"]
    props = {p.key: p.value for p in proto.metadata_props}
    md = contract.ModelMetadata.from_json(props["digitpad"])
    assert md.arch == "seed002" and md.classes == [str(d) for d in range(10)]
    assert [layer.output for layer in md.layers] == ["act:conv1", "act:conv2"]
    inits = {i.name: list(i.dims) for i in proto.graph.initializer}
    assert inits[md.layers[0].kernel] == [16, 1, 5, 5]
    assert inits[md.layers[1].kernel] == [32, 16, 5, 5]
    assert md.training["versions"]["torch"] == torch.__version__
    assert md.created


def test_parity_written_and_within_target(exported):
    _, _, meta, _ = exported
    assert meta["metrics"]["parity_top1_agreement"] == 1.0
    assert meta["metrics"]["parity_max_prob_diff"] <= 1e-4
    assert meta["metrics"]["parity_images"] == 3000


def test_dynamic_batch_and_activation_shapes_match_torch(exported):
    net, out, _, test = exported
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    for n in (1, 7):
        x = test.images[:n].astype(np.float32)[:, None] / 255
        logits, probs, a1, a2 = sess.run(None, {"image": x})
        assert probs.shape == (n, 10) and a1.shape == (n, 16, 28, 28) and a2.shape == (n, 32, 14, 14)
        np.testing.assert_allclose(probs.sum(1), 1, atol=1e-5)
        with torch.no_grad():
            t_logits, t_acts = net.forward_with_activations(torch.from_numpy(x))
        np.testing.assert_allclose(logits, t_logits.numpy(), atol=1e-4)
        np.testing.assert_allclose(a2, t_acts[1].numpy(), atol=1e-4)


def test_unwritable_output_leaves_nothing(tmp_path):
    from training.errors import TrainError

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(TrainError, match="cannot write"):
        export.export(models.build("seed001"), blocker / "m.onnx", arch="seed001", dataset="mnist",
                      metrics={}, training={})
    assert list(tmp_path.iterdir()) == [blocker]
