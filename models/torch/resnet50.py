"""ResNet-50 v1.5 (bottlenecks, stride on the 3x3): see models/torch/resnet.py."""

from models.torch.resnet import build_imagenet as build

__all__ = ["build"]
