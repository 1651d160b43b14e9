"""Seed 001's recipe, one epoch as a whole command, side by side (issue 14: >= 2x faster):

- the tutorial's own script (_seed001_tutorial.py: DataLoader + ToTensor, test scoring, save);
- ``digitpad-train --preset seed001 --epochs 1``: train, score the test set, export to ONNX
  with its parity check.

Both from process launch to process exit, alternating rounds, same data (decompressed once,
outside the timing), torch's default threads for both. Prints each round, the medians and
their ratio.

    .venv/bin/python tests/benchmarks/bench_seed001_epoch.py [--rounds 5] [--threads N]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
from _seed_loop import torchvision_mnist_root  # noqa: E402

TARGET = 2.0


def timed(cmd: list[str], env: dict) -> tuple[float, str]:
    t0 = time.monotonic()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=env)
    wall = time.monotonic() - t0
    if proc.returncode:
        raise SystemExit(f"{cmd[:4]} failed:\n{proc.stderr[-2000:]}")
    return wall, (proc.stdout + proc.stderr)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", default=str(REPO.parent / "shared" / "datasets"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None, help="OMP/torch threads for both (default: torch's)")
    args = ap.parse_args()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    engine_threads = []
    if args.threads:
        env["OMP_NUM_THREADS"] = str(args.threads)
        engine_threads = ["--threads", str(args.threads)]
    root = torchvision_mnist_root(Path(args.data_dir))
    out = Path(tempfile.mkdtemp(prefix="seed001-epoch-"))
    runs = {"tutorial script": [], "digitpad-train": []}
    cmds = {
        "tutorial script": [sys.executable, str(HERE / "_seed001_tutorial.py"), str(root), str(out / "t.pt")],
        "digitpad-train": [sys.executable, "-m", "training", "--preset", "seed001", "--epochs", "1", "--data-dir",
                           args.data_dir, "--out", str(out / "e.onnx"), "--progress", "none", *engine_threads],
    }
    for r in range(args.rounds):
        for name, cmd in (cmds.items() if r % 2 == 0 else reversed(cmds.items())):
            wall, text = timed(cmd, env)
            runs[name].append(wall)
            acc = next((line.split("test accuracy ")[1].split(",")[0] for line in text.splitlines()
                        if "test accuracy" in line), "?")
            print(f"round {r + 1}: {name:16s} {wall:6.2f} s  (test accuracy {acc})", flush=True)
    tutorial, engine = (statistics.median(v) for v in runs.values())
    load = os.getloadavg()[0]
    print(f"\nseed001 recipe, 1 epoch, whole command, median of {args.rounds} (machine load: {load:.1f}):")
    print(f"  tutorial script (DataLoader) : {tutorial:6.2f} s")
    print(f"  digitpad-train (+ export)    : {engine:6.2f} s")
    print(f"  speed-up                     : {tutorial / engine:6.2f}x  (target >= {TARGET}x: "
          f"{'met' if tutorial / engine >= TARGET else 'NOT met'})")


if __name__ == "__main__":
    main()
