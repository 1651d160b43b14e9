"""A CIFAR-10 preset as a whole command (issue 26's target for ``--preset cifar10``: >= 85.0% on the
shared test set in <= 15 minutes on a 2-core machine):

    digitpad-train --preset cifar10 --data-dir ../shared/datasets

timed from launch to exit, with the test accuracy it reports (the exported model's, float32) and
the machine's load while it ran: the 1-minute load average sampled every 10 s (other work on a
2-core machine slows every figure; a mean above ~2.5 means the run shared the cores).

    .venv/bin/python tests/benchmarks/bench_cifar10.py [--preset cifar10] [--data-dir ../shared/datasets]
        [--cold] [--keep DIR] [-- extra engine flags, e.g. --epochs 12]

``--cold`` runs with an empty data folder, so the 60,000 pictures are decoded inside the timed
command; by default the user's data folder (and its decode cache) is used, warm after a first run.
Prints figures; never asserts a time.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def load_sampler(samples: list[float], done: threading.Event, every_s: float = 10.0) -> threading.Thread:
    def sample() -> None:
        while not done.wait(every_s):
            samples.append(os.getloadavg()[0])

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    return thread


def run(preset: str, data_dir: Path, out_dir: Path, extra: list[str], env: dict[str, str]) -> dict:
    out = out_dir / f"bench-{preset}.onnx"
    cmd = [sys.executable, "-m", "training", "--preset", preset, "--data-dir", str(data_dir), "--out", str(out),
           "--progress", "jsonl", *extra]
    samples, done = [os.getloadavg()[0]], threading.Event()
    load_sampler(samples, done)
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    events, marks, last_epoch, epoch_s = [], {}, None, []
    for line in proc.stdout:
        event = json.loads(line)
        events.append(event)
        marks.setdefault(event["event"], time.monotonic() - t0)
        if event["event"] == "epoch":
            # An epoch's time: from the previous epoch event (the first: from the first step event),
            # its evaluation included; the figure a GPU's speed is read from (scripts/gpu_check.sh).
            now = time.monotonic() - t0
            epoch_s.append(now - (last_epoch if last_epoch is not None else marks.get("step", now)))
            last_epoch = now
            print(f"  {now:7.1f} s  epoch {event['epoch']:>3}/{event['epochs']} ({epoch_s[-1]:.1f} s): test "
                  f"{event['test_accuracy']:.2%}, train {event['train_accuracy']:.2%}, load "
                  f"{os.getloadavg()[0]:.1f}", flush=True)
    stderr = proc.stderr.read()
    code = proc.wait()
    wall = time.monotonic() - t0
    done.set()
    samples.append(os.getloadavg()[0])
    if code != 0:
        raise SystemExit(f"the engine failed ({code}): {stderr[-2000:]}")
    exported = next(e for e in events if e["event"] == "exported")
    start = next(e for e in events if e["event"] == "start")
    return {"wall_s": wall, "accuracy": exported["metrics"]["test_accuracy"], "load_mean": statistics.mean(samples),
            "load_max": max(samples), "first_step_s": marks.get("step"), "precision": start.get("precision"),
            "epochs": start["config"]["epochs"], "export_s": wall - (last_epoch or wall),
            "epoch_s": epoch_s, "device": start.get("device")}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="cifar10")
    p.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "datasets")
    p.add_argument("--cold", action="store_true", help="an empty user data folder: decoding is timed too")
    p.add_argument("--keep", type=Path, help="keep the model, checkpoint and run log in this folder")
    p.add_argument("extra", nargs="*", help="more engine flags, after --")
    args = p.parse_args()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with tempfile.TemporaryDirectory() as tmp:
        if args.cold:
            env["DIGITPAD_DATA_DIR"] = str(Path(tmp) / "data")
        out_dir = args.keep or Path(tmp)
        out_dir.mkdir(parents=True, exist_ok=True)
        print(f"digitpad-train --preset {args.preset} --data-dir {args.data_dir} {' '.join(args.extra)} "
              f"({'cold: decoding included' if args.cold else 'the user data folder: decode cache as it is'}); "
              f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f} at start", flush=True)
        r = run(args.preset, args.data_dir, out_dir, args.extra, env)
    print(f"\n{args.preset}: {r['wall_s'] / 60:.2f} min as a whole command, test accuracy {r['accuracy']:.2%} "
          f"({r['epochs']} epochs, {r['precision']}); 1-min load average mean {r['load_mean']:.1f}, "
          f"max {r['load_max']:.1f}; launch -> first step {r['first_step_s']:.1f} s, last epoch -> exit "
          f"(export, parity) {r['export_s']:.1f} s")
    later = r["epoch_s"][1:] or r["epoch_s"]   # the first epoch also pays for warm-up (cuDNN's autotuning)
    print(f"{args.preset} on {r['device']}: epoch time median {statistics.median(later):.2f} s "
          f"(epochs after the first; all: {', '.join(f'{t:.2f}' for t in r['epoch_s'])})")


if __name__ == "__main__":
    main()
