"""The training loop: plain and short, in the spirit of pytorch/examples' mnist.

Data sits on the device as uint8; a step indexes a batch, augments it on the device and
takes one optimiser step. A checkpoint is written every epoch, and on SIGINT/SIGTERM after
the current step, so ``--resume`` continues where the run stopped.
"""
from __future__ import annotations

import contextlib
import copy
import math
import os
import time
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from . import checkpoint, data, memory, models, precision
from .augment import augment, augment_config
from .config import TrainConfig
from .errors import TrainError
from .progress import Reporter
from .stop import StopFlag


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise TrainError("--device cuda was asked for, but no CUDA GPU is available "
                         "(torch.cuda.is_available() is False); use --device cpu or auto")
    return torch.device(name)


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
    threads: int = 1                 # torch's intra-op threads (--threads 0 resolved)


def make_optimizer(model, cfg: TrainConfig) -> torch.optim.Optimizer:
    decay, no_decay = checkpoint.param_groups(model)
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.momentum > 0)
    if cfg.optimizer == "rmsprop":
        # Keras 2's RMSprop: rho 0.9 (torch's alpha; torch defaults to 0.99) and epsilon K.epsilon() = 1e-7
        # added to the root (torch's formula too): p -= lr * g / (sqrt(a) + eps).
        return torch.optim.RMSprop(groups, lr=cfg.lr, alpha=0.9, eps=1e-7)
    return torch.optim.AdamW(groups, lr=cfg.lr)


