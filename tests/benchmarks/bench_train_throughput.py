"""Samples/s of the engine's loop against seed 001's DataLoader+ToTensor loop.

Same model (seed001), same batch (64), same optimiser, same process, alternating rounds;
prints the median of each and their ratio.

    .venv/bin/python tests/benchmarks/bench_train_throughput.py [--rounds 5 --steps 150]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _seed_loop import seed_loader, torchvision_mnist_root  # noqa: E402

from training import data, models  # noqa: E402
from training.train import to_batch  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def time_steps(model, opt, batches, steps: int, channels_last: bool) -> float:
    model.train()
    t0 = time.perf_counter()
    for _ in range(steps):
        x, y = next(batches)
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return steps * 64 / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", default=str(REPO.parent / "shared" / "datasets"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    def seed_batches():
        while True:
            yield from seed_loader(root, 64)

    def engine_batches():
        while True:
            perm = torch.randperm(len(train_y))
            for i in range(0, len(perm) - 63, 64):
                idx = perm[i:i + 64]
                yield to_batch(train_x[idx]), train_y[idx]

    root = torchvision_mnist_root(Path(args.data_dir))
    train, _ = data.load("mnist", args.data_dir)
    train_x, train_y = torch.from_numpy(train.images.copy()), torch.from_numpy(train.labels)
    runs = {"seed DataLoader+ToTensor": [], "engine uint8 tensor + index": []}
    seed_it, engine_it = seed_batches(), engine_batches()
    for r in range(args.rounds):
        for name, it, cl in (("seed DataLoader+ToTensor", seed_it, False),
                             ("engine uint8 tensor + index", engine_it, True)):
            model = models.build("seed001")
            if cl:
                model = model.to(memory_format=torch.channels_last)
            opt = torch.optim.Adam(model.parameters(), 1e-3)
            time_steps(model, opt, it, 10, cl)  # warm-up
            runs[name].append(time_steps(model, opt, it, args.steps, cl))
        print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:.0f}/s" for k, v in runs.items()), flush=True)
    seed, engine = (statistics.median(v) for v in runs.values())
    print(f"\nseed001, batch 64, {torch.get_num_threads()} threads, "
          f"median of {args.rounds} rounds x {args.steps} steps:")
    print(f"  seed DataLoader+ToTensor loop : {seed:8.0f} samples/s")
    print(f"  engine loop                   : {engine:8.0f} samples/s")
    print(f"  ratio                         : {engine / seed:8.2f}x")


if __name__ == "__main__":
    main()
