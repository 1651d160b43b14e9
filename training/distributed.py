"""Data-parallel training: ``torchrun --nproc_per_node N -m training ...`` (``--nnodes M`` and a
rendezvous for several machines) runs N copies of this engine, one per core group or GPU.

torchrun gives each copy its place in the environment (RANK, WORLD_SIZE, LOCAL_RANK,
LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT). Each process loads the whole data set (a split is
tens of MB, as in one process), builds the same net from the same seed, and takes every step on
its share of the same global batch (``--batch-size`` is the global batch, so N processes train what
one does); DistributedDataParallel averages the gradients, so the weights stay equal. Batch norm's
running statistics are each process's own until the end of an epoch (or a stop), when they are
averaged: what is evaluated, checkpointed and exported is then every process's data's.

Only rank 0 writes: the checkpoint, the model, the run log, the jsonl events and the log lines
(the others print nothing on stdout, and on stderr only their own errors). Every process votes
after every step on whether a stop (SIGTERM, SIGINT) has reached any of them, so all stop after
the same step and rank 0's checkpoint is the run's; ``--resume`` takes it on any number of
processes, since the order of the data and the step are global.

Every function here is a no-op for a world of one (a plain run), so the loop has one path. This
module imports torch only inside its functions: the CLI reads the world before it knows whether
the run is the NumPy engine's, which never imports torch.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import TrainError

if TYPE_CHECKING:
    import torch

# torchrun's variables, in the order they are checked.
_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE")


@dataclass(frozen=True)
class World:
    """This process's place among the run's processes: a world of one unless torchrun started it."""
    rank: int = 0
    size: int = 1
    local_rank: int = 0          # its place on this machine (its GPU)
    local_size: int = 1          # processes on this machine (they share its cores)

    @property
    def main(self) -> bool:
        """The process that writes (rank 0)."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


ALONE = World()   # a plain run: one process


def from_env(environ: Mapping[str, str] = os.environ) -> World:
    """The world torchrun describes in ``environ``, or a world of one. TrainError for values that
    are not a consistent world (torchrun never writes those; a hand-made environment may)."""
    if "WORLD_SIZE" not in environ:
        return ALONE
    try:
        rank, size, local_rank, local_size = (int(environ.get(k, d)) for k, d in zip(
            _ENV, ("0", "1", "0", environ.get("WORLD_SIZE", "1"))))
    except ValueError:
        raise TrainError(f"torchrun's {', '.join(_ENV)} must be integers (got "
                         f"{', '.join(repr(environ.get(k)) for k in _ENV)})") from None
    if not (0 <= rank < size and 0 <= local_rank < local_size <= size):
        raise TrainError(f"RANK {rank}, WORLD_SIZE {size}, LOCAL_RANK {local_rank}, LOCAL_WORLD_SIZE {local_size} "
                         "are not a process's place among the run's: start several processes with torchrun")
    return World(rank, size, local_rank, local_size)


