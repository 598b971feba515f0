"""``python -m benchmarks``: see :mod:`benchmarks.run`."""

import sys

from benchmarks.run import main

if __name__ == "__main__":  # worker processes of the shards benchmark import this module again (spawn)
    sys.exit(main())
