"""Layer tables of the ResNet family (He et al. 2016), shared by resnet20/56/50.

* CIFAR ResNets (He et al. §4.2): a 3x3 conv of ``widths[0]`` channels, three stages of
  ``blocks`` basic blocks (two 3x3 convs) at ``widths`` 16/32/64, the first block of stages 2
  and 3 striding by 2, option-A shortcuts (subsample + zero-padded channels, no weights), global
  average pooling, a linear layer. Depth = 6 x blocks + 2 (ResNet-20: 3, ResNet-56: 9).
* ResNet-50 v1.5 (torchvision's ``resnet50``): 7x7/2 stem conv, 3x3/2 max pool, four stages of
  bottleneck blocks (1x1, 3x3, 1x1 x4) with the stride on the **3x3** conv (v1.5; the original
  paper and ``keras.applications.ResNet50`` put it on the first 1x1), 1x1 projection shortcuts
  with BatchNorm on the first block of each stage.

Every conv is followed by BatchNorm and has no bias. Names: ``conv1``/``bn1`` for the stem,
``stage{s}_block{b}_{conv1,bn1,...}`` inside blocks, ``..._proj``/``..._proj_bn`` for projections,
``linear`` for the classifier.
"""

from __future__ import annotations

from bench.zoo.layers import (
    Add,
    BatchNorm,
    Dense,
    GlobalAvgPool,
    Layer,
    MaxPool,
    ReLU,
    ShortcutA,
    conv,
    conv_output_size,
)
from bench.zoo.recipes import MNIST_BATCH, MNIST_EPOCH_STEPS, MNIST_STEPS
from bench.zoo.specs import ModelSpec, Recipe