def threads(world: World, asked: int | None, idle: int, cores: int) -> int | None:
    """Torch threads for one process: ``asked`` (--threads N, per process) as given; else the
    machine's cores (``idle`` ones for --threads 0) shared between the processes on it. None: torch's
    own default (a plain run without --threads). torchrun sets OMP_NUM_THREADS=1 for every process,
    which would leave a many-core machine's cores idle when a few processes train on it."""
    if asked:
        return asked
    if asked == 0:
        return max(1, idle // world.local_size)
    return max(1, cores // world.local_size) if world.distributed else None


def shard(idx: torch.Tensor, world: World) -> torch.Tensor:
    """This process's share of a global batch ``idx``, as DistributedSampler deals a data set: every
    ``size``-th index from its rank, the batch first padded by repeating its own indices to a multiple
    of the processes, so every process takes the step on as many images (never none)."""
    if not world.distributed:
        return idx
    padded = len(idx) + -len(idx) % world.size
    if padded > len(idx):
        idx = idx.repeat(-(-padded // len(idx)))[:padded]
    return idx[world.rank::world.size]


def seed(base: int, world: World, step: int = 0) -> int:
    """The seed of a random stream that differs between processes (augmentation, dropout): rank 0's
    is ``base``, a plain run's, so one process trains exactly as before; the others' differ by rank,
    and by the step a resumed run starts at (only rank 0's stream is in the checkpoint)."""
    return base if world.main else base + 1_000_003 * world.rank + step


class Group:
    """The process group of a data-parallel run (gloo on CPUs, NCCL for CUDA tensors with gloo for the
    small CPU tensors of the votes and sums), and what the loop asks of it. For a world of one it
    starts nothing and every method returns at once."""

    def __init__(self, world: World, device: torch.device):
        self.world = world
        self.device = device
        if not world.distributed:
            return
        import torch.distributed as dist

        if not dist.is_available():
            raise TrainError("this torch was built without torch.distributed: train in one process")
        backend = "cpu:gloo,cuda:nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            import torch

            torch.cuda.set_device(device)
        try:
            dist.init_process_group(backend, rank=world.rank, world_size=world.size)
        except (RuntimeError, ValueError) as e:   # a rendezvous that cannot be reached, a missing variable
            raise TrainError(f"cannot join the run's {world.size} processes ({' '.join(str(e).split())[:160]})") \
                from None

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        """The module a training step runs: ``model`` itself, or DistributedDataParallel over it, which
        averages the gradients during backward. Buffers (batch norm's statistics) are not broadcast
        before every forward (``broadcast_buffers=False``): each process keeps its own, and
        ``average_buffers`` averages them when it matters."""
        if not self.world.distributed:
            return model
        import inspect

        from torch.nn.parallel import DistributedDataParallel

        ids = [self.device.index] if self.device.type == "cuda" else None
        # torch 2.14 renamed broadcast_buffers (and warns); both still sync the buffers once, at the start.
        no_sync = "forward_sync_buffers" if "forward_sync_buffers" in inspect.signature(
            DistributedDataParallel).parameters else "broadcast_buffers"
        return DistributedDataParallel(model, device_ids=ids, **{no_sync: False})

    def any(self, flag: bool) -> bool:
        """Whether ``flag`` is true in any process (a stop that reached one of them); every process
        must ask at the same point of the loop."""
        if not self.world.distributed:
            return flag
        import torch
        import torch.distributed as dist

        vote = torch.tensor([int(flag)])
        dist.all_reduce(vote, op=dist.ReduceOp.MAX)
        return bool(vote.item())

    def barrier(self) -> None:
        """Wait until every process has reached this point (a vote on the CPU: gloo even beside NCCL)."""
        self.any(False)

    def sum(self, values: torch.Tensor) -> torch.Tensor:
        """``values`` (a 1-d tensor on any device) summed over the processes, on the CPU."""
        values = values.detach().float().cpu()
        if self.world.distributed:
            import torch.distributed as dist

            dist.all_reduce(values)
        return values

    def average_buffers(self, *modules: torch.nn.Module | None) -> None:
        """Average the floating-point buffers (batch norm's running mean and variance) of ``modules``
        over the processes; integer ones (batches tracked) are equal everywhere already."""
        if not self.world.distributed:
            return
        import torch.distributed as dist

        for module in modules:
            if module is None:
                continue
            for buf in module.buffers():
                if buf.is_floating_point():
                    dist.all_reduce(buf)
                    buf.div_(self.world.size)

    def check_same_run(self, what: dict[str, object]) -> None:
        """TrainError in every process unless all of them start the same run: the same recipe, data
        and checkpoint (``what``: name -> a value whose repr says it). On several machines each reads
        its own files: another copy of the data, or a checkpoint at --out that is not rank 0's, would
        train another run in each process."""
        if not self.world.distributed:
            return
        import torch
        import torch.distributed as dist

        mine = torch.tensor([list(hashlib.sha256(repr(v).encode()).digest()[:8]) for v in what.values()],
                            dtype=torch.int64)
        everyone = [torch.empty_like(mine) for _ in range(self.world.size)]
        dist.all_gather(everyone, mine)
        differ = [name for i, name in enumerate(what) if any(not torch.equal(e[i], everyone[0][i]) for e in everyone)]
        if differ:
            raise TrainError(f"the run's {self.world.size} processes do not all see the same {', '.join(differ)}: "
                             "every machine needs the same data and --resume/--init files (a shared folder)")

    def close(self) -> None:
        if self.world.distributed:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()


def data_digest(*arrays) -> str:
    """A digest of the training data as loaded (numpy arrays), for ``Group.check_same_run``."""
    h = hashlib.blake2b(digest_size=16)
    for a in arrays:
        h.update(str((a.shape, a.dtype)).encode())
        h.update(memoryview(a).cast("B") if a.flags.c_contiguous else a.tobytes())
    return h.hexdigest()
