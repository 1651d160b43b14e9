"""The run's optimiser (AdamW, Nesterov SGD or Keras's RMSprop) and learning-rate schedule, computed
by torch's functional optimisers, without ``torch.optim.Optimizer``.

Why: ``torch.optim.Optimizer``'s constructor, ``step``, ``zero_grad`` and ``state_dict`` are wrapped
in ``torch._disable_dynamo``, which imports ``torch._dynamo`` (sympy, triton, ...) on its first call:
about 2 s here, in the middle of a run's first step. ``torch.optim.adamw.adamw``, ``sgd`` and
``rmsprop``, called directly, are the very functions those classes' ``step`` calls, and import
nothing. ``tests/training/test_optim.py`` checks step for step that the weights come out equal to
torch's classes (with their schedulers) to the bit.

The state dict is torch's format (parameters numbered in group order, torch's group keys), so a
checkpoint written by ``torch.optim`` loads here and the other way round. The schedules are closed
forms of the step, as torch's ``OneCycleLR`` and ``LambdaLR`` compute them: a resumed run sets the
step it is at, for any new total, and no scheduler state is kept.
"""
from __future__ import annotations

import math
from typing import Any

import torch
from torch.optim.adamw import adamw
from torch.optim.rmsprop import rmsprop
from torch.optim.sgd import sgd

from .config import TrainConfig


def param_groups(model: torch.nn.Module) -> tuple[list, list]:
    """The optimiser's two groups, in the order its saved state numbers the parameters:
    weights with weight decay (conv, linear), then those without (biases, BN)."""
    params = list(model.parameters())
    return [p for p in params if p.ndim > 1], [p for p in params if p.ndim <= 1]


def _hyper(cfg: TrainConfig) -> dict[str, Any]:
    """A group's settings under torch's names and with torch's defaults, so the saved groups read
    as torch.optim's (lr and momentum are then set for every step by the schedule)."""
    common = {"lr": cfg.lr, "maximize": False, "foreach": None, "differentiable": False}
    if cfg.optimizer == "sgd":
        return {**common, "momentum": cfg.momentum, "dampening": 0, "nesterov": cfg.momentum > 0, "fused": None}
    if cfg.optimizer == "rmsprop":
        # Keras 2's RMSprop: rho 0.9 (torch's alpha; torch defaults to 0.99) and epsilon K.epsilon() = 1e-7
        # added to the root (torch's formula too): p -= lr * g / (sqrt(a) + eps).
        return {**common, "momentum": 0, "alpha": 0.9, "eps": 1e-7, "centered": False, "capturable": False}
    return {**common, "betas": (0.9, 0.999), "eps": 1e-8, "amsgrad": False, "capturable": False, "fused": None,
            "decoupled_weight_decay": True}