def make_schedule(opt, cfg: TrainConfig, total_steps: int, done_steps: int = 0):
    """The learning-rate schedule over ``total_steps``, positioned after ``done_steps``. Every
    schedule is a closed form of the step, so a resumed run (with the optimizer's state loaded)
    rebuilds it for any total: no scheduler state is kept in the checkpoint."""
    last = done_steps - 1  # torch's count of scheduler steps taken; -1: a fresh run
    with warnings.catch_warnings():  # "lr_scheduler.step() before optimizer.step()": positioning a resumed run
        warnings.simplefilter("ignore")
        if cfg.schedule == "onecycle":
            # torch's one-cycle divides by zero below 5 steps (its 25% warm-up must span a step): a run
            # that short (a test on a handful of pictures) takes the first steps of a 5-step cycle.
            return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=max(total_steps, 5),
                                                       pct_start=0.25, last_epoch=last)
        if cfg.schedule == "cosine":
            return torch.optim.lr_scheduler.LambdaLR(
                opt, lambda t: 0.5 * (1 + math.cos(math.pi * min(t, total_steps) / total_steps)), last_epoch=last)
        if cfg.schedule == "inverse-time":
            # Keras's optimizer `decay`: step t (counted from 0) uses lr / (1 + decay * t).
            return torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 1.0 / (1.0 + cfg.lr_decay * t), last_epoch=last)
        return torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0, last_epoch=last)


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
          resume: dict | None = None, init: dict | None = None, preset: str | None = None) -> RunResult:
    """Train ``cfg`` on ``splits`` (train, test; from ``data.load_training``) from scratch, from
    ``init`` (a loaded checkpoint: fine-tuning) or from ``resume`` (a loaded checkpoint of this run)."""
    t0 = time.monotonic()
    models.check_input(cfg.arch, cfg.dataset)
    device = resolve_device(cfg.device)
    if resume is not None and resume["device"] != device.type:
        raise TrainError(f"this run trained on {resume['device']}; resume it with --device {resume['device']} "
                         "(its random streams belong to that device)")
    if cfg.threads == 0:
        idle = idle_cores()
        torch.set_num_threads(idle)
        reporter.log(f"--threads 0: {idle} thread{'s' if idle > 1 else ''} (the cores the rest of the machine "
                     f"leaves idle: load {os.getloadavg()[0]:.1f} on {_cores()})")
    elif cfg.threads:
        torch.set_num_threads(cfg.threads)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed 28x28 shapes: let cuDNN pick its fastest kernels
    torch.manual_seed(cfg.seed)
    prec = precision.resolve(cfg.precision, device)
    if prec.note:
        reporter.log(prec.note)

    train_split, test_split = splits
    scale = train_split.full_scale
    n_train = len(train_split.labels)
    if resume is not None and resume["n_train"] != n_train:
        raise TrainError(f"the training data now has {n_train:,} images, the run's had {resume['n_train']:,}: "
                         "resume with the same data (--data-dir, --extra files)")
    init_weights = checkpoint.inference_weights(init) if init is not None else None
    # like=: checkpoints from before the ceil-mode pool fix still resume and fine-tune
    model = models.for_config(cfg, like=resume["model"] if resume is not None else init_weights)
    if init_weights is not None:
        model.load_state_dict(init_weights)
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
    opt = make_optimizer(model, cfg)
    # An EMA of the weights (and BN statistics) smooths out the last steps' noise; when kept,
    # it is the model that is evaluated, exported and fine-tuned from.
    ema = WeightEMA(model, cfg.ema) if cfg.ema else None
    evaluated = ema.module if ema else model
    full_aug = augment_config(cfg.dataset, cfg.augment_style)
    scaler = prec.scaler()
    mild_aug = full_aug.scaled(cfg.mild_strength)
    gen = torch.Generator(device=device).manual_seed(cfg.seed + 1)
    perm_gen = torch.Generator().manual_seed(cfg.seed + 2)

    run_id = uuid.uuid4().hex
    parent = {"run_id": init["run_id"], "weights_sha256": init["weights_sha256"]} if init is not None else None
    epoch, step_in_epoch, history, prior_s, perm = 0, 0, [], 0.0, None
    sums = None   # a stopped epoch's running loss and accuracy figures, carried over by its checkpoint
    if resume is not None:
        run_id, parent = resume["run_id"], resume["parent"]
        model.load_state_dict(resume["model"])
        opt.load_state_dict(resume["optimizer"])
        gen.set_state(resume["aug_rng"])
        perm_gen.set_state(resume["perm_rng"])
        epoch, step_in_epoch = resume["epoch"], resume["step_in_epoch"]
        history, prior_s, perm = resume["history"], resume["elapsed_s"], resume["perm"]
        sums = resume.get("epoch_sums")
        if ema is not None:
            ema.module.load_state_dict(resume["ema_model"])
            ema.n = resume["ema_n"]
    global_step = epoch * steps_per_epoch + step_in_epoch
    sched = make_schedule(opt, cfg, total_steps, global_step)
    if resume is not None and resume["config"]["epochs"] != cfg.epochs:
        reporter.log(f"--epochs {cfg.epochs} (the run had {resume['config']['epochs']}): the learning-rate schedule "
                     f"is rebuilt for {total_steps:,} steps; continuing at step {global_step:,}")

    def save(ep: int, step: int, current_perm, part=None) -> None:
        checkpoint.save({
            "run_id": run_id, "parent": parent, "config": cfg.to_dict(), "device": device.type, "n_train": n_train,
            "model": model.state_dict(), "ema_model": ema.module.state_dict() if ema else None,
            "ema_n": ema.n if ema else 0, "optimizer": opt.state_dict(), "aug_rng": gen.get_state(),
            "perm_rng": perm_gen.get_state(), "epoch": ep, "step_in_epoch": step, "perm": current_perm,
            "history": history, "elapsed_s": prior_s + time.monotonic() - t0, "best": best,
            **({"epoch_sums": part} if part else {}),
        }, ckpt_path)

    # The stop flag is set before the start event goes out: a stop as soon as the run is announced
    # is a graceful one (checkpoint, "stopped"), not an interruption.
    with StopFlag() as stop:
        reporter.start(total_steps, global_step, config=cfg.to_dict(), preset=preset, run_id=run_id,
                       device=str(device), params=models.count_params(model), n_train=n_train, n_test=len(test_y),
                       steps_per_epoch=steps_per_epoch, total_samples=cfg.epochs * n_train, precision=prec.name,
                       resumed=resume is not None, checkpoint=str(ckpt_path), setup_s=round(time.monotonic() - t0, 3))
        status, test_probs = "completed", None
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
            loss_sum, loss_n = torch.zeros((), device=device), 0
            # Train accuracy as Keras and the tutorials report it: the running share of each
            # batch's digits the model got right as it trained (augmented, weights moving), on
            # the device, so no step waits for it and no second pass over the data is needed.
            correct, digits = torch.zeros((), device=device), torch.zeros((), device=device)
            if step_in_epoch and sums:   # resumed mid-epoch: the epoch's figures cover its first part too
                loss_sum += sums["loss_sum"]
                loss_n = sums["loss_n"]
                correct += sums["correct"]
                digits += sums["seen"]
            sums = None
            while step_in_epoch < steps_per_epoch:
                idx = perm_dev[step_in_epoch * cfg.batch_size:(step_in_epoch + 1) * cfg.batch_size]
                x, y = to_batch(train_x[idx], scale), train_y[idx]
                if cfg.augment:
                    x = augment(x, aug_cfg, gen)
                with prec.autocast():
                    logits = model(x)
                    loss = loss_fn(logits, y, cfg.label_smoothing, nondigit_weight)
                opt.zero_grad(set_to_none=True)
                if scaler is not None:
                    scaler.scale(loss).backward()
                    scaler.step(opt)
                    scaler.update()
                else:
                    loss.backward()
                    opt.step()
                sched.step()
                if ema is not None:
                    ema.update()
                step_in_epoch += 1
                global_step += 1
                loss_sum += loss.detach()
                loss_n += 1
                correct += (logits.detach().argmax(1) == y).sum()   # a non-digit's label (-1) never matches
                digits += (y >= 0).sum()
                # The last step of an epoch, and the step a stop lands on, always reach the app.
                last = step_in_epoch == steps_per_epoch or stop.requested
                # .item() syncs the device; only pay for it when an event will actually go out.
                if last or reporter.mode == "bar" or reporter.due():
                    rate = (global_step - run_step0) * cfg.batch_size / max(time.monotonic() - run_t0, 1e-9)
                    reporter.step(global_step, force=last, epoch=epoch + 1, loss=loss.item(),
                                  lr=sched.get_last_lr()[0], samples_per_s=rate,
                                  eta_s=(total_steps - global_step) * cfg.batch_size / max(rate, 1e-9),
                                  elapsed_s=prior_s + time.monotonic() - t0)
                if stop.requested:
                    break
            if stop.requested and step_in_epoch < steps_per_epoch:
                save(epoch, step_in_epoch, perm, {"loss_sum": loss_sum.item(), "loss_n": loss_n,
                                                  "correct": correct.item(), "seen": digits.item()})
                status = "stopped"
                reporter.stopped_mid_epoch(epoch + 1, step_in_epoch, steps_per_epoch, str(ckpt_path))
                break
            # The last epoch in float32: its probabilities are what the export's parity check compares
            # ONNX Runtime with, and its accuracy is the model's. Earlier ones in the run's precision
            # (on CIFAR-10's test set a bfloat16 evaluation gave 86.85% where float32 gave 86.89%, the same
            # answer for 99.87% of the pictures, in half the time).
            last_epoch = epoch + 1 == cfg.epochs
            metrics, test_probs = evaluate(evaluated, test_x, test_y, full_scale=scale,
                                           autocast=None if last_epoch or prec.dtype is None else prec)
            epoch += 1
            step_in_epoch, perm = 0, None
            record = {"epoch": epoch, "train_loss": (loss_sum / max(loss_n, 1)).item(),
                      "train_accuracy": (correct / digits.clamp_min(1)).item(), **metrics,
                      "lr": sched.get_last_lr()[0], "elapsed_s": prior_s + time.monotonic() - t0}
            history.append(record)
            if metrics["test_accuracy"] > best_acc:
                best_acc = metrics["test_accuracy"]
                best = {"epoch": epoch, "model": {k: v.detach().cpu().clone() for k, v in
                                                  evaluated.state_dict().items()}}
            save(epoch, 0, None)
            reporter.epoch(record, cfg.epochs, str(ckpt_path))
            if stop.requested and epoch < cfg.epochs:  # the stop came during the last step or the evaluation
                status = "stopped"
                reporter.log(f"stopped after epoch {epoch}/{cfg.epochs}; checkpoint {ckpt_path} "
                             "(continue with --resume)")
                break
    reporter.close()
    return RunResult(evaluated.eval(), status, run_id, history, prior_s + time.monotonic() - t0, str(device),
                     test_split, test_probs, precision=prec.name, threads=torch.get_num_threads())
