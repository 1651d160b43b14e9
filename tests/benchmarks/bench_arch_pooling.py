"""The last stage's pooling (issue 11, "honest maps"): floor (7x7 -> 3x3, the last row and column
never reach the head) against ceil mode (7x7 -> 4x4), for digitpad and digitpad-s.

    .venv/bin/python tests/benchmarks/bench_arch_pooling.py [--seeds 3] [--epochs 1] [--limit N]
        [--archs digitpad-s,digitpad] [--data-dir DIR] [--threads 2]

Accuracy: MNIST test after the same short recipe (the ``fast`` preset's: no augmentation,
onecycle at 5e-3, batch 128; ``--epochs`` epochs), for each seed, both variants trained
side by side so the machine's load hits both alike. Speed: ONNX Runtime batch-1 latency
of the exported graph (the app's per-stroke cost; median of 2,000 calls, interleaved), and
the training loop's samples per second from the same runs. Prints medians and the ceil/floor
ratio. Asserts nothing.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from training import models  # noqa: E402

VARIANTS = {"floor": False, "ceil": True}
FACTORIES = {"digitpad": models._digitpad, "digitpad-s": models._digitpad_s}


class _Quiet:
    mode = "none"

    def __getattr__(self, name):
        return lambda *a, **k: None

    def due(self):
        return False


def train_one(arch: str, variant: str, seed: int, args) -> dict:
    from training import train
    from training.config import preset

    name = f"{arch}-{variant}"
    models.ARCHS[name] = (lambda k=10: FACTORIES[arch](k, ceil=VARIANTS[variant]), name)
    cfg = replace(preset("fast"), arch=name, epochs=args.epochs, seed=seed, data_dir=str(args.data_dir),
                  threads=args.threads, limit=args.limit)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        result = train.train(cfg, _Quiet(), Path(tmp) / "run.ckpt.pt")
        seconds = time.perf_counter() - t0
    n = (args.limit or 60000) * args.epochs
    return {"accuracy": result.history[-1]["test_accuracy"], "samples_per_s": n / seconds}


def latency(arch: str, threads_note: str) -> dict[str, float]:
    import onnxruntime as ort

    from digitpad.core.inference import session_options
    from training import export

    sessions = {}
    with tempfile.TemporaryDirectory() as tmp:
        for variant, ceil in VARIANTS.items():
            net = FACTORIES[arch](ceil=ceil).eval()
            out = Path(tmp) / f"{variant}.onnx"
            export.export(net, out, arch=arch, dataset="mnist", metrics={}, training={})
            sessions[variant] = ort.InferenceSession(str(out), sess_options=session_options(),
                                                     providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).random((1, 1, 28, 28), dtype=np.float32)
    times = {v: [] for v in sessions}
    for _ in range(2000):
        for v, s in sessions.items():
            t0 = time.perf_counter()
            s.run(None, {"image": x})
            times[v].append(time.perf_counter() - t0)
    return {v: statistics.median(t) * 1e3 for v, t in times.items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--limit", type=int, default=None, help="train on the first N MNIST digits")
    ap.add_argument("--archs", default="digitpad-s,digitpad")
    ap.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "datasets")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    for arch in args.archs.split(","):
        lat = latency(arch, "")
        print(f"== {arch}: ORT batch-1 latency, median of 2,000 interleaved calls: floor {lat['floor']:.3f} ms, "
              f"ceil {lat['ceil']:.3f} ms (ceil/floor {lat['ceil'] / lat['floor']:.2f})", flush=True)
        runs = {v: [] for v in VARIANTS}
        for seed in range(args.seeds):
            for v in VARIANTS:
                r = train_one(arch, v, seed, args)
                runs[v].append(r)
                print(f"   seed {seed} {v:5s}: MNIST test {r['accuracy']:.2%}, {r['samples_per_s']:.0f} samples/s",
                      flush=True)
        acc = {v: statistics.median(r["accuracy"] for r in rs) for v, rs in runs.items()}
        sps = {v: statistics.median(r["samples_per_s"] for r in rs) for v, rs in runs.items()}
        diffs = [c["accuracy"] - f["accuracy"] for c, f in zip(runs["ceil"], runs["floor"])]
        print(f"   median MNIST test: floor {acc['floor']:.2%}, ceil {acc['ceil']:.2%}; ceil - floor per seed: "
              + ", ".join(f"{d * 100:+.2f}" for d in diffs) + " points")
        print(f"   training samples/s (median): floor {sps['floor']:.0f}, ceil {sps['ceil']:.0f} "
              f"(ceil/floor {sps['ceil'] / sps['floor']:.2f})", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
