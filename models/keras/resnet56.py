"""ResNet-56 (CIFAR family): see models/keras/resnet.py."""

from models.keras.resnet import build_cifar as build

__all__ = ["build"]
