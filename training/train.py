"""The training loop: plain and short, in the spirit of pytorch/examples' mnist.

Data sits on the device as uint8; a step indexes a batch, augments it on the device and
takes one optimiser step. A checkpoint is written every epoch, and on SIGINT/SIGTERM after
the current step, so ``--resume`` continues where the run stopped. Under torchrun the same loop
runs in every process, each on its share of every batch (``distributed.py``).
"""
from __future__ import annotations

import contextlib
import copy
import math
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from . import checkpoint, data, distributed, live, memory, models, optim, precision, snapshots
from .augment import augment, augment_config
from .config import TrainConfig
from .errors import TrainError
from .progress import Reporter
from .stop import StopFlag


def resolve_device(name: str, world: distributed.World = distributed.ALONE) -> torch.device:
    """--device's choice; in a data-parallel run on GPUs, each process on this machine takes its own."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise TrainError("--device cuda was asked for, but no CUDA GPU is available "
                         "(torch.cuda.is_available() is False); use --device cpu or auto")
    if name != "cuda" or not world.distributed:
        return torch.device(name)
    if world.local_rank >= torch.cuda.device_count():
        raise TrainError(f"this machine has {torch.cuda.device_count()} GPU(s) for {world.local_size} processes: "
                         "start at most one process per GPU (torchrun --nproc_per_node)")
    return torch.device("cuda", world.local_rank)


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def idle_cores() -> int:
    """The cores the rest of the machine leaves idle now (its 1-minute load average), at least one.
    Why: on a busy machine every thread more than the idle cores costs time instead of saving it,
    because each parallel operation waits for its slowest thread and that one is often descheduled.
    Measured on this 2-core machine, the cifar10 arch in bfloat16: under a load of 5 (other
    processes) 330-365 images/s on one thread and 100-170 on two; with the machine nearly idle,
    510 on one and 1,005 on two."""
    return max(1, min(_cores(), math.floor(_cores() - os.getloadavg()[0] + 0.5)))


@dataclass
class RunResult:
    model: models.Net
    status: str                      # "completed" | "stopped"
    run_id: str
    history: list[dict[str, Any]] = field(default_factory=list)
    elapsed_s: float = 0.0
    device: str = "cpu"
    test_split: data.Split | None = None
    test_probs: np.ndarray | None = None  # the exported model's probabilities on test_split (None: no epoch ran)
    precision: str = "fp32"          # what the training steps computed in (--precision auto resolved)
    threads: int = 1                 # torch's intra-op threads (--threads 0 resolved), in each process
    world_size: int = 1              # the processes that trained it together (torchrun)
    snapshots: snapshots.Recorder | None = None   # the run's weight snapshots, rank 0's (finished after the export)


class WeightEMA:
    """An exponential moving average of the weights and BN statistics, with TensorFlow's
    warm-up: after n updates the decay is min(decay, (1 + n) / (10 + n)), so a short run (an
    80-step fine-tune, a test) is not stuck near its starting weights. torch's AveragedModel
    has no warm-up, hence these few lines."""

    def __init__(self, model: torch.nn.Module, decay: float):
        self.module = copy.deepcopy(model).eval().requires_grad_(False)
        self.decay, self.n = decay, 0
        # state_dict tensors share storage with the live ones, and the optimiser updates in place.
        self._pairs = list(zip(self.module.state_dict().values(), model.state_dict().values()))

    @torch.no_grad()
    def update(self) -> None:
        d = min(self.decay, (1 + self.n) / (10 + self.n))
        self.n += 1
        for avg, cur in self._pairs:
            if avg.is_floating_point():
                avg.lerp_(cur, 1 - d)
            else:  # BN's num_batches_tracked
                avg.copy_(cur)


def to_batch(images_u8: torch.Tensor, full_scale: int = 255) -> torch.Tensor:
    """uint8 images ([n, S, S] grey or [n, C, S, S]) -> the canonical float batch [n, C, S, S], 0..1."""
    # channels_last: oneDNN's convolutions run 30-50% faster on CPU in this layout (measured).
    x = images_u8.float().div_(full_scale)   # optdigits: block counts 0..16
    x = x.unsqueeze(1) if x.ndim == 3 else x
    return x.contiguous(memory_format=torch.channels_last)


def first_conv_probe(model: torch.nn.Module, x: torch.Tensor) -> live.Probe | None:
    """(layer, kernels, maps) of the model's first conv block for the batch ``x`` of one image: the block's
    activation (conv, BN with its running statistics, ReLU) as the evaluated model computes it; None for a
    net without named conv blocks."""
    blocks = getattr(model, "blocks", None)
    first = next(iter(blocks.items()), None) if blocks is not None else None
    if first is None or not isinstance(getattr(first[1], "conv", None), torch.nn.Conv2d):
        return None
    name, block = first

    def probe():
        was = block.training
        block.eval()
        try:
            with torch.no_grad():
                act = block(model._input(x))[0]
        finally:
            block.train(was)
        return name, block.conv.weight.detach().float().cpu().numpy(), act[0].float().cpu().numpy()
    return probe


def loss_fn(logits: torch.Tensor, y: torch.Tensor, label_smoothing: float,
            nondigit_weight: float | None) -> torch.Tensor:
    """Cross-entropy on digits; on non-digits (label NOT_DIGIT) the cross-entropy to a uniform
    distribution over the classes, times ``nondigit_weight`` (outlier exposure, Hendrycks et al.).
    ``nondigit_weight=None``: the training set has no non-digits, plain cross-entropy (the
    uniform term and the mask cost 0.1-0.2 ms a step at batch 64, a tiny net's step is ~5 ms)."""
    if nondigit_weight is None:
        return F.cross_entropy(logits, y, label_smoothing=label_smoothing)
    digit = y >= 0
    ce = F.cross_entropy(logits, y.clamp_min(0), label_smoothing=label_smoothing, reduction="none")
    uniform = -F.log_softmax(logits, dim=1).mean(dim=1)
    return torch.where(digit, ce, nondigit_weight * uniform).mean()


@torch.no_grad()
def evaluate(model, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 1000, full_scale: int = 255,
             autocast=None) -> tuple[dict[str, float], np.ndarray]:
    """Test loss and accuracy, and the probabilities [N, K] (the export's parity check compares
    ONNX Runtime with these instead of running PyTorch over the test set again). ``full_scale``:
    the images' full-ink value (optdigits: 16). ``autocast``: a precision.Precision to evaluate in
    (a bfloat16 run's epochs but its last); None: float32, which the export's parity needs."""
    model.eval()
    loss_sum, correct, probs = 0.0, 0, []
    for i in range(0, len(labels), batch_size):
        with autocast.autocast() if autocast is not None else contextlib.nullcontext():
            logits = model(to_batch(images[i:i + batch_size], full_scale)).float()
        y = labels[i:i + batch_size]
        loss_sum += F.cross_entropy(logits, y, reduction="sum").item()
        correct += (logits.argmax(1) == y).sum().item()
        probs.append(torch.softmax(logits.float(), 1).cpu())
    model.train()
    n = max(len(labels), 1)
    return {"test_loss": loss_sum / n, "test_accuracy": correct / n}, torch.cat(probs).numpy()


def train(cfg: TrainConfig, splits: tuple[data.Split, data.Split], reporter: Reporter, ckpt_path: Path,
          resume: dict | None = None, init: dict | None = None, preset: str | None = None,
          world: distributed.World = distributed.ALONE, after_step: Callable[[int], None] | None = None
          ) -> RunResult:
    """Train ``cfg`` on ``splits`` (train, test; from ``data.load_training``) from scratch, from
    ``init`` (a loaded checkpoint: fine-tuning) or from ``resume`` (a loaded checkpoint of this run).
    ``world``: this process's place in a data-parallel run (``training/distributed.py``; only rank 0
    evaluates and writes). ``after_step(step)``: called after every optimiser step, in every process."""
    t0 = time.monotonic()
    models.check_input(cfg.arch, cfg.dataset)
    device = resolve_device(cfg.device, world)
    if resume is not None and resume["device"] != device.type:
        raise TrainError(f"this run trained on {resume['device']}; resume it with --device {resume['device']} "
                         "(its random streams belong to that device)")
    _set_threads(cfg, world, reporter)
    group = distributed.Group(world, device)
    try:
        return _train(cfg, splits, reporter, ckpt_path, resume, init, preset, device, group, after_step, t0)
    finally:
        group.close()


def _set_threads(cfg: TrainConfig, world: distributed.World, reporter: Reporter) -> None:
    idle = idle_cores() if cfg.threads == 0 else 0
    threads = distributed.threads(world, cfg.threads, idle, _cores())
    if threads:
        torch.set_num_threads(threads)
    if cfg.threads == 0:
        shared = f", shared by {world.local_size} processes" if world.local_size > 1 else ""
        reporter.log(f"--threads 0: {threads} thread{'s' if threads > 1 else ''} (the cores the rest of the machine "
                     f"leaves idle: load {os.getloadavg()[0]:.1f} on {_cores()}{shared})")


def _train(cfg: TrainConfig, splits: tuple[data.Split, data.Split], reporter: Reporter, ckpt_path: Path,
           resume: dict | None, init: dict | None, preset: str | None, device: torch.device, group: distributed.Group,
           after_step: Callable[[int], None] | None, t0: float) -> RunResult:
    world = group.world
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed input shapes: let cuDNN pick its fastest kernels
    torch.manual_seed(cfg.seed)   # the same initial weights in every process
    prec = precision.resolve(cfg.precision, device)
    if prec.note:
        reporter.log(prec.note)

    train_split, test_split = splits
    scale = train_split.full_scale
    n_train = len(train_split.labels)
    if resume is not None and resume["n_train"] != n_train:
        raise TrainError(f"the training data now has {n_train:,} images, the run's had {resume['n_train']:,}: "
                         "resume with the same data (--data-dir, --extra files)")
    if world.distributed:
        group.check_same_run({
            "recipe": {k: v for k, v in cfg.to_dict().items() if k not in ("out", "data_dir", "threads")},
            "training data": distributed.data_digest(train_split.images, train_split.labels),
            "test data": distributed.data_digest(test_split.images, test_split.labels),
            "checkpoint": resume["sha256"] if resume is not None else None,
            "initial weights": init["weights_sha256"] if init is not None else None})
    init_weights = checkpoint.inference_weights(init) if init is not None else None
    # like=: checkpoints from before the ceil-mode pool fix still resume and fine-tune
    model = models.for_config(cfg, like=resume["model"] if resume is not None else init_weights)
    if init_weights is not None:
        model.load_state_dict(init_weights)
    torch.manual_seed(distributed.seed(cfg.seed, world))   # dropout: each process its own masks
    data_bytes = train_split.images.nbytes + test_split.images.nbytes
    memory.check(model, cfg.batch_size, n_train, data_bytes, device)
    train_x = torch.from_numpy(train_split.images.copy()).to(device)  # copy: IDX arrays are read-only views
    train_y = torch.from_numpy(train_split.labels).to(device)
    nondigit_weight = cfg.nondigit_weight if bool((train_y < 0).any()) else None
    test_x = torch.from_numpy(test_split.images.copy()).to(device)
    test_y = torch.from_numpy(test_split.labels).to(device)

    model = model.to(device, memory_format=torch.channels_last)
    steps_per_epoch = math.ceil(n_train / cfg.batch_size)
    total_steps = steps_per_epoch * cfg.epochs
    opt = optim.Optimizer(model, cfg)
    # An EMA of the weights (and BN statistics) smooths out the last steps' noise; when kept,
    # it is the model that is evaluated, exported and fine-tuned from.
    ema = WeightEMA(model, cfg.ema) if cfg.ema else None
    evaluated = ema.module if ema else model
    full_aug = augment_config(cfg.dataset, cfg.augment_style)
    scaler = prec.scaler()
    mild_aug = full_aug.scaled(cfg.mild_strength)
    gen = torch.Generator(device=device).manual_seed(distributed.seed(cfg.seed + 1, world))
    perm_gen = torch.Generator().manual_seed(cfg.seed + 2)   # the epoch's order: global, the same everywhere

    run_id = uuid.uuid4().hex
    parent = {"run_id": init["run_id"], "weights_sha256": init["weights_sha256"]} if init is not None else None
    epoch, step_in_epoch, history, prior_s, perm = 0, 0, [], 0.0, None
    sums = None   # a stopped epoch's running loss and accuracy figures, carried over by its checkpoint
    if resume is not None:
        run_id, parent = resume["run_id"], resume["parent"]
        model.load_state_dict(resume["model"])
        opt.load_state_dict(resume["optimizer"])
        perm_gen.set_state(resume["perm_rng"])
        epoch, step_in_epoch = resume["epoch"], resume["step_in_epoch"]
        history, prior_s, perm = resume["history"], resume["elapsed_s"], resume["perm"]
        if world.main:
            gen.set_state(resume["aug_rng"])
        else:
            gen.manual_seed(distributed.seed(cfg.seed + 1, world, epoch * steps_per_epoch + step_in_epoch))
        sums = resume.get("epoch_sums")
        if ema is not None:
            ema.module.load_state_dict(resume["ema_model"])
            ema.n = resume["ema_n"]
    global_step = epoch * steps_per_epoch + step_in_epoch
    sched = optim.Schedule(cfg, total_steps)
    if resume is not None and resume["config"]["epochs"] != cfg.epochs:
        reporter.log(f"--epochs {cfg.epochs} (the run had {resume['config']['epochs']}): the learning-rate schedule "
                     f"is rebuilt for {total_steps:,} steps; continuing at step {global_step:,}")
    net = group.wrap(model)   # what a step runs: the model, or DistributedDataParallel over it

    # Rank 0 alone keeps snapshots: every process holds the same weights, and rank 0 alone writes.
    snaps = snapshots.Recorder(snapshots.beside(ckpt_path), engine="torch", run_id=run_id, planned_steps=total_steps,
                               steps_per_epoch=steps_per_epoch, step=global_step,
                               weights=snapshots.torch_weights(evaluated), log=reporter.log,
                               state=resume.get("snapshots") if resume is not None else None) if world.main else None

    def save(ep: int, step: int, current_perm, part=None) -> None:
        checkpoint.save({
            "run_id": run_id, "parent": parent, "config": cfg.to_dict(), "device": device.type, "n_train": n_train,
            "model": model.state_dict(), "ema_model": ema.module.state_dict() if ema else None,
            "ema_n": ema.n if ema else 0, "optimizer": opt.state_dict(), "aug_rng": gen.get_state(),
            "perm_rng": perm_gen.get_state(), "epoch": ep, "step_in_epoch": step, "perm": current_perm,
            "history": history, "elapsed_s": prior_s + time.monotonic() - t0, "best": best,
            "snapshots": snaps.save(history),
            **({"epoch_sums": part} if part else {}),
        }, ckpt_path)

    # The stop flag is set before the start event goes out: a stop as soon as the run is announced
    # is a graceful one (checkpoint, "stopped"), not an interruption.
    with StopFlag() as stop:
        # Every process's handler is in place before rank 0 announces the run: a SIGTERM that torchrun
        # passes on as soon as the start event is out would otherwise kill a process still a few lines
        # behind (cli's handler until then: an error), and the others with it.
        group.barrier()
        reporter.start(total_steps, global_step, config=cfg.to_dict(), preset=preset, run_id=run_id,
                       device=str(device), params=models.count_params(model), n_train=n_train, n_test=len(test_y),
                       steps_per_epoch=steps_per_epoch, total_samples=cfg.epochs * n_train, precision=prec.name,
                       world_size=world.size, resumed=resume is not None, checkpoint=str(ckpt_path),
                       setup_s=round(time.monotonic() - t0, 3))
        if snaps is not None:   # the first layer's kernels and maps of the first test image, at every snapshot
            first = to_batch(test_x[:1], scale)
            probe = first_conv_probe(evaluated, first)
            if probe is not None:
                snaps.on_take = live.Live(reporter, probe, first[0].float().cpu().numpy(), int(test_y[0]),
                                          steps_per_epoch)
                snaps.on_take(global_step)
        status, test_probs, stopping = "completed", None, False
        # The epoch with the best test accuracy so far, its inference weights kept for `export --best`.
        best = resume.get("best") if resume is not None else None
        best_acc = history[best["epoch"] - 1]["test_accuracy"] if best is not None else -1.0
        model.train()
        run_t0, run_step0 = time.monotonic(), global_step
        while epoch < cfg.epochs:
            if perm is None:
                perm = torch.randperm(n_train, generator=perm_gen)
            perm_dev = perm.to(device)
            aug_cfg = mild_aug if epoch >= cfg.epochs - cfg.mild_epochs else full_aug
            loss_sum, loss_n = torch.zeros((), device=device), torch.zeros((), device=device)
            # Train accuracy as Keras and the tutorials report it: the running share of each
            # batch's digits the model got right as it trained (augmented, weights moving), on
            # the device, so no step waits for it and no second pass over the data is needed.
            correct, digits = torch.zeros((), device=device), torch.zeros((), device=device)
            # Resumed mid-epoch: the epoch's figures cover its first part too. They are every process's,
            # summed (a checkpoint holds the run's), so only rank 0 starts from them: the epoch's sum over
            # the processes counts them once, on any number of processes.
            if step_in_epoch and sums and world.main:
                loss_sum += sums["loss_sum"]
                loss_n += sums["loss_n"]
                correct += sums["correct"]
                digits += sums["seen"]
            sums = None
            while step_in_epoch < steps_per_epoch:
                batch = perm_dev[step_in_epoch * cfg.batch_size:(step_in_epoch + 1) * cfg.batch_size]
                idx = distributed.shard(batch, world)   # this process's share of the global batch
                x, y = to_batch(train_x[idx], scale), train_y[idx]
                if cfg.augment:
                    x = augment(x, aug_cfg, gen)
                with prec.autocast():
                    logits = net(x)
                    loss = loss_fn(logits, y, cfg.label_smoothing, nondigit_weight)
                opt.zero_grad()
                sched.set(opt, global_step)
                if scaler is not None:
                    scaler.scale(loss).backward()
                    scaler.step(opt)
                    scaler.update()
                else:
                    loss.backward()   # DistributedDataParallel averages the gradients here
                    opt.step()
                if ema is not None:
                    ema.update()
                step_in_epoch += 1
                global_step += 1
                if snaps is not None:
                    snaps.after_step(global_step, loss)
                if after_step is not None:
                    after_step(global_step)
                loss_sum += loss.detach()
                loss_n += 1
                correct += (logits.detach().argmax(1) == y).sum()   # a non-digit's label (-1) never matches
                digits += (y >= 0).sum()
                # Every process stops after the same step: a stop that reached any of them.
                stopping = group.any(stop.requested)
                # The last step of an epoch, and the step a stop lands on, always reach the app.
                last = step_in_epoch == steps_per_epoch or stopping
                # .item() syncs the device; only pay for it when an event will actually go out.
                if world.main and (last or reporter.mode == "bar" or reporter.due()):
                    rate = (global_step - run_step0) * cfg.batch_size / max(time.monotonic() - run_t0, 1e-9)
                    reporter.step(global_step, force=last, epoch=epoch + 1, loss=loss.item(),
                                  lr=sched.lr(global_step), samples_per_s=rate,
                                  eta_s=(total_steps - global_step) * cfg.batch_size / max(rate, 1e-9),
                                  elapsed_s=prior_s + time.monotonic() - t0)
                if stopping:
                    break
            # Every process's batch-norm statistics, averaged: what is evaluated and checkpointed.
            group.average_buffers(model, ema.module if ema else None)
            if stopping and step_in_epoch < steps_per_epoch:
                # The stopped epoch's running figures, summed over the processes (a collective: every process).
                part_loss, part_n, part_correct, part_seen = group.sum(
                    torch.stack([loss_sum, loss_n, correct, digits])).tolist()
                if world.main:
                    save(epoch, step_in_epoch, perm, {"loss_sum": part_loss, "loss_n": round(part_n),
                                                      "correct": part_correct, "seen": part_seen})
                status = "stopped"
                reporter.stopped_mid_epoch(epoch + 1, step_in_epoch, steps_per_epoch, str(ckpt_path))
                break
            train_loss, seen, right, total = group.sum(torch.stack([loss_sum, loss_n, correct, digits])).tolist()
            epoch += 1
            step_in_epoch, perm = 0, None
            if world.main:   # the others go on to the next collective (the next step's, or the vote below)
                # The last epoch in float32: its probabilities are what the export's parity check compares
                # ONNX Runtime with, and its accuracy is the model's. Earlier ones in the run's precision
                # (on CIFAR-10's test set a bfloat16 evaluation gave 86.85% where float32 gave 86.89%, the
                # same answer for 99.87% of the pictures, in half the time).
                metrics, test_probs = evaluate(evaluated, test_x, test_y, full_scale=scale,
                                               autocast=None if epoch == cfg.epochs or prec.dtype is None else prec)
                record = {"epoch": epoch, "train_loss": train_loss / max(seen, 1),
                          "train_accuracy": right / max(total, 1), **metrics,
                          "lr": sched.lr(global_step), "elapsed_s": prior_s + time.monotonic() - t0}
                history.append(record)
                if metrics["test_accuracy"] > best_acc:
                    best_acc = metrics["test_accuracy"]
                    best = {"epoch": epoch, "model": {k: v.detach().cpu().clone() for k, v in
                                                      evaluated.state_dict().items()}}
                save(epoch, 0, None)
                reporter.epoch(record, cfg.epochs, str(ckpt_path))
            if group.any(stop.requested) and epoch < cfg.epochs:  # during the last step or the evaluation
                status = "stopped"
                reporter.log(f"stopped after epoch {epoch}/{cfg.epochs}; checkpoint {ckpt_path} "
                             "(continue with --resume)")
                break
    reporter.close()
    return RunResult(evaluated.eval(), status, run_id, history, prior_s + time.monotonic() - t0, str(device),
                     test_split, test_probs, precision=prec.name, threads=torch.get_num_threads(),
                     world_size=world.size, snapshots=snaps)
