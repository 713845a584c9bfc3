"""The suite's optimizers as stock torch.optim classes, every argument written out.

torch.optim *is* the reference arithmetic of the suite (coupled L2 weight decay, Adam's eps on
sqrt(v_hat), momentum ``v = mu v + g; p -= lr v``, Nesterov ``p -= lr (g + mu v)``), so nothing
is reimplemented here: the point is that no torch default is left to decide an outcome, and that
foreach/fused stay at the defaults torch users get. Hence ``stock=True`` (the framework's own
optimizer, for speed figures) returns the very same objects as ``stock=False`` in torch.

Weight decay is given per parameter group: with ``recipe.decay_exclusions`` the biases and
BatchNorm gamma/beta (:func:`bench.zoo.recipes.decays`) go to a group with ``weight_decay=0``.
``recipe.clip_grad_norm`` > 0 clips with ``torch.nn.utils.clip_grad_norm_`` (scale
min(1, max_norm / (norm + 1e-6)), before the optimizer adds coupled L2) from a step pre-hook,
so the adapters' loops are unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from bench.zoo.recipes import decayed
from bench.zoo.specs import Recipe


def param_groups(
    recipe: Recipe, named_params: Iterable[tuple[str, nn.Parameter]]
) -> list[dict[str, Any]]:
    """Decayed and non-decayed groups (empty ones dropped); a parameter bound twice counts once."""
    named = [(n, p) for n, p in named_params if p.requires_grad]
    flags = decayed([n for n, _ in named], recipe.decay_exclusions)
    seen: set[int] = set()
    groups: dict[bool, list[nn.Parameter]] = {True: [], False: []}
    for (_, p), flag in zip(named, flags, strict=True):
        if id(p) not in seen:
            seen.add(id(p))
            groups[flag].append(p)
    wd = float(recipe.weight_decay)
    return [
        {"params": ps, "weight_decay": wd if flag else 0.0} for flag, ps in groups.items() if ps
    ]


def make(
    recipe: Recipe,
    named_params: Iterable[tuple[str, nn.Parameter]],
    lr: float,
    stock: bool = False,
) -> torch.optim.Optimizer:
    """The optimizer for ``recipe`` over the (canonical name, parameter) pairs, with initial
    learning rate ``lr`` (the adapter sets each step's rate from the harness's table).

    ``stock`` is accepted for the interface every framework shares; in torch the formula-matched
    optimizer is torch.optim's default implementation already.
    """
    del stock  # the same torch.optim object either way (see the module docstring)
    groups = param_groups(recipe, named_params)
    opt = _optimizer(recipe, groups, lr)
    if recipe.clip_grad_norm > 0:
        params = [p for g in groups for p in g["params"]]
        max_norm = float(recipe.clip_grad_norm)

        def clip(optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
            torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type=2.0)

        opt.register_step_pre_hook(clip)
    return opt


def _optimizer(recipe: Recipe, groups: list[dict[str, Any]], lr: float) -> torch.optim.Optimizer:
    a = recipe.optimizer_args
    if recipe.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=0.0, dampening=0.0, nesterov=False)
    if recipe.optimizer == "momentum":
        return torch.optim.SGD(
            groups,
            lr=lr,
            momentum=float(a["momentum"]),
            dampening=0.0,
            nesterov=bool(a["nesterov"]),
        )
    if recipe.optimizer == "adam":
        return torch.optim.Adam(
            groups,
            lr=lr,
            betas=(float(a["beta1"]), float(a["beta2"])),
            eps=float(a["eps"]),
            amsgrad=False,
        )
    if recipe.optimizer == "adamw":  # decoupled: p *= 1 - lr·wd, then Adam without L2
        return torch.optim.AdamW(
            groups,
            lr=lr,
            betas=(float(a["beta1"]), float(a["beta2"])),
            eps=float(a["eps"]),
            amsgrad=False,
        )
    if recipe.optimizer == "adagrad":
        return torch.optim.Adagrad(
            groups,
            lr=lr,
            lr_decay=0.0,
            initial_accumulator_value=float(a["initial_accumulator"]),
            eps=float(a["eps"]),
        )
    if recipe.optimizer == "rmsprop":
        return torch.optim.RMSprop(
            groups,
            lr=lr,
            alpha=float(a["alpha"]),
            eps=float(a["eps"]),
            momentum=0.0,
            centered=False,
        )
    raise ValueError(f"unknown optimizer {recipe.optimizer!r}")


def named_parameters(bindings: Iterable[Any]) -> list[tuple[str, nn.Parameter]]:
    """(canonical name, parameter) for every trainable parameter of a module's bindings
    (``layout.Binding``); buffers such as BatchNorm's running statistics are left out."""
    return [
        (b.name, p)
        for b in bindings
        for p in b.params
        if isinstance(p, nn.Parameter) and p.requires_grad
    ]
