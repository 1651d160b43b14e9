"""The exported file honours the model file contract and agrees with PyTorch."""
import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from digitpad.core import archs, contract
from training import export, models
from training.errors import TrainError


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


# -- batch norm stays visible (issue 11): the app shows its arithmetic with the layer's own numbers --------
@pytest.fixture(scope="module")
def bn_net():
    """seed002 with batch-norm statistics and affine parameters far from their defaults."""
    torch.manual_seed(1)
    net = models.build("seed002")
    with torch.no_grad():
        for block in net.blocks.values():
            bn = block.bn
            bn.running_mean.uniform_(-1, 1)
            bn.running_var.uniform_(0.5, 2)
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.5, 0.5)
    return net.eval()


@pytest.mark.parametrize("exporter", ["torchscript", "dynamo"])
def test_batch_norm_is_a_node_with_the_layers_own_numbers(bn_net, exporter, tmp_path):
    from onnx import numpy_helper

    out = tmp_path / "bn.onnx"
    meta = export.export(bn_net, out, arch="seed002", dataset="mnist", metrics={}, training={}, exporter=exporter)
    assert meta["training"]["exporter"] == exporter
    proto = onnx.load(out)
    inits = {i.name: numpy_helper.to_array(i) for i in proto.graph.initializer}
    nodes = list(proto.graph.node)
    producer = {o: n for n in nodes for o in n.output}
    bns = [n for n in nodes if n.op_type == "BatchNormalization"]
    assert len(bns) == 2
    for layer, bn_node in zip(meta["layers"], bns):
        block = bn_net.blocks[layer["name"]]
        conv = producer[bn_node.input[0]]
        assert conv.op_type == "Conv" and conv.input[1] == layer["kernel"]
        # The conv keeps its own weights (not BN-folded) and BN its own statistics and affine parameters.
        np.testing.assert_array_equal(inits[layer["kernel"]], block.conv.weight.detach().numpy())
        for name, ref in zip(bn_node.input[1:], (block.bn.weight, block.bn.bias, block.bn.running_mean,
                                                  block.bn.running_var)):
            np.testing.assert_array_equal(inits[name], ref.detach().numpy())
        eps = next(onnx.helper.get_attribute_value(a) for a in bn_node.attribute if a.name == "epsilon")
        assert eps == pytest.approx(block.bn.eps)
    # The activation outputs are still the post-ReLU maps, and ORT agrees with PyTorch.
    x = np.random.default_rng(0).random((3, 1, 28, 28), dtype=np.float32)
    logits, _, a1, a2 = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(None, {"image": x})
    with torch.no_grad():
        t_logits, (t1, t2) = bn_net.forward_with_activations(torch.from_numpy(x))
    np.testing.assert_allclose(a1, t1.numpy(), atol=1e-4)
    np.testing.assert_allclose(a2, t2.numpy(), atol=1e-4)
    np.testing.assert_allclose(logits, t_logits.numpy(), atol=1e-4)


@pytest.mark.parametrize("arch", list(models.ARCHS))
def test_every_arch_exports_with_its_kernels_named(arch, tmp_path):
    net = models.build(arch).eval()
    dataset = next(d for d in contract.DATASET_INPUTS if archs.ARCHS[arch].fits(d))
    meta = export.export(net, tmp_path / f"{arch}.onnx", arch=arch, dataset=dataset, metrics={}, training={})
    inits = {i.name: list(i.dims) for i in onnx.load(tmp_path / f"{arch}.onnx").graph.initializer}
    # Each layer's kernel is its block's first conv (a residual pair has two; the first reads the layer before).
    convs = [next(m for m in net.blocks[name].modules() if isinstance(m, torch.nn.Conv2d)) for name in net.layer_names]
    assert [inits[layer["kernel"]] for layer in meta["layers"]] == [list(c.weight.shape) for c in convs]
    assert meta["metrics"]["parity_max_prob_diff"] <= 1e-4 and meta["metrics"]["parity_nonfinite_images"] == 0
    assert meta["input"] == contract.DATASET_INPUTS[dataset].to_dict()


def test_a_net_is_not_exported_as_a_model_of_other_images(tmp_path):
    with pytest.raises(TrainError, match="takes 3x32x32 images cannot be exported as a mnist model"):
        export.export(models.build("seed003"), tmp_path / "m.onnx", arch="seed003", dataset="mnist", metrics={},
                      training={})
    assert not (tmp_path / "m.onnx").exists()


def test_onnx_runtime_fuses_the_kept_batch_norm_when_it_loads(bn_net, tmp_path):
    """Keeping BN visible costs no inference speed: ORT folds it into the conv at load time."""
    out = tmp_path / "bn.onnx"
    export.export(bn_net, out, arch="seed002", dataset="mnist", metrics={}, training={})
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(tmp_path / "optimized.onnx")
    ort.InferenceSession(str(out), options, providers=["CPUExecutionProvider"])
    ops = [n.op_type for n in onnx.load(options.optimized_model_filepath).graph.node]
    assert "BatchNormalization" in [n.op_type for n in onnx.load(out).graph.node]
    assert "BatchNormalization" not in ops and ops.count("Conv") + ops.count("FusedConv") == 2, ops
