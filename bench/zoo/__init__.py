"""The model zoo: one module per architecture, found by looking, never by a list to edit.

Every module of this package that defines ``ARCHITECTURE`` (a :class:`~bench.zoo.base.Architecture`)
is a registered model; helper modules (``base``, ``layers``, families such as
``resnet_family``) define none. So adding a model with existing layer kinds is one new module
here plus ``models/<framework>/<name>.py`` for each framework (docs/models.md).
"""

from __future__ import annotations

import importlib
import pkgutil

from bench.zoo.base import Architecture, Variant


def _discover() -> dict[str, Architecture]:
    found: list[Architecture] = []
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        arch = getattr(module, "ARCHITECTURE", None)
        if isinstance(arch, Architecture):
            if arch.name != info.name:
                raise RuntimeError(f"bench/zoo/{info.name}.py declares {arch.name!r}")
            found.append(arch)
    return {a.name: a for a in sorted(found, key=lambda a: (a.order, a.name))}


#: Model name → its declaration, in the registry's order.
REGISTRY: dict[str, Architecture] = _discover()


def get(name: str) -> Architecture:
    """The declaration of model ``name``; a ValueError naming the choices otherwise."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose from {sorted(REGISTRY)}") from None


__all__ = ["REGISTRY", "Architecture", "Variant", "get"]
