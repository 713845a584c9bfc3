"""Learning-rate schedules, computed once by the harness as a per-step table.

Every framework reads step k's rate from the same table, so a schedule can never differ by a
framework's own scheduler semantics (epoch vs step counting, off-by-one at boundaries).
"""

from __future__ import annotations

import math

import numpy as np

from bench.specs import Recipe


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
    raise ValueError(f"unknown schedule {recipe.schedule!r}")


def lr_table(recipe: Recipe) -> np.ndarray:
    """float32 rate for every step of the recipe (steps past the end use the last entry)."""
    return np.array([lr_at(recipe, k) for k in range(max(recipe.steps, 1))], dtype=np.float32)
