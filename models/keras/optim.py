"""PyTorch's optimizer arithmetic as a backend-neutral Keras optimizer.

Keras's stock optimizers use other formulas, not only other defaults: Adam puts eps on sqrt(v)
and folds the bias correction into the step size, Adagrad starts its accumulator at 0.1, RMSprop
uses rho 0.9, SGD keeps ``v = mu v - lr g`` (torch: ``v = mu v + g; p -= lr v``: the same
steps under a constant rate, different ones once a schedule changes the rate), and
``weight_decay`` is decoupled. The suite's recipe is PyTorch's arithmetic (coupled L2, eps on
sqrt(v_hat)), so this subclass writes those update rules with keras.ops and runs unchanged on the
tensorflow, torch and jax backends. Operation order follows torch's implementations (e.g. Adam:
w -= (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps)).

``make(..., stock=True)`` gives Keras's own optimizer instead (for speed figures), with the same
hyper-parameters mapped and coupled L2 as a variable regularizer (see :func:`make`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

import keras
import numpy as np
from keras import ops

from bench.zoo.recipes import decayed
from bench.zoo.specs import Recipe


class LrTable(keras.optimizers.schedules.LearningRateSchedule):
    """Step k (optimizer.iterations, starting at 0) uses ``table[k]``; past the end, the last."""

    def __init__(self, table: np.ndarray) -> None:
        self.table = np.asarray(table, dtype=np.float32).reshape(-1)

    def __call__(self, step: Any) -> Any:
        index = ops.minimum(ops.cast(step, "int32"), self.table.shape[0] - 1)
        return ops.take(ops.convert_to_tensor(self.table), index)

    def get_config(self) -> dict[str, Any]:
        return {"table": self.table.tolist()}


class TorchArithmetic(keras.optimizers.Optimizer):
    """sgd, momentum, adam, adagrad, rmsprop with PyTorch's formulas and coupled L2 decay.

    Keras's own ``weight_decay`` (decoupled) stays None; ``l2`` is added to the gradient of
    every variable except those in ``no_decay`` (the recipe's exclusions).
    """

    SLOTS: ClassVar[dict[str, tuple[str, ...]]] = {
        "sgd": (),
        "momentum": ("buf",),
        "adam": ("m", "v"),
        "adamw": ("m", "v"),
        "adagrad": ("s",),
        "rmsprop": ("v",),
    }

    def __init__(
        self,
        rule: str,
        learning_rate: Any,
        l2: float,
        args: dict[str, Any],
        name: str = "torch",
        no_decay: Iterable[keras.Variable] = (),
        max_grad_norm: float = 0.0,
    ) -> None:
        if rule not in self.SLOTS:
            raise ValueError(f"unknown optimizer {rule!r}; choose from {sorted(self.SLOTS)}")
        super().__init__(learning_rate=learning_rate, name=f"{name}_{rule}")
        self.rule = rule
        self.l2 = float(l2)
        self.args = {k: float(v) for k, v in args.items()}
        self._no_decay_keys = {self._var_key(v) for v in no_decay}
        self.max_grad_norm = float(max_grad_norm)

    def build(self, variables: list[keras.Variable]) -> None:
        if self.built:
            return
        super().build(variables)
        # Per variable index, a Python float: decided once, nothing branches per step.
        self._l2 = [0.0 if self._var_key(v) in self._no_decay_keys else self.l2 for v in variables]
        init = keras.initializers.Constant(self.args.get("initial_accumulator", 0.0))
        self.slots: dict[str, list[keras.Variable]] = {
            slot: [
                self.add_variable_from_reference(
                    v, name=slot, initializer=init if slot == "s" else "zeros"
                )
                for v in variables
            ]
            for slot in self.SLOTS[self.rule]
        }

    def update_step(self, gradient: Any, variable: keras.Variable, learning_rate: Any) -> None:
        if type(gradient).__name__ == "IndexedSlices":  # an embedding's rows (TF backend)
            # Dense, duplicates summed first, as torch's dense nn.Embedding gradient: applied
            # per slice, Adam/RMSprop/Adagrad would square each duplicate row separately.
            import tensorflow as tf  # only the TF backend makes IndexedSlices

            gradient = tf.convert_to_tensor(gradient)
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        i = self._get_variable_index(variable)
        if self._l2[i] and self.rule == "adamw":  # decoupled, as torch.AdamW: w *= 1 - lr·wd
            self.assign(variable, ops.multiply(variable, 1.0 - lr * self._l2[i]))
        elif self._l2[i]:
            g = ops.add(g, ops.multiply(self._l2[i], variable))
        a = self.args
        if self.rule == "sgd":
            self.assign_sub(variable, ops.multiply(lr, g))
        elif self.rule == "momentum":
            # buf starts at 0, so momentum * 0 + g is exactly torch's "buf = g" at t = 1.
            buf = self.slots["buf"][i]
            self.assign(buf, ops.add(ops.multiply(a["momentum"], buf), g))
            if a["nesterov"]:  # torch: g.add(buf, alpha=momentum)
                step = ops.add(g, ops.multiply(a["momentum"], buf))
                self.assign_sub(variable, ops.multiply(lr, step))
            else:
                self.assign_sub(variable, ops.multiply(lr, buf))
        elif self.rule in ("adam", "adamw"):
            m, v = self.slots["m"][i], self.slots["v"][i]
            b1, b2 = a["beta1"], a["beta2"]
            t = ops.cast(self.iterations + 1, variable.dtype)
            bc1 = 1.0 - ops.power(ops.cast(b1, variable.dtype), t)
            bc2 = 1.0 - ops.power(ops.cast(b2, variable.dtype), t)
            self.assign_add(m, ops.multiply(ops.subtract(g, m), 1.0 - b1))  # torch: m.lerp_(g)
            self.assign(v, ops.add(ops.multiply(v, b2), ops.multiply(ops.square(g), 1.0 - b2)))
            denom = ops.add(ops.divide(ops.sqrt(v), ops.sqrt(bc2)), a["eps"])
            self.assign_sub(variable, ops.multiply(ops.divide(lr, bc1), ops.divide(m, denom)))
        elif self.rule == "adagrad":
            s = self.slots["s"][i]
            self.assign_add(s, ops.square(g))
            step = ops.divide(g, ops.add(ops.sqrt(s), a["eps"]))
            self.assign_sub(variable, ops.multiply(lr, step))
        else:  # rmsprop
            v = self.slots["v"][i]
            alpha = a["alpha"]
            self.assign(
                v, ops.add(ops.multiply(v, alpha), ops.multiply(ops.square(g), 1.0 - alpha))
            )
            step = ops.divide(g, ops.add(ops.sqrt(v), a["eps"]))
            self.assign_sub(variable, ops.multiply(lr, step))

    def _clip_gradients(self, grads: list[Any]) -> list[Any]:
        """torch's clip_grad_norm_ (Keras's ``global_clipnorm`` has no 1e-6 and stays None):
        g·min(1, max_norm / (‖g‖₂ + 1e-6)), before the coupled L2 term is added."""
        if self.max_grad_norm <= 0:
            return grads
        present = [g for g in grads if g is not None]
        norm = ops.sqrt(ops.sum(ops.stack([ops.sum(ops.square(g)) for g in present])))
        scale = ops.minimum(self.max_grad_norm / (norm + 1e-6), 1.0)
        return [None if g is None else ops.multiply(g, ops.cast(scale, g.dtype)) for g in grads]

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(rule=self.rule, l2=self.l2, args=self.args, max_grad_norm=self.max_grad_norm)
        return config


def make(
    recipe: Recipe,
    named_variables: list[tuple[str, keras.Variable]],
    lr: np.ndarray,
    stock: bool = False,
) -> keras.optimizers.Optimizer:
    """The optimizer for ``recipe`` over the trainable (canonical name, variable) pairs; ``lr``
    is the harness's whole per-step table, read by ``optimizer.iterations``.

    ``stock=True``: Keras's own class (:func:`stock_keras_optimizer`). Coupled L2 cannot be
    Keras's ``weight_decay`` (decoupled: ``w -= lr·wd·w`` outside the moments), so it is set as
    each decayed variable's regularizer, ``L2(wd / 2)`` (gradient ``wd·w``, torch's coupled
    term): the way Keras users write L2 (``kernel_regularizer``). The penalty is then part of
    the loss ``fit`` logs. This mutates the variables, so use it on a model built for stock runs.
    ``adamw`` is keras.optimizers.AdamW (decoupled, the same formula as torch's) with the
    excluded variables given to ``exclude_from_weight_decay``. Clipping is Keras's
    ``global_clipnorm`` (scale max_norm / max(‖g‖₂, max_norm), no 1e-6, and the L2 penalty's
    gradient is inside the clipped gradient).
    """
    named = [(n, v) for n, v in named_variables if v.trainable]
    flags = decayed([n for n, _ in named], recipe.decay_exclusions)
    if stock:
        if recipe.weight_decay and recipe.optimizer != "adamw":
            for (_, v), flag in zip(named, flags, strict=True):
                if flag:
                    v.regularizer = keras.regularizers.L2(recipe.weight_decay / 2)
        stock_opt = stock_keras_optimizer(recipe, lr)
        if recipe.optimizer == "adamw":
            excluded = [v for (_, v), flag in zip(named, flags, strict=True) if not flag]
            stock_opt.exclude_from_weight_decay(var_list=excluded)
        return stock_opt
    no_decay = [v for (_, v), flag in zip(named, flags, strict=True) if not flag]
    return TorchArithmetic(
        recipe.optimizer,
        LrTable(lr),
        recipe.weight_decay,
        recipe.optimizer_args,
        no_decay=no_decay,
        max_grad_norm=recipe.clip_grad_norm,
    )


def stock_keras_optimizer(
    recipe: Recipe, lr: np.ndarray, clip: bool = True
) -> keras.optimizers.Optimizer:
    """``keras.optimizers.*`` with the recipe's hyper-parameters mapped; no weight decay but
    AdamW's (decoupled, the recipe's), clipping as Keras's ``global_clipnorm`` where asked.

    Formulas that differ from torch's (docs/recipes.md): Adam's eps is added to sqrt(v) before
    the bias correction (Keras: lr·sqrt(1−b2^t)/(1−b1^t)·m/(sqrt(v)+eps)); Adagrad and RMSprop
    put eps inside the square root; SGD momentum keeps v = mu v − lr g (equal steps only under
    a constant rate).
    """
    a = recipe.optimizer_args
    rate = LrTable(lr)
    max_norm = float(recipe.clip_grad_norm) if clip and recipe.clip_grad_norm > 0 else None
    common: dict[str, Any] = {"clipnorm": None, "global_clipnorm": max_norm, "use_ema": False}
    if recipe.optimizer in ("sgd", "momentum"):
        return keras.optimizers.SGD(
            learning_rate=rate,
            momentum=float(a.get("momentum", 0.0)),
            nesterov=bool(a.get("nesterov", False)),
            **common,
        )
    if recipe.optimizer == "adam":
        return keras.optimizers.Adam(
            learning_rate=rate,
            beta_1=float(a["beta1"]),
            beta_2=float(a["beta2"]),
            epsilon=float(a["eps"]),
            amsgrad=False,
            **common,
        )
    if recipe.optimizer == "adamw":
        return keras.optimizers.AdamW(
            learning_rate=rate,
            weight_decay=float(recipe.weight_decay),
            beta_1=float(a["beta1"]),
            beta_2=float(a["beta2"]),
            epsilon=float(a["eps"]),
            amsgrad=False,
            **common,
        )
    if recipe.optimizer == "adagrad":
        return keras.optimizers.Adagrad(
            learning_rate=rate,
            initial_accumulator_value=float(a["initial_accumulator"]),
            epsilon=float(a["eps"]),
            **common,
        )
    if recipe.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(
            learning_rate=rate,
            rho=float(a["alpha"]),
            momentum=0.0,
            epsilon=float(a["eps"]),
            centered=False,
            **common,
        )
    raise ValueError(f"unknown optimizer {recipe.optimizer!r}")
