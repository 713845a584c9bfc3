"""The suite's optimizers as stock torch.optim classes, every argument written out.

torch.optim *is* the reference arithmetic of the suite (coupled L2 weight decay, Adam's eps on
sqrt(v_hat)), so nothing is reimplemented here: the point is that no torch default is left to
decide an outcome, and that foreach/fused stay at the defaults torch users get.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from bench.specs import Recipe


def make(recipe: Recipe, params: Iterable[nn.Parameter], lr: float) -> torch.optim.Optimizer:
    """The optimizer for ``recipe`` with initial learning rate ``lr`` (set per step later)."""
    a = recipe.optimizer_args
    wd = recipe.weight_decay
    params = list(params)
    if recipe.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=lr, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=wd
        )
    if recipe.optimizer == "momentum":
        return torch.optim.SGD(
            params,
            lr=lr,
            momentum=float(a["momentum"]),
            dampening=0.0,
            nesterov=False,
            weight_decay=wd,
        )
    if recipe.optimizer == "adam":
        return torch.optim.Adam(
            params,
            lr=lr,
            betas=(float(a["beta1"]), float(a["beta2"])),
            eps=float(a["eps"]),
            weight_decay=wd,
            amsgrad=False,
        )
    if recipe.optimizer == "adagrad":
        return torch.optim.Adagrad(
            params,
            lr=lr,
            lr_decay=0.0,
            weight_decay=wd,
            initial_accumulator_value=float(a["initial_accumulator"]),
            eps=float(a["eps"]),
        )
    if recipe.optimizer == "rmsprop":
        return torch.optim.RMSprop(
            params,
            lr=lr,
            alpha=float(a["alpha"]),
            eps=float(a["eps"]),
            weight_decay=wd,
            momentum=0.0,
            centered=False,
        )
    raise ValueError(f"unknown optimizer {recipe.optimizer!r}")
