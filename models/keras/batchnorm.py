"""BatchNormalization that keeps torch's (and TF fused batch norm's) running statistics.

Stock Keras 3 moves ``moving_variance`` toward the *biased* batch variance (divided by n), where
torch and TF's fused kernel use the *unbiased* one (divided by n − 1): a factor n/(n − 1) in every
update, 6.7 % at n = 16 values per channel, so eval-mode outputs drift apart after training. This
subclass updates with the unbiased variance; the training-mode output still normalises with the
biased variance, as everyone does. Momentum and epsilon are set to the suite's values (Keras's
momentum 0.9 is torch's 0.1; epsilon 1e-5, not Keras's 1e-3).
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from bench.zoo.layers import BN_EPSILON, BN_MOMENTUM


class TorchBatchNormalization(keras.layers.BatchNormalization):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("momentum", 1.0 - BN_MOMENTUM)
        kwargs.setdefault("epsilon", BN_EPSILON)
        super().__init__(**kwargs)

    def call(self, inputs: Any, training: bool | None = None, mask: Any = None) -> Any:
        if not (training and self.trainable) or mask is not None or self.renorm:
            return super().call(inputs, training=training, mask=mask)
        # bf16/fp16 inputs (a mixed policy) are normalised in float32 and cast back, as the
        # stock layer does; the statistics and variables stay float32.
        out_dtype = inputs.dtype
        inputs = ops.cast(inputs, "float32")
        mean, variance = self._moments(inputs, None)
        channels = inputs.shape[self.axis]
        count = ops.cast(ops.size(inputs), variance.dtype) / channels
        unbiased = variance * count / (count - 1.0)
        momentum = self.momentum
        self.moving_mean.assign(self.moving_mean * momentum + mean * (1.0 - momentum))
        self.moving_variance.assign(self.moving_variance * momentum + unbiased * (1.0 - momentum))
        outputs = ops.batch_normalization(
            x=inputs, mean=mean, variance=variance, axis=self.axis,
            offset=self.beta, scale=self.gamma, epsilon=self.epsilon,
        )  # fmt: skip
        return ops.cast(outputs, out_dtype)
