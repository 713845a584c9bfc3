"""The suite's optimizers in TF ops, with PyTorch's arithmetic (torch.optim is the reference).

TF/Keras's stock optimizers differ in formula, not only defaults (Adam's epsilon on sqrt(v)
with the bias correction folded into the step size; Adagrad's initial accumulator 0.1; RMSprop's
rho 0.9), so they are not used. Slots are tf.Variables, the step count is a tf.Variable and the
learning rate is gathered from the harness's per-step table inside the graph: no Python runs
per step.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from bench.specs import Recipe


class TorchFormulaOptimizer(tf.Module):
    def __init__(self, recipe: Recipe, variables: list[tf.Variable], lr: np.ndarray) -> None:
        super().__init__(name="optimizer")
        self.kind = recipe.optimizer
        self.args = recipe.optimizer_args
        self.weight_decay = float(recipe.weight_decay)
        self.lr_table = tf.constant(np.asarray(lr, np.float32).ravel())
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        slots = {"momentum": 1, "adam": 2, "adagrad": 1, "rmsprop": 1}.get(self.kind, 0)
        init = float(self.args.get("initial_accumulator", 0.0)) if self.kind == "adagrad" else 0.0
        self.slots = [
            [tf.Variable(tf.fill(v.shape, init), trainable=False) for _ in range(slots)]
            for v in variables
        ]

    def apply(self, grads: list[tf.Tensor], variables: list[tf.Variable]) -> None:
        last = tf.cast(tf.size(self.lr_table) - 1, tf.int64)
        lr = tf.gather(self.lr_table, tf.minimum(self.step, last))
        t = tf.cast(self.step + 1, tf.float32)
        for g, w, slots in zip(grads, variables, self.slots, strict=True):
            if self.weight_decay:
                g = g + self.weight_decay * w  # coupled L2, as torch.optim
            self._update(g, w, slots, lr, t)
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
            w.assign_sub(lr * buf)
        elif self.kind == "adam":
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
