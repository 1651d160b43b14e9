"""What is checked of a model file before and while ONNX Runtime opens it, without the ``onnx``
package (importing it costs 0.2 s, and this runs on the app's start path).

- :func:`read_model`: the file's bytes, read through ``fileio`` (a regular file, at most
  ``fileio.MODEL``), and refused when any of its tensors keeps its data outside the file. The
  contract is one self-describing file: ONNX Runtime, handed the bytes, would resolve such a
  tensor's ``location`` against the process's working folder (or wherever the path points), so
  a model could read a file the user never opened. Found by walking the protobuf wire format:
  ModelProto -> graph, training graphs and functions -> nodes -> attributes (Constant values,
  If/Loop/Scan subgraphs, at any depth) -> TensorProto.data_location / external_data, and the
  initializers and sparse initializers of every graph.
- :func:`read_metadata_props`: ``metadata_props`` alone, read from the file by seeking past the
  graph: describing a model costs a few reads, not the whole file (the picker lists thousands).
- :func:`score_outputs`: the class-score outputs (``logits``/``probs``, or a foreign model's
  ``[N, K]`` output), refused unless they are ``[N, K]`` with K the model's class count: a
  graph with 20 or 1,000 scores must not pass for a digit classifier showing its first ten.
"""
from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from . import fileio
from .contract import LOGITS, PROBS


class ModelLoadError(Exception):
    """A model file that cannot be used; the message is meant for the user."""


# -- the protobuf wire format ---------------------------------------------------------------------
MAX_NESTING = 100           # messages within messages: protobuf's own default recursion limit
METADATA_LIMIT = 64 << 20   # all of metadata_props; a digitpad model's is about 20 KB
_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5


