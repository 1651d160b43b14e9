"""Run digitpad-train as a user (or the app) does: a real subprocess, jsonl on stdout."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]


def train_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "training", *args]


def run_train(*args: str, timeout: float = 300) -> tuple[int, list[dict], str]:
    """Run to completion; return (exit code, parsed events, stderr). Every stdout line must be JSON."""
    if "--progress" not in args:
        args = (*args, "--progress", "jsonl")
    proc = subprocess.run(train_cmd(*args), cwd=REPO, capture_output=True, text=True, timeout=timeout)
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    return proc.returncode, events, proc.stderr


def read_until(proc: subprocess.Popen, predicate) -> list[dict]:
    """The events of a running engine (jsonl on stdout), up to the first that ``predicate`` accepts."""
    events = []
    for line in proc.stdout:
        events.append(json.loads(line))
        if predicate(events[-1]):
            return events
    raise AssertionError(f"stream ended first: {events[-3:]} {proc.stderr.read()}")


# seed001 on 600 real digits, 2 epochs, with a weight EMA: about 3 s.
TINY = ["--arch", "seed001", "--limit", "600", "--epochs", "2", "--batch-size", "32", "--threads", "1",
        "--ema", "0.9", "--lr", "3e-3"]


def run_cli(capsys, *argv: str) -> tuple[int, list[dict], str]:
    """The engine in this process (the same main() as the console script), jsonl on stdout."""
    from training.cli import main

    rc = main([*argv, "--progress", "jsonl"])
    out = capsys.readouterr()
    return rc, [json.loads(line) for line in out.out.splitlines()], out.err


def assert_one_line_error(rc, events, err, pattern):
    lines = [line for line in err.splitlines() if line.strip()]
    assert rc == 2, err
    assert len(lines) == 1 and lines[0].startswith("digitpad-train: error:"), err
    assert pattern in lines[0], lines[0]
    assert events[-1]["event"] == "error" and pattern in events[-1]["message"]


def metadata(path: Path):
    import onnx

    from digitpad.core import contract

    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    return contract.ModelMetadata.from_json(props[contract.METADATA_KEY])


def write_idx(path: Path, arr: np.ndarray, magic: int) -> None:
    path.write_bytes(magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
                     + arr.astype(np.uint8).tobytes())


def write_mnist(folder: Path, train, test) -> Path:
    """An MNIST folder (flat IDX layout) holding the given (images, labels) splits."""
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, (images, labels) in (("train", train), ("t10k", test)):
        write_idx(folder / f"{prefix}-images-idx3-ubyte", images, 2051)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", labels, 2049)
    return folder
