"""ResNet-56 (CIFAR family): see models/torch/resnet.py."""

from models.torch.resnet import build_cifar as build

__all__ = ["build"]
