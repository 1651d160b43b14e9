"""Backpropagation for one drawing (issue 23), timed: the NumPy backward pass, Predictor.gradients, one step.

    .venv/bin/python tests/benchmarks/bench_backward.py [--model PATH] [--digits 100]

Real MNIST test digits, one thread for BLAS as the app runs (digitpad/__main__.py). Prints medians and
p90 from one run; asserts nothing. Target: the backward pass of one drawing <= 30 ms for the shipped model.

- backward: ``core.backward.gradients`` on a forward pass already made (what a new label costs);
- gradients: ``Predictor.gradients`` on a new drawing (NumPy forward pass, ONNX Runtime's outputs beside it,
  the backward pass), what the Draw tab's Learn view runs on its worker;
- step: ``one_step.take_step`` (gradients, the weights moved, the model bytes rewritten, a stepped
  Predictor opened and run on the drawing);
- sample: ``one_step.sample_change`` on 1,000 test images (both models), the background job after a step.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import REPO, ms, timed  # noqa: E402 - first: BLAS on one thread before numpy loads

# isort: split
import numpy as np  # noqa: E402 - after _timing, which puts BLAS on one thread


def main() -> None:
    from digitpad.core.backward import gradients
    from digitpad.core.evaluation import load_test_set
    from digitpad.core.inference import Predictor
    from digitpad.core.one_step import sample_change, take_step
    from digitpad.core.paths import shipped_model_path

    ap = argparse.ArgumentParser()
    ap.add_argument("--model", type=Path, default=shipped_model_path())
    ap.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "datasets")
    ap.add_argument("--digits", type=int, default=100)
    args = ap.parse_args()

    p = Predictor(args.model)
    test = load_test_set(args.data_dir, "mnist")
    xs = [(test.images[i].astype(np.float32) / 255)[None, None] for i in range(args.digits)]
    print(f"model {args.model.name}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; "
          f"BLAS threads {os.environ['OPENBLAS_NUM_THREADS']}; {args.digits} MNIST test digits")
    t0 = time.perf_counter()
    p.gradients(xs[0])
    print(f"first call (imports onnx, reads the graph): {(time.perf_counter() - t0) * 1e3:.0f} ms")

    net = p.network
    request = p._gradient_request(p.trace(xs[0]))
    traces = [net.run(x) for x in xs]
    back = timed(lambda v: gradients(net, v, 3, request), traces)
    full = timed(lambda x: p.gradients(x, 3), xs)
    fwd = timed(net.run, xs)
    steps = timed(lambda x: take_step(p, x, 3, 0.01), xs[:20])
    step = take_step(p, xs[0], 3, 0.01)
    sample = timed(lambda _: sample_change(p, step.predictor, test.images, test.labels), range(3))
    for name, s in (("NumPy forward pass (for scale)", fwd), ("backward pass, forward pass given", back),
                    ("Predictor.gradients, a new drawing", full), ("take_step (20 digits)", steps),
                    ("sample_change, 1,000 images x 2 models (3 runs)", sample)):
        print(f"  {name:<48} median {ms(s):8.2f} ms   p90 {ms(s, 90):8.2f} ms")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
