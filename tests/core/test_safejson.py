"""The one JSON reader: numbers out of range, non-finite numbers and deep nesting are one
ValueError (JsonError), never OverflowError or RecursionError, wherever they are in the file."""
from __future__ import annotations

import json

import pytest
from special_files import make_special, no_hang

from digitpad.core import fileio, safejson
from digitpad.core.contract import ModelMetadata
from digitpad.core.safejson import JsonError

HOSTILE = {
    "400-digit integer": "1" + "0" * 399,
    "negative 400-digit integer": "-" + "9" * 400,
    "integer just past int64": str(2 ** 63),
    "5000-digit integer (past Python's own limit)": "7" * 5000,
    "1e400": "1e400",
    "-1e400": "-1e400",
    "NaN": "NaN",
    "Infinity": "Infinity",
    "-Infinity": "-Infinity",
}


@pytest.mark.parametrize("name", HOSTILE)
@pytest.mark.parametrize("where", ["top", "in a list", "in an object", "deep"])
def test_a_number_no_reader_can_use_is_one_json_error(name, where):
    v = HOSTILE[name]
    text = {"top": v, "in a list": f"[1, 2, {v}]", "in an object": f'{{"a": {{"epochs": {v}}}}}',
            "deep": "[" * 10 + v + "]" * 10}[where]
    with pytest.raises(JsonError) as e:
        safejson.loads(text, "test.json")
    assert isinstance(e.value, ValueError) and str(e.value).startswith("test.json: ") and "\n" not in str(e.value)


@pytest.mark.parametrize("text", ["[" * 100_000, "[" * 100_000 + "]" * 100_000, '{"a":' * 100_000 + "1" + "}" * 100_000,
                                  "[" * 600 + "]" * 600])
def test_deep_nesting_is_one_json_error(text):
    with pytest.raises(JsonError, match="nested"):
        safejson.loads(text, "deep.json")


def test_the_depth_bound_is_the_readers():
    assert safejson.loads("[[[[1]]]]", max_depth=4) == [[[[1]]]]
    with pytest.raises(JsonError, match="nested more than 3"):
        safejson.loads("[[[[1]]]]", max_depth=3)
    with pytest.raises(JsonError, match="nested more than 3"):
        safejson.loads('{"a": {"b": {"c": {"d": 1}}}}', max_depth=3)


def test_plain_json_passes_and_wide_integers_only_where_asked():
    d = safejson.loads('{"a": [1, -2.5, "x", true, null], "n": 9223372036854775807, "t": 1e308}')
    assert d == {"a": [1, -2.5, "x", True, None], "n": 2 ** 63 - 1, "t": 1e308}
    wide = str(2 ** 127)
    with pytest.raises(JsonError):
        safejson.loads(wide)
    assert safejson.loads(wide, max_int=2 ** 128) == 2 ** 127


@pytest.mark.parametrize("data, words", [
    (b"\xff\xfe{}", "not UTF-8"), (b'{"a": "\\ud800"}', "surrogate"), (b"{oops", "not valid JSON"), (b"", "not valid"),
])
def test_text_that_is_not_usable_json(data, words):
    with pytest.raises(JsonError, match=words):
        safejson.loads(data, "x.json")


def test_read_goes_through_the_safe_reader(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"k": 1}')
    assert safejson.read(path, fileio.RUN_LOG) == {"k": 1}
    fifo = make_special(tmp_path / "fifo.json", "fifo")
    with pytest.raises(fileio.FileReadError):
        no_hang(lambda: safejson.read(fifo, fileio.RUN_LOG))
    path.write_text('{"k": ' + "9" * 400 + "}")
    with pytest.raises(JsonError, match="x.json"):
        safejson.read(path, fileio.RUN_LOG)


GOOD = {"format": 1, "arch": "a", "dataset": "mnist", "classes": [str(i) for i in range(10)], "layers": [],
        "metrics": {"test_accuracy": 0.5}, "training": {"epochs": 1, "seconds": 2.0}}


@pytest.mark.parametrize("field", ["format", "metrics.test_accuracy", "training.seconds", "training.epochs",
                                   "input.size", "training.config.batch_size"])
@pytest.mark.parametrize("value", ["1" + "0" * 400, "1e400", "NaN", "-Infinity"])
def test_model_metadata_refuses_them_as_value_error(field, value):
    marker = "123456.789"
    doc = json.loads(json.dumps(GOOD))
    node = doc
    *parents, last = field.split(".")
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = float(marker)
    text = json.dumps(doc).replace(marker, value)
    with pytest.raises(ValueError) as e:
        ModelMetadata.from_json(text)
    assert not isinstance(e.value, (OverflowError, RecursionError)) and "\n" not in str(e.value)
