"""One process of a data-parallel run, for tests/training/test_distributed.py:

    python -m torch.distributed.run --nproc_per_node 2 tests/support/ddp_worker.py DATA_DIR OUT_DIR

It trains with ``training.train.train`` in the world torchrun describes (digitpad-s, so batch norm's
statistics must be averaged; augmented, so each process draws its own; with a weight EMA), then
writes ``OUT_DIR/rank<R>.json``: the checksum of every tensor of the weights it ended with, its
threads and world, so the test can compare the processes. Only rank 0 may write the checkpoint.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from training import checkpoint, data, distributed, train
from training.config import TrainConfig
from training.progress import Reporter


def main(data_dir: str, out_dir: str) -> None:
    world = distributed.from_env()
    cfg = TrainConfig(arch="digitpad-s", data_dir=data_dir, epochs=1, limit=640, batch_size=64, augment=True,
                      ema=0.9, seed=5)
    train_split, test_split, _ = data.load_training(cfg)
    reporter = Reporter("none")
    reporter.quiet = not world.main
    out = Path(out_dir)
    result = train.train(cfg, (train_split, test_split), reporter, out / "m.ckpt.pt", world=world)
    state = result.model.state_dict()
    report = {"rank": world.rank, "size": world.size, "status": result.status, "world_size": result.world_size,
              "threads": result.threads, "weights_sha256": checkpoint.weights_digest(state),
              "tensors": {k: checkpoint.weights_digest({k: v}) for k, v in state.items()}}
    (out / f"rank{world.rank}.json").write_text(json.dumps(report))


if __name__ == "__main__":
    main(*sys.argv[1:])
