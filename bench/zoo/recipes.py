"""Which canonical weights a recipe's weight decay applies to.

The usual ResNet/Transformer practice (Goyal et al. 2017, "no bias decay"; most reference
training scripts) is to decay only the kernels: biases and BatchNorm/LayerNorm scales and
shifts are left alone, because shrinking them changes what the layer can represent rather than
regularising it. The rule is stated on canonical names so that every framework excludes exactly
the same tensors, whatever its own variable names.

Also here: the published recipes the vision models use (:func:`resnet_cifar`,
:func:`resnet_imagenet`) and the small models' MNIST one (:func:`mnist_adam`), every
hyper-parameter written out.
"""

from __future__ import annotations

from bench.zoo.specs import Recipe

#: Canonical name endings that never get weight decay when a recipe asks for the exclusion.
NO_DECAY_SUFFIXES = (".bias", ".gamma", ".beta", ".embeddings")


def decays(name: str) -> bool:
    """Whether canonical weight ``name`` gets weight decay under the usual exclusion.

    ``conv1.kernel`` → True; ``conv1.bias``, ``bn1.gamma``, ``bn1.beta``, ``gru.forward.bias``,
    token and position tables ``wte.embeddings`` → False (GPT-2/BERT practice: decaying a table
    shrinks rare tokens' rows, which see few gradients, toward zero). A recipe without
    ``decay_exclusions`` decays every trainable weight.
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


def sequence(
    steps: int,
    batch_size: int,
    lr: float,
    warmup_steps: int,
    weight_decay: float = 0.01,
    clip_grad_norm: float = 1.0,
) -> Recipe:
    """The Transformer recipe (BERT, GPT-2 and nanoGPT's, scaled): AdamW (decoupled decay,
    betas 0.9/0.999, eps 1e-8 — torch's defaults, written out), no decay on biases, LayerNorm
    gamma/beta and embedding tables, gradients clipped to global norm ``clip_grad_norm``
    (torch's formula, docs/recipes.md), a linear learning-rate warm-up over ``warmup_steps`` then
    cosine to 0. Dropout is the model's (its ``dropout`` param), not the recipe's."""
    return Recipe(
        optimizer="adamw",
        optimizer_args={"beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
        lr=lr,
        batch_size=batch_size,
        steps=steps,
        schedule="warmup_cosine",
        schedule_args={"warmup_steps": warmup_steps, "min_lr": 0.0},
        weight_decay=weight_decay,
        decay_exclusions=True,
        clip_grad_norm=clip_grad_norm,
    )


#: MNIST (60,000 training images) at batch 128: 468 full batches an epoch (the last partial
#: batch is dropped, bench.data.batch_order), 10 epochs. PyTorch's and Keras's own MNIST examples
#: train 14-15 epochs with a step or no decay; with cosine decay to 0, 10 settle these models.
MNIST_BATCH, MNIST_EPOCH_STEPS, MNIST_EPOCHS = 128, 60_000 // 128, 10
MNIST_STEPS = MNIST_EPOCH_STEPS * MNIST_EPOCHS


def mnist_adam() -> Recipe:
    """The small MNIST models' recipe: Adam at Kingma & Ba's lr 1e-3 (Keras's MNIST convnet
    example's optimizer and rate; the MNIST-1D paper's 1e-2 is tuned for 4,000 samples of 40),
    batch 128, 10 epochs, cosine decay to 0 (a settled final accuracy, so seeds and frameworks
    compare on it rather than on the last steps' noise), no weight decay, a test evaluation
    every epoch."""
    return Recipe(
        optimizer="adam",
        optimizer_args={"beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
        lr=1e-3,
        batch_size=MNIST_BATCH,
        steps=MNIST_STEPS,
        schedule="cosine",
        schedule_args={"min_lr": 0.0},
        eval_every=MNIST_EPOCH_STEPS,
    )
