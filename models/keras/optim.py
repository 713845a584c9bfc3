"""PyTorch's optimizer arithmetic as a backend-neutral Keras optimizer.

Keras's stock optimizers use other formulas, not only other defaults: Adam puts eps on sqrt(v)
and folds the bias correction into the step size, Adagrad starts its accumulator at 0.1, RMSprop
uses rho 0.9, and ``weight_decay`` is decoupled. The suite's recipe is PyTorch's arithmetic
(coupled L2, eps on sqrt(v_hat)), so this subclass writes those update rules with keras.ops and
runs unchanged on the tensorflow, torch and jax backends. Operation order follows torch's
implementations (e.g. Adam: w -= (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps)).
"""

from __future__ import annotations

from typing import Any, ClassVar

import keras
import numpy as np
from keras import ops

from bench.specs import Recipe


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

    Keras's own ``weight_decay`` (decoupled) stays None; ``l2`` is added to the gradient.
    """

    SLOTS: ClassVar[dict[str, tuple[str, ...]]] = {
        "sgd": (),
        "momentum": ("buf",),
        "adam": ("m", "v"),
        "adagrad": ("s",),
        "rmsprop": ("v",),
    }

    def __init__(
        self, rule: str, learning_rate: Any, l2: float, args: dict[str, float], name: str = "torch"
    ) -> None:
        if rule not in self.SLOTS:
            raise ValueError(f"unknown optimizer {rule!r}; choose from {sorted(self.SLOTS)}")
        super().__init__(learning_rate=learning_rate, name=f"{name}_{rule}")
        self.rule = rule
        self.l2 = float(l2)
        self.args = {k: float(v) for k, v in args.items()}

    def build(self, variables: list[keras.Variable]) -> None:
        if self.built:
            return
        super().build(variables)
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
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        if self.l2:
            g = ops.add(g, ops.multiply(self.l2, variable))
        i = self._get_variable_index(variable)
        a = self.args
        if self.rule == "sgd":
            self.assign_sub(variable, ops.multiply(lr, g))
        elif self.rule == "momentum":
            # buf starts at 0, so momentum * 0 + g is exactly torch's "buf = g" at t = 1.
            buf = self.slots["buf"][i]
            self.assign(buf, ops.add(ops.multiply(a["momentum"], buf), g))
            self.assign_sub(variable, ops.multiply(lr, buf))
        elif self.rule == "adam":
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

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(rule=self.rule, l2=self.l2, args=self.args)
        return config


def make_optimizer(recipe: Recipe, lr: np.ndarray) -> TorchArithmetic:
    """The recipe's optimizer with every hyper-parameter from ``recipe.optimizer_args``."""
    return TorchArithmetic(
        recipe.optimizer, LrTable(lr), recipe.weight_decay, recipe.optimizer_args
    )
