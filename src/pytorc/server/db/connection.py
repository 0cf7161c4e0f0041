"""SQLite connections: one writer, a small pool of readers, migrations at open.

Writes are serialised in-process on the writer connection and each runs in `BEGIN IMMEDIATE`, so
two runners can never claim one job and a state change commits whole or not at all. Readers see
committed snapshots through WAL. An in-memory database is one connection shared by all (readers
of a memory database would otherwise block on the writer's locks).

Code on the event loop never waits for the writer: it awaits `write(fn)` (inline when the writer
is free, else queued to the writer thread), `write_long(fn)` (always the writer thread) or
`read(fn)`. The blocking `transaction()`, `reader()` and `snapshot_reader()` are for worker
threads and refuse to run on the loop. docs/server.md states the policy.

A file database's WAL is folded back into the main file by a checkpointer thread on its own
connection, not by whichever commit happens to fill it: a checkpoint syncs the disk twice, and
the commit that ran it (often a runner's exchange, answered on the event loop) waited for both.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

log = logging.getLogger(__name__)

MEMORY = ":memory:"
BUSY_TIMEOUT_MS = 45_000
CHECKPOINT_INTERVAL = 1.0  # seconds between the checkpointer's passes

T = TypeVar("T")
Work = Callable[[sqlite3.Connection], T]


def pool_size(threads: int) -> int:
    """Connections for `--threads N`: max(N, 2) + 2, as Torc documents it."""
    return max(threads, 2) + 2


def _connect(target: str, uri: bool) -> sqlite3.Connection:
    # isolation_level=None: we issue BEGIN ourselves, so every transaction is explicit.
    conn = sqlite3.connect(target, uri=uri, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


class Database:
    """The server's handle on one SQLite database."""

    def __init__(self, path: str, threads: int = 1) -> None:
        self.path = path
        self.in_memory = path == MEMORY
        self._write_lock = threading.RLock()
        if self.in_memory:
            # memdb VFS: one named in-process database, snapshot-able with VACUUM INTO.
            target, uri = f"file:/torc-{uuid.uuid4().hex}?vfs=memdb", True
        else:
            Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
            target, uri = str(Path(path).expanduser()), False
        self._target, self._uri = target, uri
        self.writer = _connect(target, uri)
        if not self.in_memory:
            self.writer.execute("PRAGMA journal_mode = WAL")
            self.writer.execute("PRAGMA synchronous = NORMAL")
        apply_migrations(self.writer)
        # An initialization marked live was cut short by the death of its server (migration 0010).
        self.writer.execute("UPDATE workflow_initializing SET live = 0 WHERE live")
        self._readers: queue.Queue[sqlite3.Connection] = queue.Queue()
        self._reader_count = 0 if self.in_memory else pool_size(threads) - 1
        for _ in range(self._reader_count):
            self._readers.put(_connect(target, uri))
        self._stop = threading.Event()
        self._checkpointer: threading.Thread | None = None
        if not self.in_memory:
            self.writer.execute("PRAGMA wal_autocheckpoint = 0")  # the checkpointer's job
            self._checkpointer = threading.Thread(
                target=self._checkpoint_forever, name="torc-checkpointer", daemon=True
            )
            self._checkpointer.start()
        # Writes that async code could not run inline wait here for the writer thread.
        self._queue: queue.SimpleQueue[tuple[Work[Any], Future[Any]] | None] = queue.SimpleQueue()
        self._writer_thread = threading.Thread(
            target=self._write_forever, name="torc-writer", daemon=True
        )
        self._writer_thread.start()

    def _checkpoint_forever(self) -> None:
        """Copy committed pages from the WAL into the main file, every CHECKPOINT_INTERVAL.

        PASSIVE: it never waits for readers or blocks the writer; what a reader still needs is
        copied on a later pass. sqlite3 releases the GIL while it syncs, so nothing waits.
        """
        conn = _connect(self._target, self._uri)
        try:
            while not self._stop.wait(CHECKPOINT_INTERVAL):
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                except sqlite3.Error as exc:  # e.g. the disk is full; the next pass retries
                    log.warning("WAL checkpoint failed: %s", exc)
        finally:
            conn.close()

    # -- on the event loop: awaitable, never waits for the writer on the loop --------------

    async def write(self, work: Work[T]) -> T:
        """`work(conn)` in one write transaction; inline when the writer is free, else queued.

        Only for writes known to be short (one job's transition, a runner's exchange): run
        inline, a write holds the event loop until it commits. Taking the writer only when no
        queued write waits keeps writes in arrival order.
        """
        if self._queue.empty() and self._write_lock.acquire(blocking=False):
            try:
                return self._in_transaction(work)
            finally:
                self._write_lock.release()
        return await self.write_long(work)

    async def write_long(self, work: Work[T]) -> T:
        """`work(conn)` in one write transaction on the writer thread; the loop awaits it."""
        done: Future[T] = Future()
        self._queue.put((work, done))
        return await asyncio.wrap_future(done)

    async def read(self, work: Work[T]) -> T:
        """`work(conn)` on a reader: inline when one is free at once, else in a worker thread.

        Only for short reads (one record by id); longer reads belong in a worker thread.
        """
        if not self.in_memory:
            try:
                conn = self._readers.get_nowait()
            except queue.Empty:
                pass
            else:
                try:
                    return work(conn)
                finally:
                    self._give_back(conn)
        elif self._write_lock.acquire(blocking=False):
            try:
                return work(self.writer)
            finally:
                self._write_lock.release()
        return await asyncio.to_thread(self._read_blocking, work)

    def _read_blocking(self, work: Work[T]) -> T:
        with self.reader() as conn:
            return work(conn)

    def _write_forever(self) -> None:
        """The writer thread: run queued writes one at a time, in order, until close()."""
        while (job := self._queue.get()) is not None:
            work, done = job
            if not done.set_running_or_notify_cancel():
                continue  # the request that queued it went away before its turn
            try:
                with self._write_lock:
                    result = self._in_transaction(work)
            except BaseException as exc:  # the thread's edge: the awaiting request gets it
                done.set_exception(exc)
            else:
                done.set_result(result)

    def _in_transaction(self, work: Work[T]) -> T:
        """BEGIN IMMEDIATE, work, COMMIT (ROLLBACK on any exception); the writer lock is held."""
        conn = self.writer
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = work(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result

    # -- in worker threads: blocking, refused on the event loop ----------------------------

    def write_queued(self, work: Work[T]) -> T:
        """`work(conn)` in one write transaction on the writer thread, after the writes already
        waiting: for work done in several transactions that must let other writes in between
        (transaction() may take the writer again before a waiting write gets it)."""
        _refuse_on_event_loop("write_queued")
        if self._stop.is_set():
            raise RuntimeError("the database is closing: no more writes")
        done: Future[T] = Future()
        self._queue.put((work, done))
        return done.result()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: BEGIN IMMEDIATE .. COMMIT, rolled back on any exception."""
        _refuse_on_event_loop("transaction")
        with self._write_lock:
            conn = self.writer
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextmanager
    def reader(self) -> Iterator[sqlite3.Connection]:
        """A connection for reads; each statement sees the last committed state."""
        _refuse_on_event_loop("reader")
        if self.in_memory:
            with self._write_lock:
                yield self.writer
            return
        conn = self._readers.get()
        try:
            yield conn
        finally:
            self._give_back(conn)

    def _give_back(self, conn: sqlite3.Connection) -> None:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        self._readers.put(conn)

    @contextmanager
    def snapshot_reader(self) -> Iterator[sqlite3.Connection]:
        """A reader whose statements all see one consistent snapshot (for paging + counting)."""
        with self.reader() as conn:
            if self.in_memory:
                yield conn
                return
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("ROLLBACK")

    def vacuum_into(self, path: str) -> None:
        """Write a consistent copy of the database to `path` (which must not exist)."""
        _refuse_on_event_loop("vacuum_into")
        with self._write_lock:
            self.writer.execute("VACUUM INTO ?", (path,))

    def snapshot_to(self, path: str) -> None:
        """Write a consistent copy of the database to `path` (which must not exist), letting
        requests go on: a file database through VACUUM INTO on a connection of its own (a
        WAL read transaction, beside the writer); an in-memory one serialized under the
        writer's lock, then written out after it is released."""
        _refuse_on_event_loop("snapshot_to")
        if self.in_memory:
            with self._write_lock:
                image = self.writer.serialize()
            with open(path, "xb") as out:
                out.write(image)
            return
        conn = _connect(self._target, self._uri)
        try:
            conn.execute("VACUUM INTO ?", (path,))
        finally:
            conn.close()

    def close(self) -> None:
        self._stop.set()
        if self._checkpointer is not None:
            self._checkpointer.join()
        self._queue.put(None)
        self._writer_thread.join()
        with self._write_lock:
            while True:
                try:
                    self._readers.get_nowait().close()
                except queue.Empty:
                    break
            if not self.in_memory:
                # Fold the WAL back into the main file so the .db alone is complete.
                self.writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self.writer.close()


def _refuse_on_event_loop(call: str) -> None:
    """A blocking call on the event loop would stall every request while it waits."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return  # a worker thread: waiting is fine here
    raise RuntimeError(
        f"Database.{call}() blocks and must not run on the event loop: await db.write(),"
        " db.write_long() or db.read() there"
    )


def apply_migrations(conn: sqlite3.Connection) -> list[str]:
    """Apply the numbered .sql files not applied yet, each in its own transaction."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migration (name TEXT PRIMARY KEY, applied_at TEXT)"
    )
    done = {r[0] for r in conn.execute("SELECT name FROM schema_migration")}
    folder = resources.files("pytorc.server.db").joinpath("migrations")
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".sql"))
    applied = []
    for name in names:
        if name in done:
            continue
        sql = folder.joinpath(name).read_text()
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(sql):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_migration VALUES (?, datetime('now'))", (name,))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        log.info("applied migration %s", name)
        applied.append(name)
    return applied


def _statements(sql: str) -> Iterator[str]:
    """Split a migration into statements (executescript would commit on its own)."""
    buf = ""
    for line in sql.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                yield buf
            buf = ""
    if buf.strip() and not buf.strip().startswith("--"):
        yield buf
