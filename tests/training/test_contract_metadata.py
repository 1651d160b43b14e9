"""ModelMetadata.from_json: every field's JSON type and range is checked; a bad file is a
ValueError with a reason, never a TypeError (the app must always start).

Fuzzer-style: every value at every path of a real engine-written metadata document is
replaced by values of every other JSON type, and each result is parsed."""
import json
import math

import pytest

from digitpad.core import contract, library
from digitpad.core.contract import ModelMetadata

# What digitpad-train writes (trimmed history), so the mutations start from the real shape.
GOOD = {
    "format": 1, "arch": "seed001", "dataset": "mnist", "classes": [str(d) for d in range(10)],
    "input": {"size": 28, "polarity": "white-on-black", "range": [0.0, 1.0]},
    "layers": [{"name": "conv1", "kind": "conv", "output": "act:conv1", "kernel": "net.blocks.conv1.conv.weight"},
               {"name": "conv2", "kind": "conv", "output": "act:conv2", "kernel": None}],
    "metrics": {"test_accuracy": 0.98, "test_loss": 0.06, "parity_top1_agreement": 1.0, "parity_images": 10000},
    "training": {"config": {"arch": "seed001", "epochs": 1}, "device": "cpu", "seconds": 12.5, "epochs_run": 1,
                 "history": [{"epoch": 1, "test_accuracy": 0.98}], "versions": {"torch": "2.15.0"},
                 "run_id": "0" * 32, "weights_sha256": "a" * 64, "warnings": [], "partial": False},
    "created": "2025-01-02T03:04:05+00:00",
}

WRONG_VALUES = [None, True, False, 0, -1, 7, 2.5, -1e9, "", "x", [], [1], ["a"], {}, {"a": 1}, [[]], [{}]]


def paths(node, prefix=()):
    """Every path into the document (object keys and array indexes), parents before children."""
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from paths(v, prefix + (i,))


def mutated(path, value):
    doc = json.loads(json.dumps(GOOD))
    if not path:
        return value
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return doc


def parse(doc) -> ModelMetadata | None:
    """Parse; a ValueError is a clean refusal (None). Anything else fails the test. What is
    accepted must also be usable by the app's readers and written back."""
    try:
        meta = ModelMetadata.from_json(json.dumps(doc))
    except ValueError as e:
        assert str(e) and "\n" not in str(e)
        return None
    library.summary_lines(meta)
    ModelMetadata.from_json(meta.to_json())
    return meta


def test_good_document_parses():
    meta = parse(GOOD)
    assert meta.arch == "seed001" and [la.kernel for la in meta.layers] == ["net.blocks.conv1.conv.weight", None]
    assert meta.training["weights_sha256"] == "a" * 64


@pytest.mark.parametrize("path", list(paths(GOOD)), ids=lambda p: ".".join(map(str, p)) or "root")
def test_every_field_with_every_wrong_type_is_a_value_error_or_fine(path):
    for value in WRONG_VALUES:
        parse(mutated(path, value))


# Fields whose type the contract fixes: a value of another JSON type must be refused.
TYPED = {
    ("format",): "integer", ("arch",): "string", ("dataset",): "string", ("created",): "string",
    ("classes",): "array", ("classes", 3): "string", ("input",): "object", ("input", "size"): "integer",
    ("input", "range"): "array", ("input", "polarity"): "string", ("layers",): "array", ("layers", 0): "object",
    ("layers", 0, "name"): "string", ("layers", 0, "output"): "string", ("layers", 0, "kind"): "string",
    ("metrics",): "object", ("metrics", "test_accuracy"): "number", ("metrics", "test_loss"): "number",
    ("training",): "object", ("training", "config"): "object", ("training", "seconds"): "number",
    ("training", "history"): "array", ("training", "history", 0): "object", ("training", "versions"): "object",
    ("training", "epochs_run"): "integer", ("training", "warnings"): "array", ("training", "partial"): "boolean",
    ("training", "device"): "string",
}


