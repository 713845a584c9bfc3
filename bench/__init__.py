"""The honest framework comparison suite: the harness.

Nothing in this package imports a deep-learning framework at module level: frameworks are
imported only inside the worker process that runs them (see ``bench.run.worker``).
"""

__version__ = "0.1.0"
