"""training.optim computes what torch.optim's classes and schedulers compute, to the bit, without
importing torch._dynamo; its state dict is torch's, both ways."""
from __future__ import annotations

import math
import subprocess
import sys
import warnings
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from training import models, optim
from training.config import TrainConfig


def _torch_reference(model, cfg: TrainConfig, total_steps: int, done_steps: int = 0, state=None):
    """torch's own optimiser and scheduler, configured as the engine configured them before training.optim."""
    decay, no_decay = optim.param_groups(model)
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if cfg.optimizer == "sgd":
        opt = torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.momentum > 0)
    elif cfg.optimizer == "rmsprop":
        opt = torch.optim.RMSprop(groups, lr=cfg.lr, alpha=0.9, eps=1e-7)
    else:
        opt = torch.optim.AdamW(groups, lr=cfg.lr)
    if state is not None:
        opt.load_state_dict(state)
        for group in opt.param_groups:   # what torch's schedulers add to the groups (ours keep no such state)
            group["initial_lr"] = cfg.lr / 25.0 if cfg.schedule == "onecycle" else cfg.lr
            group.update(max_lr=cfg.lr, min_lr=cfg.lr / 25.0 / 1e4, max_momentum=0.95, base_momentum=0.85)
    last = done_steps - 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if cfg.schedule == "onecycle":
            sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=max(total_steps, 5),
                                                        pct_start=0.25, last_epoch=last)
        else:
            lam = {"cosine": lambda t: 0.5 * (1 + math.cos(math.pi * min(t, total_steps) / total_steps)),
                   "inverse-time": lambda t: 1.0 / (1.0 + cfg.lr_decay * t),
                   "constant": lambda _: 1.0}[cfg.schedule]
            sched = torch.optim.lr_scheduler.LambdaLR(opt, lam, last_epoch=last)
    return opt, sched


def _batches(n: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return [(torch.rand(16, 1, 28, 28, generator=g).contiguous(memory_format=torch.channels_last),
             torch.randint(0, 10, (16,), generator=g)) for _ in range(n)]


def _net(seed: int = 0):
    torch.manual_seed(seed)
    return models.build("seed001").to(memory_format=torch.channels_last)


def _step(model, opt, x, y):
    loss = F.cross_entropy(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()


RECIPES = {
    "adamw onecycle": dict(optimizer="adamw", schedule="onecycle", lr=5e-3, weight_decay=5e-4),
    "adamw cosine": dict(optimizer="adamw", schedule="cosine", lr=3e-3, weight_decay=5e-4),
    "nesterov sgd onecycle (cifar10)": dict(optimizer="sgd", momentum=0.9, schedule="onecycle", lr=0.2,
                                            weight_decay=5e-4),
    "plain sgd onecycle (torch cycles its momentum too)": dict(optimizer="sgd", momentum=0.0, schedule="onecycle",
                                                               lr=0.1, weight_decay=0.0),
    "plain sgd constant (seed004's)": dict(optimizer="sgd", momentum=0.0, schedule="constant", lr=0.2),
    "keras rmsprop inverse-time (seed003)": dict(optimizer="rmsprop", schedule="inverse-time", lr=1e-4,
                                                 lr_decay=1e-2, weight_decay=0.0),
    "rmsprop onecycle": dict(optimizer="rmsprop", schedule="onecycle", lr=1e-3),
}


@pytest.mark.parametrize("recipe", RECIPES)
def test_the_same_weights_as_torch_optim_step_for_step(recipe):
    cfg = replace(TrainConfig(), **RECIPES[recipe])
    total, batches = 9, _batches(9)
    ours, theirs = _net(), _net()
    opt, schedule = optim.Optimizer(ours, cfg), optim.Schedule(cfg, total)
    ref_opt, ref_sched = _torch_reference(theirs, cfg, total)
    for step, (x, y) in enumerate(batches):
        schedule.set(opt, step)
        assert schedule.lr(step) == ref_sched.get_last_lr()[0]
        _step(ours, opt, x, y)
        _step(theirs, ref_opt, x, y)
        ref_sched.step()
        for a, b in zip(ours.parameters(), theirs.parameters()):
            assert torch.equal(a, b), f"step {step}"
    assert schedule.lr(total) == ref_sched.get_last_lr()[0]   # what the epoch record reports after the last step


@pytest.mark.parametrize("recipe", ["adamw onecycle", "nesterov sgd onecycle (cifar10)",
                                    "keras rmsprop inverse-time (seed003)"])
def test_state_dicts_cross_between_ours_and_torch_and_resume_on_any_step(recipe):
    """A checkpoint's optimizer state written by either loads in the other (old checkpoints resume),
    and a schedule rebuilt for a longer run takes up where torch's positioned scheduler does."""
    cfg = replace(TrainConfig(), **RECIPES[recipe])
    batches = _batches(8, seed=1)
    ours, theirs = _net(), _net()
    opt, schedule = optim.Optimizer(ours, cfg), optim.Schedule(cfg, 8)
    ref_opt, ref_sched = _torch_reference(theirs, cfg, 8)
    for step, (x, y) in enumerate(batches[:4]):
        schedule.set(opt, step)
        _step(ours, opt, x, y)
        _step(theirs, ref_opt, x, y)
        ref_sched.step()
    mine, torchs = opt.state_dict(), ref_opt.state_dict()
    assert mine.keys() == torchs.keys() and mine["state"].keys() == torchs["state"].keys()
    assert [set(g) for g in mine["param_groups"]] <= [set(g) | {"initial_lr", "max_lr", "min_lr", "base_momentum",
                                                                "max_momentum"} for g in torchs["param_groups"]]
    # Swap the states and go on with a longer run (--resume --epochs more): still equal, step for step.
    again, ref_again = optim.Optimizer(ours, cfg), None
    again.load_state_dict(torchs)
    ref_again, ref_sched = _torch_reference(theirs, cfg, 12, done_steps=4, state=mine)
    longer = optim.Schedule(cfg, 12)
    for step, (x, y) in enumerate(batches[4:], start=4):
        longer.set(again, step)
        assert longer.lr(step) == pytest.approx(ref_sched.get_last_lr()[0], rel=1e-12)
        _step(ours, again, x, y)
        _step(theirs, ref_again, x, y)
        ref_sched.step()
    for a, b in zip(ours.parameters(), theirs.parameters()):
        assert torch.allclose(a, b, rtol=0, atol=1e-7)


def test_a_step_imports_no_torch_dynamo():
    code = ("import sys, torch, torch.nn.functional as F\n"
            "from training import models, optim\n"
            "from training.config import preset\n"
            "for name in ('fast', 'cifar10', 'seed003'):\n"
            "    cfg = preset(name); net = models.for_config(cfg)\n"
            "    opt, sched = optim.Optimizer(net, cfg), optim.Schedule(cfg, 10)\n"
            "    size = net.input_size\n"
            "    x = torch.rand(4, net.in_channels, size, size)\n"
            "    sched.set(opt, 0); F.cross_entropy(net(x), torch.zeros(4, dtype=torch.long)).backward()\n"
            "    opt.step(); opt.zero_grad(); opt.load_state_dict(opt.state_dict())\n"
            "print('torch._dynamo' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
