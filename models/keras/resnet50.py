"""ResNet-50 v1.5 (bottlenecks, stride on the 3x3; not keras.applications' v1): see
models/keras/resnet.py."""

from models.keras.resnet import build_imagenet as build

__all__ = ["build"]