def _varint(buf, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def fields(buf) -> Iterator[tuple[int, int, Any]]:
    """(field number, wire type, value) of one protobuf message (bytes or memoryview; a
    length-delimited value is a slice of the same type, not a copy for a memoryview)."""
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = _varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == _VARINT:
            value, pos = _varint(buf, pos)
        elif wire in (_I64, _I32):
            n = 8 if wire == _I64 else 4
            if pos + n > end:
                raise ValueError("truncated field")
            value, pos = buf[pos:pos + n], pos + n
        elif wire == _LEN:
            n, pos = _varint(buf, pos)
            if pos + n > end:
                raise ValueError("truncated field")
            value, pos = buf[pos:pos + n], pos + n
        else:
            raise ValueError(f"unsupported wire type {wire}")
        yield field, wire, value


# Where a tensor can be, by message: {field number: the message type found there}.
_CHILDREN: dict[str, dict[int, str]] = {
    "model": {7: "graph", 20: "training", 25: "function"},
    "training": {1: "graph", 2: "graph"},                                   # TrainingInfoProto
    "function": {7: "node", 11: "attribute"},                                # FunctionProto
    "graph": {1: "node", 5: "tensor", 15: "sparse"},                         # GraphProto
    "node": {5: "attribute"},                                                # NodeProto
    "attribute": {5: "tensor", 6: "graph", 10: "tensor", 11: "graph", 22: "sparse", 23: "sparse"},
    "sparse": {1: "tensor", 2: "tensor"},                                    # SparseTensorProto
}
_TENSOR_NAME, _TENSOR_EXTERNAL_DATA, _TENSOR_DATA_LOCATION, _EXTERNAL = 8, 13, 14, 1


def external_tensors(model: bytes | memoryview) -> list[str]:
    """Names of the tensors that keep their data outside the file (empty for a self-contained
    model). ValueError when the bytes are not a protobuf message, or nest too deeply."""
    found: list[str] = []
    stack = [(memoryview(model), "model", 0)]
    while stack:
        buf, kind, depth = stack.pop()
        if depth > MAX_NESTING:
            raise ValueError(f"graphs nested more than {MAX_NESTING} deep")
        if kind == "tensor":
            name, external = "", False
            for field, wire, value in fields(buf):
                if field == _TENSOR_NAME and wire == _LEN:
                    name = bytes(value).decode("utf-8", "replace")
                elif field == _TENSOR_EXTERNAL_DATA or (field == _TENSOR_DATA_LOCATION and value == _EXTERNAL):
                    external = True
            if external:
                found.append(name or "(unnamed)")
            continue
        children = _CHILDREN[kind]
        inner = [(value, children[field], depth + 1) for field, wire, value in fields(buf)
                 if wire == _LEN and field in children]
        stack.extend(reversed(inner))   # popped in file order: names come out as the file lists them
    return found


def read_model(path: str | os.PathLike) -> bytes:
    """The bytes to hand ONNX Runtime, or ModelLoadError in one sentence (unreadable, empty, or
    with data outside the file)."""
    path = Path(path)
    try:
        data = fileio.read_bytes(path, fileio.MODEL)
    except fileio.FileReadError as e:
        raise ModelLoadError(f"Cannot read {path.name}: {e.strerror}.") from None
    if not data:
        raise ModelLoadError(f"{path.name} is empty.")
    try:
        outside = external_tensors(data)
    except ValueError:
        raise ModelLoadError(f"{path.name} is not an ONNX model, or the file is damaged or incomplete "
                             "(it cannot be parsed).") from None
    if outside:
        shown = ", ".join(outside[:3]) + (f" and {len(outside) - 3} more" if len(outside) > 3 else "")
        raise ModelLoadError(f"{path.name} keeps the data of {shown} in other files (ONNX external data); "
                             "digitpad opens only models that are one self-contained file.")
    return data


def _skip(f: BinaryIO, n: int) -> None:
    f.seek(n, io.SEEK_CUR)


def _file_varint(f: BinaryIO) -> int | None:
    """A varint read from the file; None at a clean end of file."""
    result = shift = 0
    while True:
        b = f.read(1)
        if not b:
            if shift:
                raise ValueError("truncated varint")
            return None
        result |= (b[0] & 0x7F) << shift
        if not b[0] & 0x80:
            return result
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def read_metadata_props(path: str | os.PathLike) -> dict[str, str]:
    """``metadata_props`` of an ONNX file as a dict, reading only the top-level field headers and
    the metadata itself (the graph and its weights are skipped by seeking). FileReadError (an
    OSError) when the file cannot be read; ValueError when it is not protobuf."""
    props: dict[str, str] = {}
    read = 0
    with fileio.open_regular(path, fileio.MODEL) as f:
        size = os.fstat(f.fileno()).st_size
        while True:
            key = _file_varint(f)
            if key is None:
                return props
            field, wire = key >> 3, key & 7
            if wire == _VARINT:
                if _file_varint(f) is None:
                    raise ValueError("truncated field")
                continue
            if wire in (_I64, _I32):
                _skip(f, 8 if wire == _I64 else 4)
            elif wire == _LEN:
                n = _file_varint(f)
                if n is None or f.tell() + n > size:
                    raise ValueError("truncated field")
                if field != 14:
                    _skip(f, n)
                    continue
                read += n
                if read > METADATA_LIMIT:
                    raise ValueError(f"metadata larger than {METADATA_LIMIT >> 20} MB")
                entry = {k: bytes(v) for k, w, v in fields(f.read(n)) if w == _LEN}
                props[entry.get(1, b"").decode("utf-8", "replace")] = entry.get(2, b"").decode("utf-8", "replace")
            else:
                raise ValueError(f"unsupported wire type {wire}")
            if f.tell() > size:
                raise ValueError("truncated field")


# -- the outputs --------------------------------------------------------------------------------
def _shown(shape: Sequence) -> str:
    return "[" + ", ".join(str(d) if isinstance(d, int) else "N" if i == 0 else "?" for i, d in enumerate(shape)) + "]"


def score_outputs(model_name: str, outputs: Sequence[tuple[str, Sequence]], classes: int,
                  run: Callable[[list[str]], list] | None = None) -> tuple[str | None, str | None]:
    """(logits output, probs output) of a model whose outputs are ``(name, shape)`` as ONNX Runtime
    reports them (ints, or names / None for free dimensions): the contract's ``logits`` and
    ``probs``, else a foreign model's first ``[N, classes]`` output as its logits. Each must be
    ``[N, classes]``: its declared shape is checked, and, when ``run`` is given (names -> arrays
    for one blank input), the shape it really produces. ModelLoadError in one sentence."""
    shapes = dict(outputs)
    logits = LOGITS if LOGITS in shapes else None
    probs = PROBS if PROBS in shapes else None
    if logits is None and probs is None:
        logits = next((n for n, s in outputs if len(s) == 2 and s[1] == classes), None)
        if logits is None:
            raise ModelLoadError(f"{model_name} has no output of shape [N, {classes}] (outputs: "
                                 f"{', '.join(n for n, _ in outputs)}); it is not a {classes}-class classifier.")
    wanted = [n for n in (logits, probs) if n]
    for name in wanted:
        shape = shapes[name]
        if shape and (len(shape) != 2 or (isinstance(shape[1], int) and shape[1] != classes)):
            raise _wrong_scores(model_name, name, _shown(shape), classes)
    if run is not None:
        try:
            values = run(wanted)
        except Exception:  # noqa: BLE001 - a model that fails on a blank input is refused by the load check
            return logits, probs
        for name, value in zip(wanted, values):
            shape = getattr(value, "shape", ())
            if len(shape) != 2 or shape[1] != classes or shape[0] != 1:
                raise _wrong_scores(model_name, name, "[" + ", ".join(map(str, shape)) + "] for one image", classes)
    return logits, probs


def _wrong_scores(model_name: str, output: str, shape: str, classes: int) -> ModelLoadError:
    return ModelLoadError(f"{model_name}'s output {output!r} has shape {shape}, but the class scores of a "
                          f"{classes}-class classifier are [N, {classes}]: it is not a model digitpad can show.")
