"""The honest framework comparison suite: the harness.

Nothing in this package imports a deep-learning framework, at module level or inside a function
(``lint-imports`` checks it): the code under ``models/`` is reached only through
``bench.catalog.frameworks.framework_module``, in the child processes that run a framework.
Its packages and their layering: docs/design.md, "Module map".
"""

__version__ = "0.1.0"
