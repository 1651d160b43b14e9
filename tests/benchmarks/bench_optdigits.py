"""The UCI 8x8 digits: the NumPy engine's seed004 preset and the PyTorch engine's optdigits preset.

    .venv/bin/python tests/benchmarks/bench_optdigits.py [--seeds 0 1 2] [--data-dir DIR] [--skip-torch-preset]

Prints, per run of the real ``digitpad-train`` (a subprocess, as a user or the app runs it):
wall seconds from start to exit, the final test accuracy on the 13 unseen writers
(optdigits.tes) and the training samples/s the engine reported. Then the same seed004 net in
both engines step for step (one process, batch 64, float32, one thread, plain SGD): the cost
of a training step without data loading, events or evaluation.

Targets (issue 12): ``--preset seed004`` >= 96.0% in <= 30 s wall; ``--preset optdigits`` >= 98.5%.
Asserts nothing. On a shared machine compare the ratios, not the absolute figures.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))


def run_engine(args: list[str], out: Path) -> dict:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "training", *args, "--out", str(out), "--progress", "jsonl"],
                          cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"digitpad-train {' '.join(args)} failed:\n{proc.stderr[-2000:]}")
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    epochs = [e for e in events if e["event"] == "epoch"]
    steps = [e for e in events if e["event"] == "step"]
    return {"wall_s": wall, "accuracy": epochs[-1]["test_accuracy"], "samples_per_s": steps[-1]["samples_per_s"],
            "train_s": epochs[-1]["elapsed_s"]}


def report(name: str, runs: list[dict]) -> None:
    for r in runs:
        print(f"  seed {r['seed']}: {r['accuracy']:.2%} in {r['wall_s']:.1f} s wall "
              f"({r['samples_per_s']:,.0f} samples/s)")
    accs = [r["accuracy"] for r in runs]
    print(f"{name}: median {statistics.median(accs):.2%} (min {min(accs):.2%}, max {max(accs):.2%}, "
          f"{sum(a >= TARGETS[name] for a in accs)}/{len(accs)} >= {TARGETS[name]:.1%}); median wall "
          f"{statistics.median(r['wall_s'] for r in runs):.1f} s; median "
          f"{statistics.median(r['samples_per_s'] for r in runs):,.0f} samples/s\n", flush=True)


TARGETS = {"seed004 (numpy)": 0.96, "seed004 net, torch engine": 0.96, "optdigits (torch)": 0.985}


def step_throughput(data_dir: Path, seconds: float = 3.0) -> dict[str, float]:
    """Training steps per second of the same net, same batches, in both engines."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    from digitpad.core.datasets import load_split
    from training import models
    from training.scratch.layers import SoftmaxCrossEntropy
    from training.scratch.net import build
    from training.scratch.train import sgd_step

    torch.set_num_threads(1)
    train = load_split(data_dir, "optdigits", "train")
    x = (train.images.astype(np.float32) / 16)[:, None]
    y = train.labels
    batches = [np.random.default_rng(0).permutation(len(y))[i:i + 64] for i in range(0, len(y) - 63, 64)]
    results = {}

    net, ce = build("seed004", (1, 8, 8)), SoftmaxCrossEntropy()

    def numpy_step(idx):
        ce.forward(net.forward(x[idx]), y[idx])
        net.backward(ce.backward())
        sgd_step(net, 0.2, 0.0)

    tnet = models.build("seed004")
    opt = torch.optim.SGD(tnet.parameters(), lr=0.2)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)

    def torch_step(idx):
        loss = F.cross_entropy(tnet(tx[idx]), ty[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for name, step in (("numpy", numpy_step), ("torch", torch_step)):
        rates = []
        for _ in range(5):
            n, t0 = 0, time.perf_counter()
            while time.perf_counter() - t0 < seconds / 5:
                step(batches[n % len(batches)])
                n += 1
            rates.append(n * 64 / (time.perf_counter() - t0))
        results[name] = statistics.median(rates)
    return results


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "datasets")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--skip-torch-preset", action="store_true", help="only the seed004 runs")
    args = ap.parse_args(argv)
    data = ["--data-dir", str(args.data_dir)]
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        runs = {}
        jobs = [("seed004 (numpy)", ["--preset", "seed004"]),
                ("seed004 net, torch engine", ["--preset", "seed004", "--engine", "torch", "--threads", "1"])]
        if not args.skip_torch_preset:
            jobs.append(("optdigits (torch)", ["--preset", "optdigits"]))
        for name, job in jobs:
            runs[name] = []
            for seed in args.seeds:
                r = run_engine([*job, *data, "--seed", str(seed)], Path(tmp) / f"{len(runs)}-{seed}.onnx")
                runs[name].append({**r, "seed": seed})
            report(name, runs[name])
    rates = step_throughput(args.data_dir)
    print(f"training steps alone, seed004 net, batch 64, 1 thread: numpy {rates['numpy']:,.0f} samples/s, "
          f"torch {rates['torch']:,.0f} samples/s (numpy/torch = {rates['numpy'] / rates['torch']:.2f})")
    print(f"load average {os.getloadavg()[0]:.2f} at the end (2 cores shared with other work: figures are noisy)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