def of_type(value, kind) -> bool:
    return {"integer": isinstance(value, int) and not isinstance(value, bool),
            "number": isinstance(value, (int, float)) and not isinstance(value, bool),
            "string": isinstance(value, str), "array": isinstance(value, list), "object": isinstance(value, dict),
            "boolean": isinstance(value, bool)}[kind]


@pytest.mark.parametrize("path, kind", TYPED.items(),
                         ids=lambda p: ".".join(map(str, p)) if isinstance(p, tuple) else p)
def test_wrong_json_type_is_refused_with_its_place_named(path, kind):
    for value in WRONG_VALUES:
        if of_type(value, kind):
            continue
        with pytest.raises(ValueError) as e:
            ModelMetadata.from_json(json.dumps(mutated(path, value)))
        assert "\n" not in str(e.value)
        if path[0] != "format":
            assert "must be" in str(e.value) or "10 strings" in str(e.value), str(e.value)


@pytest.mark.parametrize("text, reason", [
    ('{"format": 1, "metrics": {"test_accuracy": NaN}}', "NaN"),
    ('{"format": 1, "metrics": {"test_loss": Infinity}}', "Infinity"),
    (json.dumps({**GOOD, "metrics": {"test_accuracy": 1e400}}).replace("Infinity", "1e400"), "non-finite"),
    (json.dumps({**GOOD, "metrics": {"test_accuracy": 1.5}}), "between 0 and 1"),
    (json.dumps({**GOOD, "metrics": {"test_loss": -0.1}}), ">= 0"),
    (json.dumps({**GOOD, "format": 99}), "unsupported digitpad metadata format 99"),
    (json.dumps({**GOOD, "format": "1"}), "unsupported digitpad metadata format '1'"),
    (json.dumps({**GOOD, "classes": ["0"]}), "2 to 100 names"),
    (json.dumps({**GOOD, "classes": [str(i) for i in range(101)]}), "2 to 100 names"),
    (json.dumps({**GOOD, "classes": ["cat", "dog", "cat"]}), "class 'cat' is named twice"),
    (json.dumps({**GOOD, "classes": ["cat", ""]}), "2 to 100 names"),
    (json.dumps({**GOOD, "layers": [GOOD["layers"][0], GOOD["layers"][0]]}), "listed twice"),
    (json.dumps({**GOOD, "layers": [{"name": "", "output": "act:x"}]}), "non-empty"),
    (json.dumps({**GOOD, "input": {"size": 0}}), "input.size"),
    (json.dumps({**GOOD, "input": {"range": [1, 0]}}), "low < high"),
    (json.dumps({**GOOD, "training": {"weights_sha256": "abc"}}), "sha256"),
    (json.dumps({**GOOD, "training": {"seconds": -5}}), ">= 0"),
    ("[" * 100_000, "nested too deeply"),
    ("not json", "not valid JSON"),
    ("[1, 2]", "must be an object, not an array"),
    ("", "not valid JSON"),
])
def test_specific_refusals(text, reason):
    with pytest.raises(ValueError, match=reason):
        ModelMetadata.from_json(text)


def test_nested_values_deep_but_parseable_do_not_crash():
    deep = 500
    doc = dict(GOOD, metrics=json.loads("[" * deep + "]" * deep))
    with pytest.raises(ValueError, match="metrics must be an object"):
        ModelMetadata.from_json(json.dumps(doc))


def test_to_json_is_strict_json():
    meta = ModelMetadata.from_json(json.dumps(GOOD))
    meta.metrics["test_loss"] = math.nan
    with pytest.raises(ValueError):
        meta.to_json()


def test_unknown_keys_are_kept_for_newer_writers():
    meta = ModelMetadata.from_json(json.dumps({**GOOD, "future": {"x": 1},
                                               "input": {**GOOD["input"], "channels": 1, "preprocessing": "mnist"}}))
    assert meta.input["preprocessing"] == "mnist" and meta.format == contract.FORMAT
