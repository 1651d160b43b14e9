"""Step-by-step arithmetic (issue 11): the NumPy forward pass and Predictor.explain, timed.

    .venv/bin/python tests/benchmarks/bench_explain.py [--model PATH] [--digits 200]

Real MNIST test digits, one thread for BLAS as the app runs (digitpad/__main__.py). Prints
medians (and p90) side by side from one run; asserts nothing. Targets: the reference forward
pass on one image <= 20 ms; one explanation of a conv3 unit on a new drawing (NumPy forward
pass + ONNX Runtime for the side-by-side value + the terms) <= 50 ms.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import REPO, ms, timed  # noqa: E402 - first: BLAS on one thread before numpy loads

# isort: split
import numpy as np  # noqa: E402 - after _timing, which puts BLAS on one thread


def first_use_seconds(model: Path) -> dict[str, float]:
    """A fresh process: import, open the model, then the first explain (onnx import + graph read)."""
    code = f"""
import time, numpy as np
t0 = time.perf_counter()
from digitpad.core.inference import Predictor
p = Predictor({str(model)!r})
t1 = time.perf_counter()
p.explain(np.zeros((28, 28), np.float32), p.layers[-1] if p.layers else p.stages()[-1].name, 0)
t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    open_s, first_s = (float(v) for v in out.stdout.split())
    return {"open": open_s, "first_explain": first_s}


def main() -> None:
    from digitpad.core.datasets import load_split
    from digitpad.core.library import shipped_model_path

    ap = argparse.ArgumentParser()
    ap.add_argument("--model", type=Path, default=shipped_model_path())
    ap.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "datasets")
    ap.add_argument("--digits", type=int, default=200)
    args = ap.parse_args()

    from digitpad.core.inference import Predictor

    print(f"model {args.model.name}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; "
          f"BLAS threads {os.environ['OPENBLAS_NUM_THREADS']}")
    cold = first_use_seconds(args.model)
    print(f"fresh process: import + open {cold['open'] * 1e3:.0f} ms, first explain (imports onnx, reads the graph) "
          f"{cold['first_explain'] * 1e3:.0f} ms")

    p = Predictor(args.model)
    net = p.network
    images = load_split(args.data_dir, "mnist", "test").images[:args.digits].astype(np.float32) / 255
    xs = [x.reshape(1, 1, 28, 28) for x in images]
    layer = "conv3" if "conv3" in p.layers else p.layers[-1]
    shape = net.stage(p.stage_name(layer)).shape
    rng = np.random.default_rng(0)
    units = [tuple(int(rng.integers(n)) for n in shape) for _ in xs]
    for x in xs[:10]:   # warm up caches and allocators
        net.run(x)
        p.predict(x)

    forward = timed(net.run, xs)
    ort = timed(p.predict, xs)
    print(f"\nforward pass, one image:  NumPy {ms(forward):.2f} ms (p90 {ms(forward, 90):.2f})   "
          f"ONNX Runtime predict {ms(ort):.2f} ms (p90 {ms(ort, 90):.2f})   target NumPy <= 20 ms")

    p._trace_cache = None
    it = iter(units)
    new = timed(lambda x: p.explain(x, layer, *next(it)), xs)
    print(f"explain a {layer} unit, new drawing each time (forward + ORT + terms): {ms(new):.2f} ms "
          f"(p90 {ms(new, 90):.2f})   target <= 50 ms")
    x0 = xs[0]
    p.explain(x0, layer, 0, 0, 0)
    it = iter(units)
    same = timed(lambda _: p.explain(x0, layer, *next(it)), xs)
    print(f"explain a {layer} unit, same drawing (a click on another pixel): "
          f"{ms(same):.2f} ms (p90 {ms(same, 90):.2f})")
    logits = timed(lambda j: p.explain(x0, "logits", int(j) % 10), range(len(xs)))
    probs = timed(lambda j: p.explain(x0, "probs", int(j) % 10), range(len(xs)))
    field = timed(lambda u: p.receptive_field(layer, *u), units)
    print(f"explain a logit (dense, sorted contributions) {ms(logits):.2f} ms; a probability (softmax) "
          f"{ms(probs):.2f} ms; receptive field (hover) {ms(field):.3f} ms")
    shapes_s = []
    for _ in range(2):   # the first call imports digitpad.core.shapes
        t0 = time.perf_counter()
        p.shapes()
        shapes_s.append(time.perf_counter() - t0)
    net.memo.clear()
    t0 = time.perf_counter()
    p.used_maps()
    used_s = time.perf_counter() - t0
    print(f"shapes table {shapes_s[0] * 1e3:.2f} ms first (module import), then {shapes_s[1] * 1e3:.2f} ms; "
          f"used maps {used_s * 1e3:.2f} ms (then cached)")


if __name__ == "__main__":
    main()
