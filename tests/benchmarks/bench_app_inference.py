"""App inference benchmarks: end to end, model-only vs FLOPs at peak, ORT vs PyTorch eager.

    .venv/bin/python tests/benchmarks/bench_app_inference.py [--arch digitpad] [--iters 3000]

Prints medians side by side from one run; asserts nothing (timings are not tests).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from _app_bench_models import conv_flops, model_for  # noqa: E402


def pct(samples, q):
    return float(np.percentile(np.asarray(samples) * 1e3, q))


def timeit(fn, iters, warmup=200):
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def drawn_digit(size=400):
    """A canvas-sized white-on-black '0' with antialiased edges, like DrawingCanvas.to_array()."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    r = np.sqrt(((yy - size / 2) / (size * 0.3)) ** 2 + ((xx - size / 2) / (size * 0.2)) ** 2)
    return np.clip(15 - np.abs(r - 1) * size * 0.2 + 0.5, 0, 1).astype(np.float32)


def measured_peak_gflops():
    """Single-thread sgemm throughput: what one core really sustains on dense float32 math."""
    a = np.random.rand(1024, 1024).astype(np.float32)
    b = np.random.rand(1024, 1024).astype(np.float32)
    a @ b
    t = min(timeit(lambda: a @ b, 5, warmup=1))
    return 2 * 1024 ** 3 / t / 1e9


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="digitpad")
    ap.add_argument("--iters", type=int, default=3000)
    args = ap.parse_args()

    from digitpad.core.inference import Predictor
    from digitpad.core.preprocess import to_model_input

    path, what = model_for(args.arch)
    p = Predictor(path)
    print(f"model: {path.name} ({what}); layers {p.layers}")
    img = drawn_digit()
    x = to_model_input(img)

    pre = timeit(lambda: to_model_input(img), args.iters)
    e2e = timeit(lambda: p.predict(to_model_input(img)), args.iters)
    pred = timeit(lambda: p.predict(x), args.iters)
    feed = {p.input_name: x}
    probs_only = timeit(lambda: p.session.run([p.probs_name or p.logits_name], feed), args.iters)

    flops = conv_flops(path)
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    mhz = float(next(line.split(":")[1] for line in cpuinfo if "MHz" in line))
    # Zen 4 / AVX-512 or AVX2 with 2 FMA pipes of 8 float32 lanes: 32 FLOP per cycle per core.
    theoretical = 32 * mhz / 1e3
    measured = measured_peak_gflops()

    print("\nEnd to end, canvas array [400x400] -> probs + all activations (one thread):")
    print(f"  preprocess            p50 {pct(pre, 50):.3f} ms   p99 {pct(pre, 99):.3f} ms")
    print(f"  predict (all outputs) p50 {pct(pred, 50):.3f} ms   p99 {pct(pred, 99):.3f} ms")
    print(f"  end to end            p50 {pct(e2e, 50):.3f} ms   p99 {pct(e2e, 99):.3f} ms   (target p50 <= 1 ms)")

    ideal_theoretical = flops / (theoretical * 1e9) * 1e3
    ideal_measured = flops / (measured * 1e9) * 1e3
    ort = pct(probs_only, 50)
    print(f"\nModel only, ORT batch 1, probs output: p50 {ort:.3f} ms   p99 {pct(probs_only, 99):.3f} ms")
    print(f"  {flops / 1e6:.1f} MFLOP; peak {theoretical:.0f} GFLOP/s theoretical ({mhz:.0f} MHz x 32), "
          f"{measured:.0f} GFLOP/s measured sgemm")
    print(f"  at peak: {ideal_theoretical:.3f} ms theoretical, {ideal_measured:.3f} ms measured-sgemm")
    print(f"  ratio ORT / ideal: {ort / ideal_theoretical:.2f}x theoretical, {ort / ideal_measured:.2f}x measured "
          f"(target within 1.5x)")

    try:
        import torch

        from training.models import build
    except ImportError:
        print("\n(torch not installed: no eager comparison)")
        return
    torch.set_num_threads(1)
    net = build(p.metadata.arch if p.metadata else args.arch).eval()
    xt = torch.from_numpy(x)
    with torch.inference_mode():
        eager = timeit(lambda: net(xt), min(args.iters, 2000))
        eager_acts = timeit(lambda: net.forward_with_activations(xt), min(args.iters, 2000))
    print(f"\nPyTorch eager batch 1, one thread: logits p50 {pct(eager, 50):.3f} ms; "
          f"with activations p50 {pct(eager_acts, 50):.3f} ms")
    print(f"  ORT is {pct(eager, 50) / ort:.1f}x faster (logits), "
          f"{pct(eager_acts, 50) / pct(pred, 50):.1f}x faster (with activations)")


if __name__ == "__main__":
    main()
