"""ResNet-50 v1.5 (bottlenecks, stride on the 3x3): see models/tf/resnet.py."""

from models.tf.resnet import build_imagenet as build

__all__ = ["build"]
