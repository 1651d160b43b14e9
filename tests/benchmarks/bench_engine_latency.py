"""The engine's latencies (issue 14), side by side in alternating rounds:

1. launch -> first ``step`` event of ``digitpad-train --arch seed001 --epochs 1`` (target <= 2.0 s),
   beside the floor every run pays: a Python that imports torch, and torch + torch._dynamo
   (which torch.optim imports on first use);
2. the export phase of a run, ``epoch`` event -> ``exported`` event (ONNX export, onnx.checker,
   ONNX Runtime parity on the 10,000 test images), for the small nets (target <= 1.0 s);
3. ONNX Runtime's latency per image (batch 1, all outputs) with batch norm kept as nodes vs
   folded into the conv (ORT fuses the kept ones at load, so they should match);
4. with ``--alternatives``: the export in-process, warm, for each exporter and parity variant
   (dynamo with/without its optimiser, TorchScript; PyTorch recomputed vs the run's own last
   evaluation; 10,000 vs 2,000 parity images), so the choice in training/export.py rests on numbers.

    .venv/bin/python tests/benchmarks/bench_engine_latency.py [--rounds 5] [--alternatives]
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

REPO = Path(__file__).resolve().parents[2]
SMALL_NETS = ("seed001", "seed002", "digitpad-s")


# The same work for any engine version: without a preset the engine's defaults changed (issue 14),
# so every recipe setting is given.
PLAIN = ["--synthetic", "0", "--restroke", "0", "--no-augment", "--ema", "0", "--label-smoothing", "0",
         "--mild-epochs", "0"]


def first_events(args: list[str], stop_at: str, root: Path = REPO) -> dict[str, float]:
    """Seconds from launch to the first event of each kind, until ``stop_at``; then the process is
    killed. ``root``: the checkout whose engine runs (another version, to compare side by side)."""
    cmd = [sys.executable, "-m", "training", *args, *PLAIN, "--progress", "jsonl"]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(root)})
    marks: dict[str, float] = {}
    for line in proc.stdout:
        event = json.loads(line)
        marks.setdefault(event["event"], time.monotonic() - t0)
        if event["event"] == stop_at:
            break
    proc.kill()
    proc.wait()
    if stop_at not in marks:
        raise SystemExit(f"no {stop_at} event: {proc.stderr.read()[-1000:]}")
    return marks


def python_floor(code: str) -> float:
    t0 = time.monotonic()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.monotonic() - t0


def median_table(rows: dict[str, list[float]], target: float | None = None, unit: str = "s") -> None:
    for name, values in rows.items():
        med = statistics.median(values)
        verdict = "" if target is None else f"  (target <= {target} s: {'met' if med <= target else 'NOT met'})"
        print(f"  {name:44s} {med:6.2f} {unit}  [{', '.join(f'{v:.2f}' for v in values)}]{verdict}")


def bench_first_step(data_dir: str, rounds: int, baseline: Path | None) -> None:
    out = Path(tempfile.mkdtemp()) / "m.onnx"
    rows: dict[str, list[float]] = {"python -c 'import torch'": [], "python -c 'import torch, torch._dynamo'": [],
                                    "digitpad-train -> start event": [], "digitpad-train -> first step event": []}
    if baseline:
        rows.update({"baseline -> start event": [], "baseline -> first step event": []})
    args = ["--arch", "seed001", "--epochs", "1", "--data-dir", data_dir, "--out", str(out)]
    for _ in range(rounds):
        rows["python -c 'import torch'"].append(python_floor("import torch"))
        rows["python -c 'import torch, torch._dynamo'"].append(python_floor("import torch, torch._dynamo"))
        for name, root in [("digitpad-train", REPO)] + ([("baseline", baseline)] if baseline else []):
            marks = first_events(args, "step", root)
            rows[f"{name} -> start event"].append(marks["start"])
            rows[f"{name} -> first step event"].append(marks["step"])
    print(f"\nlaunch -> first step, seed001, median of {rounds} (load {os.getloadavg()[0]:.1f}):")
    median_table(rows)
    first = statistics.median(rows["digitpad-train -> first step event"])
    print(f"  target: first step <= 2.0 s: {'met' if first <= 2.0 else 'NOT met'}")


def bench_export_phase(data_dir: str, rounds: int, baseline: Path | None) -> None:
    versions = [("", REPO)] + ([("baseline ", baseline)] if baseline else [])
    rows: dict[str, list[float]] = {f"{v}{arch}": [] for arch in SMALL_NETS for v, _ in versions}
    for _ in range(rounds):
        for arch in SMALL_NETS:
            for v, root in versions:
                out = Path(tempfile.mkdtemp()) / "m.onnx"
                marks = first_events(["--arch", arch, "--epochs", "1", "--limit", "256", "--data-dir", data_dir,
                                      "--out", str(out)], "exported", root)
                rows[f"{v}{arch}"].append(marks["exported"] - marks["epoch"])
    print(f"\nexport phase in a run (epoch event -> exported event; export, checker, parity on 10,000 test images), "
          f"median of {rounds} (load {os.getloadavg()[0]:.1f}):")
    median_table({f"{arch}": v for arch, v in rows.items()}, target=1.0)


def bench_alternatives(data_dir: str, rounds: int) -> None:
    import warnings

    import onnx
    import torch

    from training import data, export, models
    from training.train import evaluate

    _, test = data.load("mnist", data_dir)
    images = torch.from_numpy(test.images.copy())
    labels = torch.from_numpy(test.labels)

    def variants_for(arch: str, net, probs) -> dict:
        """The export steps to time for one net, each a call with no arguments."""

        def dynamo(optimize: bool):
            batch = torch.export.Dim("batch", min=1, max=65536)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return torch.onnx.export(export._ContractWrapper(net), (torch.zeros(2, 1, 28, 28),), dynamo=True,
                                         input_names=["image"], output_names=export._output_names(net),
                                         dynamic_shapes={"image": {0: batch}}, optimize=optimize,
                                         verbose=False).model_proto

        variants = {
            "graph: dynamo, optimize=True (BN folded)": lambda: dynamo(True),
            "graph: dynamo, optimize=False": lambda: dynamo(False),
            "graph: TorchScript, PRESERVE (BN kept)": lambda: export.to_proto(net)[0],
            "onnx.checker full_check": lambda: onnx.checker.check_model(export.to_proto(net)[0], full_check=True),
        }
        proto_bytes = export.to_proto(net)[0].SerializeToString()
        variants.update({
            "parity 10k, PyTorch recomputed": lambda: export.parity(proto_bytes, net, test.images),
            "parity 10k, run's own probabilities": lambda: export.parity(proto_bytes, net, test.images, probs),
            "parity 2k, run's own probabilities": lambda: export.parity(proto_bytes, net, test.images[:2000],
                                                                        probs[:2000]),
            "whole export() as the engine calls it": lambda: export.export(
                net, Path(tempfile.mkdtemp()) / "m.onnx", arch=arch, dataset="mnist", metrics={}, training={},
                parity_images=test.images, parity_reference=probs),
        })
        return variants

    print(f"\nexport alternatives in-process, warm, median of {rounds} (load {os.getloadavg()[0]:.1f}), "
          f"{torch.get_num_threads()} torch threads:")
    for arch in SMALL_NETS:
        net = models.build(arch).eval()
        _, probs = evaluate(net, images, labels)
        variants = variants_for(arch, net, probs)
        rows: dict[str, list[float]] = {name: [] for name in variants}
        for fn in variants.values():
            fn()  # warm-up (imports, first trace)
        for _ in range(rounds):
            for name, fn in variants.items():
                t0 = time.perf_counter()
                fn()
                rows[name].append(time.perf_counter() - t0)
        print(f" {arch}:")
        median_table(rows)


def bench_bn_inference(rounds: int, calls: int = 300) -> None:
    """ONNX Runtime per-image latency as the app calls it (batch 1, every output), BN kept as
    nodes (what the engine exports) vs folded into the conv (the dynamo exporter's optimiser)."""
    import warnings

    import numpy as np
    import onnxruntime as ort
    import torch

    from training import export, models

    x = np.random.default_rng(0).random((1, 1, 28, 28), dtype=np.float32)
    print(f"\nONNX Runtime, 1 image, all outputs, median ms per call over {rounds} x {calls} calls "
          f"(load {os.getloadavg()[0]:.1f}):")
    for arch in ("digitpad", "digitpad-s", "seed002"):
        net = models.build(arch).eval()
        batch = torch.export.Dim("batch", min=1, max=65536)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            folded = torch.onnx.export(export._ContractWrapper(net), (torch.zeros(2, 1, 28, 28),), dynamo=True,
                                       input_names=["image"], output_names=export._output_names(net),
                                       dynamic_shapes={"image": {0: batch}}, optimize=True, verbose=False).model_proto
        sessions = {"BN kept (TorchScript export)": export.to_proto(net)[0], "BN folded (dynamo, optimize)": folded}
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # as the app's Predictor, beside a training run
        sessions = {k: ort.InferenceSession(v.SerializeToString(), options, providers=["CPUExecutionProvider"])
                    for k, v in sessions.items()}
        rows: dict[str, list[float]] = {k: [] for k in sessions}
        for sess in sessions.values():
            sess.run(None, {"image": x})
        for _ in range(rounds):
            for name, sess in sessions.items():
                t0 = time.perf_counter()
                for _ in range(calls):
                    sess.run(None, {"image": x})
                rows[name].append((time.perf_counter() - t0) / calls * 1000)
        print(f" {arch}:")
        median_table(rows, unit="ms")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", default=str(REPO.parent / "shared" / "datasets"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--alternatives", action="store_true", help="also time export variants in-process")
    ap.add_argument("--only", choices=["first-step", "export", "alternatives", "inference"])
    ap.add_argument("--baseline", type=Path, help="another checkout (e.g. git archive of an older commit) to run "
                    "side by side in the first-step and export rounds")
    args = ap.parse_args()
    if args.only in (None, "first-step"):
        bench_first_step(args.data_dir, args.rounds, args.baseline)
    if args.only in (None, "export"):
        bench_export_phase(args.data_dir, args.rounds, args.baseline)
    if args.alternatives or args.only == "alternatives":
        bench_alternatives(args.data_dir, args.rounds)
    if args.only in (None, "inference"):
        bench_bn_inference(args.rounds)


if __name__ == "__main__":
    main()
