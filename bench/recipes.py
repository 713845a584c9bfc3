"""Which canonical weights a recipe's weight decay applies to.

The usual ResNet/Transformer practice (Goyal et al. 2017, "no bias decay"; most reference
training scripts) is to decay only the kernels: biases and BatchNorm/LayerNorm scales and
shifts are left alone, because shrinking them changes what the layer can represent rather than
regularising it. The rule is stated on canonical names so that every framework excludes exactly
the same tensors, whatever its own variable names.
"""

from __future__ import annotations

#: Canonical name endings that never get weight decay when a recipe asks for the exclusion.
NO_DECAY_SUFFIXES = (".bias", ".gamma", ".beta")


def decays(name: str) -> bool:
    """Whether canonical weight ``name`` gets weight decay under the usual exclusion.

    ``conv1.kernel`` → True; ``conv1.bias``, ``bn1.gamma``, ``bn1.beta``, ``gru.forward.bias``
    → False. A recipe without ``decay_exclusions`` decays every trainable weight.
    """
    return not name.endswith(NO_DECAY_SUFFIXES)


def decayed(names: list[str], exclusions: bool) -> list[bool]:
    """Per name, whether it is decayed under a recipe with ``decay_exclusions=exclusions``."""
    return [decays(n) if exclusions else True for n in names]
