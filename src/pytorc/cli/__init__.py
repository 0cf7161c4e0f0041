"""The `torc` command line.

Start-up makes some 30,000 objects that live as long as the process (modules, classes, the
commands' parameters). Under the default threshold (700) the cyclic collector walked them ~45
times before a one-job `torc run` was done: 6-7 ms of it. So the CLI starts with a threshold
no start-up reaches; a command that runs for long calls `steady_gc` once it is set up.
"""

import gc

_DEFAULT_THRESHOLDS = gc.get_threshold()
gc.set_threshold(100_000, *_DEFAULT_THRESHOLDS[1:])


def steady_gc() -> None:
    """Leave what start-up made out of every later collection, and collect as usual again."""
    gc.freeze()
    gc.set_threshold(*_DEFAULT_THRESHOLDS)
