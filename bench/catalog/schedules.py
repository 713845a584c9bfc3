"""Learning-rate schedules, computed once by the harness as a per-step table.

Every framework reads step k's rate from the same table, so a schedule can never differ by a
framework's own scheduler semantics (epoch vs step counting, off-by-one at boundaries).

The warm-up schedules (``warmup_cosine``, ``warmup_step``; arguments in
``bench.zoo.specs.default_schedule_args``) ramp linearly over W = ``warmup_steps`` steps,
lr_k = lr·(k+1)/W for k < W, so step 0 already moves (HF/timm's k/W wastes step 0 at rate 0)
and step W−1 reaches the full rate. Then:

- ``warmup_cosine``: lr_k = min_lr + ½(lr − min_lr)(1 + cos(π·(k−W)/(steps−W))), i.e. the
  ``cosine`` schedule over the steps after warm-up (with W = 0 it equals ``cosine``);
- ``warmup_step``: lr_k = lr·gamma^(number of milestones m with round(m·steps) ≤ k): milestones
  are fractions of ``steps`` (torch's MultiStepLR counted in steps, scaled, so a ``--steps``
  override keeps the shape), the warm-up factor multiplying it for k < W.
"""

from __future__ import annotations

import math

import numpy as np

from bench.zoo.specs import Recipe


def lr_at(recipe: Recipe, step: int) -> float:
    """The learning rate of 0-based ``step``."""
    args = recipe.schedule_args
    if recipe.schedule == "constant":
        return recipe.lr
    if recipe.schedule == "step":
        size = int(args.get("step_size", max(recipe.steps // 3, 1)))
        return recipe.lr * float(args.get("gamma", 0.1)) ** (step // size)
    if recipe.schedule == "cosine":
        low = float(args.get("min_lr", 0.0))
        t = min(step, recipe.steps) / max(recipe.steps, 1)
        return low + 0.5 * (recipe.lr - low) * (1 + math.cos(math.pi * t))
    if recipe.schedule in ("warmup_cosine", "warmup_step"):
        warm = int(args["warmup_steps"])
        factor = (step + 1) / warm if step < warm else 1.0
        if recipe.schedule == "warmup_step":
            drops = sum(1 for m in args["milestones"] if round(float(m) * recipe.steps) <= step)
            return recipe.lr * factor * float(args["gamma"]) ** drops
        low = float(args["min_lr"])
        span = max(recipe.steps - warm, 1)
        t = min(max(step - warm, 0), span) / span
        return factor * (low + 0.5 * (recipe.lr - low) * (1 + math.cos(math.pi * t)))
    raise ValueError(f"unknown schedule {recipe.schedule!r}")


def lr_table(recipe: Recipe) -> np.ndarray:
    """float32 rate for every step of the recipe (steps past the end use the last entry)."""
    return np.array([lr_at(recipe, k) for k in range(max(recipe.steps, 1))], dtype=np.float32)
