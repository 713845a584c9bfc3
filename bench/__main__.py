"""``python -m bench`` → :func:`bench.cli.main`.

The guard matters: worker processes are started with the "spawn" method, which re-imports the
parent's main module under another name; it must not start a second run.
"""

import sys

if __name__ == "__main__":
    from bench.cli import main

    sys.exit(main())
