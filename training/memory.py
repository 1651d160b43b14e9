"""Will a training step fit in memory? Checked before any step, so ``--batch-size 10000000``
is a one-line refusal instead of a machine swapping for minutes until the kernel kills it.

The estimate is per image: the outputs of every leaf module for one image, times ``FACTOR``
for what autograd keeps and the gradients. Measured peak growth of a step (forward, backward,
AdamW, augmentation) was 1.2-1.9x that sum for every arch in the zoo at batches of 2,048 and
8,192 on CPU, hence 2.
"""
from __future__ import annotations

import re
from pathlib import Path

import torch

from .errors import TrainError

FACTOR = 2.0
SHARE = 0.5        # a step may take at most half the free memory: the app and the rest of the system need some
EVAL_BATCH = 1000  # train.evaluate's batch


def bytes_per_image(model: torch.nn.Module) -> int:
    """Sum of every leaf module's output size for one input image, in bytes (float32)."""
    sizes: list[int] = []
    hooks = [m.register_forward_hook(lambda _m, _i, out: sizes.append(out.numel() * out.element_size()))
             for m in model.modules() if not list(m.children())]
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, model.in_channels, model.input_size, model.input_size))
    finally:
        for h in hooks:
            h.remove()
        model.train()
    return sum(sizes)


def _proc_kib(path: str, key: str) -> int | None:
    try:
        found = re.search(rf"^{key}:\s+(\d+) kB", Path(path).read_text(), re.MULTILINE)
    except OSError:
        return None
    return int(found.group(1)) * 1024 if found else None


def available_bytes(device: torch.device) -> int | None:
    """Memory this process can still get: free GPU memory, or on the CPU the smallest of the
    kernel's MemAvailable, the cgroup's limit minus its use, and the address-space limit minus
    this process's size. None where none of these can be read (then there is no check)."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    found = [_proc_kib("/proc/meminfo", "MemAvailable")]
    try:
        limit, used = (Path("/sys/fs/cgroup", f).read_text().strip() for f in ("memory.max", "memory.current"))
        if limit.isdigit():
            found.append(int(limit) - int(used))
    except OSError:
        pass
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        size = _proc_kib("/proc/self/status", "VmSize")
        if soft != resource.RLIM_INFINITY and size is not None:
            found.append(soft - size)
    except (ImportError, OSError, ValueError):
        pass
    found = [f for f in found if f is not None]
    return max(0, min(found)) if found else None


def check(model: torch.nn.Module, batch_size: int, n_train: int, data_bytes: int, device: torch.device) -> int:
    """Raise TrainError when a step at ``batch_size`` (capped at the training-set size) plus the
    data on ``device`` will not fit; return the estimate in bytes."""
    batch = min(batch_size, n_train)
    per_image = bytes_per_image(model)
    need = int(FACTOR * per_image * max(batch, EVAL_BATCH / FACTOR)) + (data_bytes if device.type == "cuda" else 0)
    free = available_bytes(device)
    if free is None or need <= SHARE * free:
        return need
    fits = int((SHARE * free - (data_bytes if device.type == "cuda" else 0)) / (FACTOR * per_image))
    where = "GPU memory" if device.type == "cuda" else "memory"
    hint = f"use --batch-size {fits} or less" if fits >= 1 else "this arch does not fit at any batch size here"
    capped = f" (the batch is capped at the {n_train:,} training images)" if batch_size > n_train else ""
    raise TrainError(f"--batch-size {batch_size} needs about {need / 2**30:.1f} GB for one training step{capped}, "
                     f"more than half of the {free / 2**30:.1f} GB of free {where}; {hint}")
