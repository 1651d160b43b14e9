"""Files whose every text is markup that makes Qt read another file, and a FIFO that tells when it is read.

Qt lays out text it takes for HTML (a QLabel on AutoText, a tooltip, a message box) and loads the
images and style sheets it names: ``<img src="X">`` opens X on the UI thread. Opening a FIFO for
reading blocks until a writer comes, so a test that let this happen would hang with the GIL held
(no pytest timeout can end it). :class:`Pipe` keeps a writer waiting in another process instead:
each time something opens the FIFO, the writer closes at once (the reader sees an empty file and
goes on) and counts the opening. A test asserts ``pipe.opened() == 0``.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from model_factory import _conv_net
from onnx import helper

from digitpad.core.contract import LayerInfo, ModelMetadata
from digitpad.core.paths import RunFiles

# Waits for each reader, counts it, lets it go with an empty read; ends when the test kills it.
_WRITER = """
import os, sys
fifo, log = sys.argv[1:]
while True:
    fd = os.open(fifo, os.O_WRONLY)
    with open(log, "a") as f:
        f.write("opened\\n")
    os.close(fd)
"""


@dataclass
class Pipe:
    """A FIFO at ``path`` (also reachable as ``name`` from the working folder, which the test makes
    the FIFO's folder: file names cannot hold a path) with a writer that counts who opens it."""

    path: Path
    log: Path
    writer: subprocess.Popen

    @classmethod
    def start(cls, folder: Path) -> Pipe:
        path, log = folder / "pipe", folder / "pipe-opened.log"
        os.mkfifo(path)
        log.write_text("")
        return cls(path, log, subprocess.Popen([sys.executable, "-c", _WRITER, str(path), str(log)]))

    @property
    def name(self) -> str:
        return self.path.name

    def opened(self, settle_s: float = 0.2) -> int:
        """How many times the FIFO was opened (after a moment for the writer to write it down)."""
        time.sleep(settle_s)
        return len(self.log.read_text().splitlines())

    def stop(self) -> None:
        self.writer.kill()
        self.writer.wait(10)

    @property
    def markup(self) -> str:
        """For text inside files: the FIFO by its absolute path, as an image and as a style sheet."""
        return f'<img src="{self.path}"><link rel="stylesheet" href="{self.path}">'

    @property
    def name_markup(self) -> str:
        """For file names (no "/"): the FIFO by its name, relative to the working folder."""
        return f'<img src="{self.name}">'


def write_model(path: Path, text: str) -> Path:
    """A contract-following model (random weights) whose every name and metadata string holds ``text``:
    arch, dataset, class names, layer names, the graph's tensors, nodes and initializers, metric and
    training keys and values, the creation date."""
    model, layers = _conv_net(np.random.default_rng(0))
    graph = model.graph
    keep = {"image", "logits", "probs"}   # the contract's names: the file must still open as a digitpad model
    renamed = {name: f"{text}{name}" for name in
               {v for n in graph.node for v in (*n.input, *n.output)} | {i.name for i in graph.initializer}
               if name and name not in keep}
    for i, node in enumerate(graph.node):
        node.name = f"{text}node{i}"
        node.input[:] = [renamed.get(v, v) for v in node.input]
        node.output[:] = [renamed.get(v, v) for v in node.output]
    for value in (*graph.output, *graph.initializer):
        value.name = renamed.get(value.name, value.name)
    graph.name = text
    graph.doc_string = text
    model.producer_name = text
    layers = [LayerInfo(f"{text}{layer.name}", layer.kind, renamed[layer.output], renamed[layer.kernel])
              for layer in layers]
    meta = ModelMetadata(
        arch=text, dataset=text, classes=[f"{text}{d}" for d in range(10)], layers=layers,
        metrics={"test_accuracy": 0.5, "test_loss": 1.0, f"{text}metric": 0.25},
        training={"device": text, "seconds": 12.5, "epochs": 1, "preset": text, "warnings": [text],
                  "versions": {text: text}, "config": {"arch": text, "dataset": text, "optimizer": text},
                  "data": {text: 100}, text: text},
        created=text)
    helper.set_model_props(model, {"digitpad": meta.to_json()})
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def write_bad_metadata_model(path: Path, text: str) -> Path:
    """A model whose metadata is refused with a message that quotes ``text`` (keep it short: messages
    cut long values)."""
    model, _ = _conv_net(np.random.default_rng(1))
    helper.set_model_props(model, {"digitpad": json.dumps({"format": text})})
    onnx.save(model, str(path))
    return path


def write_runs(model: Path, text: str, name_text: str) -> list[Path]:
    """Run logs beside ``model`` (the engine's and the app's, a fine-tune's words) and a second run,
    their strings holding ``text``; the second run's name holds ``name_text``."""
    out = []
    for i, files in enumerate((RunFiles(model), RunFiles(model.with_name(f"{name_text}second.onnx")))):
        config = {"arch": text, "dataset": text, "optimizer": text, "schedule": text, "epochs": 2,
                  "batch_size": 64, "lr": 0.001, "seed": 1, "augment": False}
        history = [{"epoch": e, "test_accuracy": 0.4 + 0.1 * e + 0.01 * i, "test_loss": 1.0 / e, "elapsed_s": 2.0 * e}
                   for e in (1, 2)]
        files.run_log.write_text(json.dumps({"config": config, "history": history, "status": text,
                                             "metrics": {"test_accuracy": 0.6}, "created": text, "seconds": 4.0}))
        files.app_log.write_text(json.dumps({"config": config, "history": history, "status": text,
                                             "steps": [[s, 1.0 / s, 0.001, 0.1 * s] for s in range(1, 40)],
                                             "finetune": {"base": f"{name_text}base.onnx", "digits": 5,
                                                          "before": 0.5, "after": 0.7, "seconds": 9.0}}))
        out += [files.run_log, files.app_log]
    return out


def add_samples(collection, text: str, name_text: str) -> None:
    """A sample whose source holds ``text``, and a file that cannot be read whose name holds ``name_text``."""
    image = np.zeros((28, 28), np.float32)
    image[6:22, 12:16] = 1.0
    collection.add(1, image, source=text)
    collection.folder.mkdir(parents=True, exist_ok=True)
    (collection.folder / f"{name_text}.npz").write_bytes(b"not a collection")
    collection.refresh()
