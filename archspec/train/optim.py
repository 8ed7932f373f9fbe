"""The recipe's optimizer, and its learning rate as a pure function of the step.

A schedule that is a function of the step count has no state beyond that count, so a
resumed run gets exactly the rates the uninterrupted one would have.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from archspec.train.recipe import Optimizer, Schedule


def make_optimizer(net: nn.Module, o: Optimizer) -> torch.optim.Optimizer:
    params = [p for p in net.parameters() if p.requires_grad]  # frozen nodes stay out
    if o.type == "sgd":
        return torch.optim.SGD(params, lr=o.lr, momentum=o.momentum, nesterov=o.nesterov,
                               weight_decay=o.weight_decay)
    return torch.optim.AdamW(params, lr=o.lr, betas=o.betas, eps=o.eps, weight_decay=o.weight_decay)


def lr_at(s: Schedule, peak: float, t: float, total: float) -> float:
    """The rate after `t` epochs (fractional) of `total`: linear warm-up from warmup_start * peak,
    then constant, x gamma at each milestone, or a half cosine from peak down to min_lr."""
    if t < s.warmup_epochs:
        return peak * (s.warmup_start + (1 - s.warmup_start) * t / s.warmup_epochs)
    if s.type == "constant":
        return peak
    if s.type == "step":
        return peak * s.gamma ** sum(t >= m for m in s.milestones)
    span = max(total - s.warmup_epochs, 1e-9)
    done = min((t - s.warmup_epochs) / span, 1.0)
    return s.min_lr + (peak - s.min_lr) * 0.5 * (1 + math.cos(math.pi * done))


def set_lr(opt: torch.optim.Optimizer, lr: float) -> None:
    for g in opt.param_groups:
        g["lr"] = lr
