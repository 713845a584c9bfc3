"""Which canonical weights a recipe's weight decay applies to.

The usual ResNet/Transformer practice (Goyal et al. 2017, "no bias decay"; most reference
training scripts) is to decay only the kernels: biases and BatchNorm/LayerNorm scales and
shifts are left alone, because shrinking them changes what the layer can represent rather than
regularising it. The rule is stated on canonical names so that every framework excludes exactly
the same tensors, whatever its own variable names.

Also here: the published recipes the vision models use (:func:`resnet_cifar`,
:func:`resnet_imagenet`), every hyper-parameter written out.
"""

from __future__ import annotations

from bench.specs import Recipe

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


def resnet_cifar(steps: int, batch_size: int = 128, lr: float = 0.1) -> Recipe:
    """He et al. 2016 (§4.2), CIFAR ResNets: SGD momentum 0.9 (not Nesterov), weight decay
    1e-4 (coupled), lr 0.1 divided by 10 at 32k and 48k of 64k iterations (milestones 1/2 and
    3/4 of ``steps``), batch 128, no warm-up (the paper warms up only ResNet-110), no smoothing.
    Biases (none: convs before BN have none) and BN gamma/beta are not decayed."""
    return Recipe(
        optimizer="momentum",
        optimizer_args={"momentum": 0.9, "nesterov": False},
        lr=lr,
        batch_size=batch_size,
        steps=steps,
        schedule="warmup_step",
        schedule_args={
            "warmup_steps": 0,
            "milestones": [0.5, 0.75],
            "gamma": 0.1,
        },
        weight_decay=1e-4,
        decay_exclusions=True,
    )


def resnet_imagenet(steps: int, batch_size: int = 256, warmup_steps: int = 0) -> Recipe:
    """ResNet-50 as in Goyal et al. 2017 and He et al. 2019 ("bag of tricks"): SGD momentum 0.9,
    lr 0.1·batch/256, linear warm-up (5 epochs in the papers: ``warmup_steps``) then cosine to 0,
    weight decay 1e-4 without bias/BN decay, label smoothing 0.1."""
    return Recipe(
        optimizer="momentum",
        optimizer_args={"momentum": 0.9, "nesterov": False},
        lr=0.1 * batch_size / 256,
        batch_size=batch_size,
        steps=steps,
        schedule="warmup_cosine",
        schedule_args={"warmup_steps": warmup_steps, "min_lr": 0.0},
        weight_decay=1e-4,
        decay_exclusions=True,
        label_smoothing=0.1,
    )
