"""The suite's optimizers in TF ops, with PyTorch's arithmetic (torch.optim is the reference).

TF/Keras's stock optimizers differ in formula, not only defaults (Adam's epsilon on sqrt(v)
with the bias correction folded into the step size; Adagrad's and RMSprop's eps inside the
square root; momentum kept as ``v = mu v - lr g``, which parts from torch's ``v = mu v + g``
as soon as the learning rate changes), so the formula-matched optimizer writes torch's rules out.
Slots are tf.Variables, the step count is a tf.Variable and the learning rate is gathered from
the harness's per-step table inside the graph: no Python runs per step.

``stock=True`` gives the optimizer a TF user reaches for today, ``tf.keras.optimizers.*`` (Keras
3, the optimizers TF ships), applied to the module's tf.Variables; see :class:`StockOptimizer`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from bench.zoo.recipes import decayed
from bench.zoo.specs import Recipe


def _decayed_refs(recipe: Recipe, named_variables: list[tuple[str, tf.Variable]]) -> set[Any]:
    flags = decayed([n for n, _ in named_variables], recipe.decay_exclusions)
    return {v.ref() for (_, v), flag in zip(named_variables, flags, strict=True) if flag}


class TorchFormulaOptimizer(tf.Module):
    """sgd, momentum (+Nesterov), adam, adagrad, rmsprop with torch's formulas and coupled L2.

    ``decayed``: references (``v.ref()``) of the variables that get weight decay; None means all.
    """

    def __init__(
        self,
        recipe: Recipe,
        variables: list[tf.Variable],
        lr: np.ndarray,
        decayed: set[Any] | None = None,
    ) -> None:
        super().__init__(name="optimizer")
        self.kind = recipe.optimizer
        self.max_norm = float(recipe.clip_grad_norm)
        self.args = recipe.optimizer_args
        self.weight_decay = float(recipe.weight_decay)
        self.decayed = {v.ref() for v in variables} if decayed is None else set(decayed)
        self.lr_table = tf.constant(np.asarray(lr, np.float32).ravel())
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        slots = {"momentum": 1, "adam": 2, "adamw": 2, "adagrad": 1, "rmsprop": 1}.get(self.kind, 0)
        init = float(self.args.get("initial_accumulator", 0.0)) if self.kind == "adagrad" else 0.0
        self.slots = {
            v.ref(): [tf.Variable(tf.fill(v.shape, init), trainable=False) for _ in range(slots)]
            for v in variables
        }

    def apply(self, grads: list[tf.Tensor], variables: list[tf.Variable]) -> None:
        last = tf.cast(tf.size(self.lr_table) - 1, tf.int64)
        lr = tf.gather(self.lr_table, tf.minimum(self.step, last))
        t = tf.cast(self.step + 1, tf.float32)
        if self.max_norm > 0:
            grads = clip_like_torch(grads, self.max_norm)
        for g, w in zip(grads, variables, strict=True):
            if self.weight_decay and w.ref() in self.decayed:
                if self.kind == "adamw":
                    w.assign(w * (1.0 - lr * self.weight_decay))  # decoupled, as torch.AdamW
                else:
                    g = g + self.weight_decay * w  # coupled L2, as torch.optim
            self._update(g, w, self.slots[w.ref()], lr, t)
        self.step.assign_add(1)

    def _update(
        self, g: tf.Tensor, w: tf.Variable, slots: list[tf.Variable], lr: tf.Tensor, t: tf.Tensor
    ) -> None:
        a = self.args
        if self.kind == "sgd":
            w.assign_sub(lr * g)
        elif self.kind == "momentum":
            (buf,) = slots  # starts at 0, so the first step's buf is g, as torch's
            buf.assign(a["momentum"] * buf + g)
            if a["nesterov"]:
                w.assign_sub(lr * (g + a["momentum"] * buf))  # torch: g.add(buf, alpha=mu)
            else:
                w.assign_sub(lr * buf)
        elif self.kind in ("adam", "adamw"):
            m, v = slots
            b1, b2 = a["beta1"], a["beta2"]
            m.assign(b1 * m + (1.0 - b1) * g)
            v.assign(b2 * v + (1.0 - b2) * g * g)
            bias1 = 1.0 - tf.pow(b1, t)
            bias2_sqrt = tf.sqrt(1.0 - tf.pow(b2, t))
            denom = tf.sqrt(v) / bias2_sqrt + a["eps"]  # eps on sqrt(v_hat): torch's formula
            w.assign_sub((lr / bias1) * m / denom)
        elif self.kind == "adagrad":
            (s,) = slots
            s.assign_add(g * g)
            w.assign_sub(lr * g / (tf.sqrt(s) + a["eps"]))
        elif self.kind == "rmsprop":
            (v,) = slots
            alpha = a["alpha"]
            v.assign(alpha * v + (1.0 - alpha) * g * g)
            w.assign_sub(lr * g / (tf.sqrt(v) + a["eps"]))
        else:
            raise ValueError(f"unknown optimizer {self.kind!r}")


def clip_like_torch(grads: list[tf.Tensor], max_norm: float) -> list[tf.Tensor]:
    """torch's clip_grad_norm_: g·min(1, max_norm / (‖g‖₂ + 1e-6)), ‖g‖₂ over all tensors.
    (tf.clip_by_global_norm scales by max_norm / max(‖g‖₂, max_norm): no 1e-6.)"""
    norm = tf.norm(tf.stack([tf.norm(g) for g in grads]))
    scale = tf.minimum(max_norm / (norm + 1e-6), 1.0)
    return [g * scale for g in grads]


class StockOptimizer(tf.Module):
    """``keras.optimizers.*`` (what ``tf.keras.optimizers`` is in TF ≥ 2.16) on tf.Variables.

    Same interface as :class:`TorchFormulaOptimizer` (``apply``, ``step``). The learning rate is
    the harness's table through a Keras schedule on the optimizer's own step counter. Coupled L2
    decay is added to the gradient before ``apply_gradients`` — what a TF custom loop does by
    hand (Keras's ``weight_decay`` argument is decoupled, another formula); ``adamw`` uses
    keras.optimizers.AdamW's own decoupled decay with the excluded variables passed to
    ``exclude_from_weight_decay``. Clipping is ``tf.clip_by_global_norm`` (TF's formula, no
    1e-6), before the L2 term, as a TF custom loop writes it.
    """

    def __init__(
        self, recipe: Recipe, named_variables: list[tuple[str, tf.Variable]], lr: np.ndarray
    ) -> None:
        super().__init__(name="stock_optimizer")
        import keras

        if keras.backend.backend() != "tensorflow":
            raise RuntimeError(
                "the stock TF optimizer is keras.optimizers on the tensorflow backend, but "
                f"keras runs on {keras.backend.backend()!r}"
            )
        from models.keras.optim import stock_keras_optimizer

        self.weight_decay = float(recipe.weight_decay) if recipe.optimizer != "adamw" else 0.0
        self.max_norm = float(recipe.clip_grad_norm)
        self.decayed = _decayed_refs(recipe, named_variables)
        self.keras_optimizer = stock_keras_optimizer(recipe, lr, clip=False)  # clipped here
        if recipe.optimizer == "adamw":
            excluded = [v for _, v in named_variables if v.ref() not in self.decayed]
            self.keras_optimizer.exclude_from_weight_decay(var_list=excluded)
        self.keras_optimizer.build([v for _, v in named_variables])

    @property
    def step(self) -> tf.Variable:
        return self.keras_optimizer.iterations

    def apply(self, grads: list[tf.Tensor], variables: list[tf.Variable]) -> None:
        if self.max_norm > 0:
            grads, _ = tf.clip_by_global_norm(grads, self.max_norm)
        if self.weight_decay:
            grads = [
                g + self.weight_decay * w if w.ref() in self.decayed else g
                for g, w in zip(grads, variables, strict=True)
            ]
        self.keras_optimizer.apply_gradients(zip(grads, variables, strict=True))


def make(
    recipe: Recipe,
    named_variables: list[tuple[str, tf.Variable]],
    lr: np.ndarray,
    stock: bool = False,
) -> TorchFormulaOptimizer | StockOptimizer:
    """The optimizer for ``recipe`` over the trainable (canonical name, tf.Variable) pairs;
    ``lr`` is the harness's whole per-step table (read inside the graph)."""
    named = [(n, v) for n, v in named_variables if v.trainable]
    if stock:
        return StockOptimizer(recipe, named, lr)
    return TorchFormulaOptimizer(
        recipe, [v for _, v in named], lr, decayed=_decayed_refs(recipe, named)
    )
