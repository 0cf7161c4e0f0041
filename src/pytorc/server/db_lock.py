"""One server per database file: a second `torc-server` on the same file would assign the same
ids and claim the same jobs as the first (each believes it is the only writer).

The server holds an exclusive flock on `<database>.server.lock` for its lifetime; the kernel
drops it when the process ends, however it ends (a kill -9 included), so a restart never finds
a stale lock. The file also names the holder's pid for the error message.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from pytorc.config import ConfigError


def hold(database: str) -> IO[str]:
    """Take the database's server lock (keep the returned file open while serving), or raise
    ConfigError naming the server that has it. Refuses a database whose directory is missing,
    rather than creating directories from a typo."""
    path = Path(database).expanduser()
    if not path.parent.is_dir():
        raise ConfigError(
            f"the directory of database {database} does not exist ({path.parent}):"
            " create it first, or choose another --database"
        )
    lock = open(f"{path}.server.lock", "a+")  # noqa: SIM115 - held for the server's life
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.seek(0)
        holder = lock.read().strip() or "unknown"
        lock.close()
        raise ConfigError(
            f"database {database} is already served by another torc-server (pid {holder});"
            " stop it, or point this one at another --database"
        ) from None
    lock.seek(0)
    lock.truncate()
    lock.write(f"{os.getpid()}\n")
    lock.flush()
    return lock