def _conv_bn(
    table: list[Layer], name: str, bn: str, kernel: int, c_in: int, c_out: int, stride: int,
    spatial: tuple[int, ...], source: str,
) -> tuple[int, ...]:  # fmt: skip
    """Append conv (no bias) + BatchNorm; return the output spatial size."""
    node = conv(name, kernel, c_in, c_out, stride, kernel // 2, spatial, False, (source,))
    table += [node, BatchNorm(bn, c_out, node.out_spatial)]
    return node.out_spatial


def cifar_layers(spec: ModelSpec) -> list[Layer]:
    """The CIFAR ResNet of ``spec.params``: ``blocks`` per stage, ``widths`` of the stages."""
    blocks = int(spec.params["blocks"])
    widths = [int(w) for w in spec.params["widths"]]
    spatial = tuple(spec.input_shape[:-1])
    table: list[Layer] = []
    spatial = _conv_bn(table, "conv1", "bn1", 3, spec.input_shape[-1], widths[0], 1, spatial,
                       "input")  # fmt: skip
    table.append(ReLU("relu1"))
    last, c_in = "relu1", widths[0]
    for s, width in enumerate(widths, start=1):
        for b in range(1, blocks + 1):
            p = f"stage{s}_block{b}"
            stride = 2 if s > 1 and b == 1 else 1
            out = _conv_bn(table, f"{p}_conv1", f"{p}_bn1", 3, c_in, width, stride, spatial, last)
            table.append(ReLU(f"{p}_relu1"))
            _conv_bn(table, f"{p}_conv2", f"{p}_bn2", 3, width, width, 1, out, f"{p}_relu1")
            shortcut = last
            if stride != 1 or c_in != width:
                table.append(ShortcutA(f"{p}_shortcut", c_in, width, stride, spatial, out, (last,)))
                shortcut = f"{p}_shortcut"
            table += [Add(f"{p}_add", (f"{p}_bn2", shortcut), width, out), ReLU(f"{p}_relu2")]
            last, c_in, spatial = f"{p}_relu2", width, out
    table += [GlobalAvgPool("pool", c_in, spatial), Dense("linear", c_in, spec.num_classes)]
    return table


def imagenet_layers(spec: ModelSpec) -> list[Layer]:
    """ResNet-50 v1.5 of ``spec.params``: ``blocks`` per stage, bottleneck ``widths``, ``stem``
    channels; the expansion is 4."""
    blocks = [int(n) for n in spec.params["blocks"]]
    widths = [int(w) for w in spec.params["widths"]]
    stem = int(spec.params["stem"])
    table: list[Layer] = []
    spatial = _conv_bn(table, "conv1", "bn1", 7, spec.input_shape[-1], stem, 2,
                       tuple(spec.input_shape[:-1]), "input")  # fmt: skip
    pooled = tuple(conv_output_size(n, 3, 2, 1) for n in spatial)
    table += [ReLU("relu1"), MaxPool("pool1", 3, 2, 1, stem, spatial, pooled)]
    last, c_in, spatial = "pool1", stem, pooled
    for s, (n, width) in enumerate(zip(blocks, widths, strict=True), start=1):
        for b in range(1, n + 1):
            p = f"stage{s}_block{b}"
            stride = 2 if s > 1 and b == 1 else 1
            c_out = 4 * width
            _conv_bn(table, f"{p}_conv1", f"{p}_bn1", 1, c_in, width, 1, spatial, last)
            table.append(ReLU(f"{p}_relu1"))
            out = _conv_bn(table, f"{p}_conv2", f"{p}_bn2", 3, width, width, stride, spatial,
                           f"{p}_relu1")  # fmt: skip
            table.append(ReLU(f"{p}_relu2"))
            _conv_bn(table, f"{p}_conv3", f"{p}_bn3", 1, width, c_out, 1, out, f"{p}_relu2")
            shortcut = last
            if stride != 1 or c_in != c_out:
                _conv_bn(table, f"{p}_proj", f"{p}_proj_bn", 1, c_in, c_out, stride, spatial,
                         last)  # fmt: skip
                shortcut = f"{p}_proj_bn"
            table += [Add(f"{p}_add", (f"{p}_bn3", shortcut), c_out, out), ReLU(f"{p}_relu3")]
            last, c_in, spatial = f"{p}_relu3", c_out, out
    table += [GlobalAvgPool("pool", c_in, spatial), Dense("linear", c_in, spec.num_classes)]
    return table


def sgd_recipe(batch_size: int, steps: int, eval_every: int, base_batch: int = 128) -> Recipe:
    """He et al.'s recipe, written out: SGD momentum 0.9 (not Nesterov), lr 0.1 per
    ``base_batch`` samples (linear scaling, Goyal et al. 2017), coupled L2 weight decay 5e-4
    with BatchNorm gamma/beta and biases excluded, a linear warm-up over the first 5 % of the
    steps, then cosine decay to 0; no label smoothing (see docs/recipes.md)."""
    return Recipe(
        optimizer="momentum",
        lr=0.1 * batch_size / base_batch,
        batch_size=batch_size,
        steps=steps,
        schedule="warmup_cosine",
        schedule_args={"warmup_steps": max(steps // 20, 1), "min_lr": 0.0},
        weight_decay=5e-4,
        decay_exclusions=True,
        optimizer_args={"momentum": 0.9, "nesterov": False},
        eval_every=eval_every,
        warmup_steps=min(10, max(steps // 5, 1)),
    )


#: ResNet-20 on digits: batch 64, 400 steps (~18 epochs of 1,437 images), eval every 100.
DIGITS_RECIPE = sgd_recipe(64, 400, 100)
#: Throughput cells on synthetic CIFAR-10: 50 steps of 128, evaluated once at the end.
SYNTHETIC_CIFAR_RECIPE = sgd_recipe(128, 50, 50)
#: He et al.'s CIFAR-10 length: 64k steps of 128 (their schedule is step decay; ours cosine).
CIFAR_RECIPE = sgd_recipe(128, 64_000, 2_000)
#: MNIST: 10 epochs of 128 (bench.zoo.recipes.MNIST_STEPS, the small models' length too), a test
#: evaluation every epoch; no augmentation (MNIST digits are not flipped or shifted here).
MNIST_RECIPE = sgd_recipe(MNIST_BATCH, MNIST_STEPS, MNIST_EPOCH_STEPS)
