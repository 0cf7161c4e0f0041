"""Snapshots: a consistent copy of the live database, written while the server keeps serving.

Taken on SIGUSR1, every `snapshot_interval_seconds`, and at a clean shutdown when snapshots are
in use (an interval or a snapshot path is set, or one was taken). Each is written to
`<path>.tmp`, synced, and renamed over `<path>` after the older ones move down (`<path>` ->
`<path>.1` -> ... -> `<path>.<keep>`), so `<path>` is always a complete database:
`torc-server run --database <path>` resumes from it. When one is complete the server prints
`TORC_SNAPSHOT_DONE=<path>` on stdout.

How the copy is made (Database.snapshot_to): a file database is copied with VACUUM INTO on a
connection of its own, a read transaction that WAL lets run beside writes, so nothing waits; an
in-memory database is serialized under the writer's lock (a memory copy: writes pause for that
copy only, not for the disk) and written to disk after the lock is released.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from pytorc.server.db.connection import Database

log = logging.getLogger(__name__)


class Snapshotter:
    """The thread that takes snapshots when asked (request()) or when the interval is up."""

    def __init__(
        self,
        db: Database,
        path: str,
        keep: int,
        interval: float,
        announce: Callable[[str], None],
    ) -> None:
        self.db = db
        self.path = Path(path).expanduser().resolve()
        self.keep = keep
        self.interval = interval
        self.announce = announce
        self._wanted = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()  # one snapshot at a time
        self._thread = threading.Thread(target=self._run, name="torc-snapshots", daemon=True)
        self.taken = 0  # snapshots written by this server

    def start(self) -> None:
        self._thread.start()

    def request(self) -> None:
        """Ask for a snapshot now (safe from a signal handler: it only sets an event)."""
        self._wanted.set()

    def stop(self) -> None:
        self._stop.set()
        self._wanted.set()
        self._thread.join(timeout=600)

    def _run(self) -> None:
        while True:
            self._wanted.wait(timeout=self.interval or None)
            if self._stop.is_set():
                return
            self._wanted.clear()
            try:
                self.take()
            except Exception:  # a full disk, say: the server goes on, the next one may work
                log.exception("snapshot to %s failed", self.path)

    def take(self) -> Path:
        """Write one snapshot, rotate the older ones, announce it; its path."""
        with self._lock:
            started = time.monotonic()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(self.path.name + ".tmp")
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            self.db.snapshot_to(str(tmp))
            _fsync(tmp)
            self._rotate()
            os.replace(tmp, self.path)
            _fsync(self.path.parent)
            log.info("snapshot %s written in %.2f s", self.path, time.monotonic() - started)
            self.taken += 1
        self.announce(str(self.path))
        return self.path

    def _rotate(self) -> None:
        """<path>.<keep-1> -> <path>.<keep>, ..., <path> -> <path>.1 (the oldest falls off)."""
        for n in range(self.keep - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{n}")
            if older.exists():
                os.replace(older, self.path.with_name(f"{self.path.name}.{n + 1}"))
        if self.path.exists():
            os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
