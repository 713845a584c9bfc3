"""ResNet-20 (CIFAR family): see models/tf/resnet.py."""

from models.tf.resnet import build_cifar as build

__all__ = ["build"]