class Optimizer:
    """``cfg.optimizer`` over ``model``'s two parameter groups (``param_groups``): what
    ``torch.optim.AdamW``/``SGD``/``RMSprop`` hold and do, one functional call per group and step."""

    def __init__(self, model: torch.nn.Module, cfg: TrainConfig):
        self.kind = cfg.optimizer
        decay, no_decay = param_groups(model)
        self.param_groups = [{**_hyper(cfg), "weight_decay": wd, "params": ps}
                             for ps, wd in ((decay, cfg.weight_decay), (no_decay, 0.0))]
        self.state: dict[torch.Tensor, dict[str, Any]] = {}

    def zero_grad(self) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if params:
                getattr(self, f"_{self.kind}")(group, params, [p.grad for p in params])

    # -- one group's update, as torch's class builds its state and calls its function ---------------
    def _adamw(self, group: dict, params: list, grads: list) -> None:
        states = [self._init(p, ("exp_avg", "exp_avg_sq")) for p in params]
        adamw(params, grads, [s["exp_avg"] for s in states], [s["exp_avg_sq"] for s in states], [],
              [s["step"] for s in states], amsgrad=False, beta1=group["betas"][0], beta2=group["betas"][1],
              lr=group["lr"], weight_decay=group["weight_decay"], eps=group["eps"], maximize=False)

    def _sgd(self, group: dict, params: list, grads: list) -> None:
        buffers = [self.state.get(p, {}).get("momentum_buffer") for p in params] if group["momentum"] else []
        sgd(params, grads, buffers, weight_decay=group["weight_decay"], momentum=group["momentum"], lr=group["lr"],
            dampening=group["dampening"], nesterov=group["nesterov"], maximize=False)
        for p, buf in zip(params, buffers):   # the first step makes the buffers
            self.state.setdefault(p, {})["momentum_buffer"] = buf

    def _rmsprop(self, group: dict, params: list, grads: list) -> None:
        momentum = group["momentum"] > 0
        states = [self._init(p, ("square_avg", "momentum_buffer") if momentum else ("square_avg",)) for p in params]
        rmsprop(params, grads, [s["square_avg"] for s in states], [],
                [s["momentum_buffer"] for s in states] if momentum else [], [s["step"] for s in states],
                lr=group["lr"], alpha=group["alpha"], eps=group["eps"], weight_decay=group["weight_decay"],
                momentum=group["momentum"], centered=False)

    def _init(self, p: torch.Tensor, buffers: tuple[str, ...]) -> dict[str, torch.Tensor]:
        """``p``'s state, made on its first step: a step counter on the CPU (torch keeps it there unless
        capturable), and ``buffers`` as zeros like ``p``, in its memory format (channels-last convs)."""
        if p not in self.state:
            self.state[p] = {"step": torch.tensor(0.0),
                             **{k: torch.zeros_like(p, memory_format=torch.preserve_format) for k in buffers}}
        return self.state[p]

    # -- torch's state dict ----------------------------------------------------------------------------
    def _numbered(self) -> list[torch.Tensor]:
        return [p for group in self.param_groups for p in group["params"]]

    def state_dict(self) -> dict[str, Any]:
        index = {id(p): i for i, p in enumerate(self._numbered())}
        groups, start = [], 0
        for group in self.param_groups:
            end = start + len(group["params"])
            groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": list(range(start, end))})
            start = end
        return {"state": {index[id(p)]: dict(s) for p, s in self.state.items()}, "param_groups": groups}

    def load_state_dict(self, saved: dict[str, Any]) -> None:
        """Per-parameter state from ``saved`` (checked against the arch by ``checkpoint.load``), moved to
        each parameter's device and dtype as torch does (its ``step`` counters stay on the CPU). The
        saved groups' settings are not taken: they are the run's config, which a resume keeps, and the
        schedule sets the learning rate and momentum of the step the run resumes at."""
        params = self._numbered()
        self.state = {}
        for i, per_param in saved["state"].items():
            p = params[i]
            self.state[p] = {k: v if k == "step" or not isinstance(v, torch.Tensor) else
                             v.to(device=p.device, dtype=p.dtype) for k, v in per_param.items()}


def _annealing_cos(start: float, end: float, pct: float) -> float:
    """torch's OneCycleLR cosine, term for term (so the floats are torch's to the bit)."""
    cos_out = math.cos(math.pi * pct) + 1
    return end + (start - end) / 2.0 * cos_out


class Schedule:
    """``cfg.schedule`` over ``total_steps``: the learning rate of every step (counted from 0), and for
    one-cycle the momentum (Adam's beta1), as torch's OneCycleLR (pct_start 0.25, div_factor 25,
    final_div_factor 1e4, momentum 0.95 -> 0.85 -> 0.95, on every optimiser, as torch cycles it) and
    LambdaLR compute them."""

    def __init__(self, cfg: TrainConfig, total_steps: int):
        self.cfg = cfg
        # torch's one-cycle divides by zero below 5 steps (its 25% warm-up must span a step): a run
        # that short (a test on a handful of pictures) takes the first steps of a 5-step cycle.
        self.total = max(total_steps, 5) if cfg.schedule == "onecycle" else total_steps

    def lr(self, step: int) -> float:
        return self._at(step)[0]

    def _at(self, step: int) -> tuple[float, float | None]:
        cfg = self.cfg
        if cfg.schedule == "onecycle":
            top = cfg.lr
            start = top / 25.0
            end_up, end_down = float(0.25 * self.total) - 1, self.total - 1
            if step <= end_up:
                pct = (step - 0.0) / (end_up - 0.0)
                return _annealing_cos(start, top, pct), _annealing_cos(0.95, 0.85, pct)
            pct = (step - end_up) / (end_down - end_up)
            return _annealing_cos(top, start / 1e4, pct), _annealing_cos(0.85, 0.95, pct)
        if cfg.schedule == "cosine":
            factor = 0.5 * (1 + math.cos(math.pi * min(step, self.total) / self.total))
        elif cfg.schedule == "inverse-time":
            factor = 1.0 / (1.0 + cfg.lr_decay * step)   # Keras's optimizer `decay`: lr / (1 + decay * t)
        else:
            factor = 1.0
        return cfg.lr * factor, None

    def set(self, opt: Optimizer, step: int) -> None:
        """Give ``opt`` the learning rate (and momentum) of ``step``, before it takes that step."""
        lr, momentum = self._at(step)
        for group in opt.param_groups:
            group["lr"] = lr
            if momentum is not None:
                if "betas" in group:
                    group["betas"] = (momentum, *group["betas"][1:])
                else:
                    group["momentum"] = momentum
