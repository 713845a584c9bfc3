"""Keras 3: one model definition that runs on the tensorflow, torch or jax backend."""
