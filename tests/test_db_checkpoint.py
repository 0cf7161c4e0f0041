"""The WAL is checkpointed by the database's own thread, never by a committing request."""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from pathlib import Path

from helpers import wait_until
from pytorc.server.db.connection import Database


def test_committed_pages_reach_the_main_file_without_a_commit_syncing_them(
    tmp_path: Path,
) -> None:
    path = tmp_path / "torc.db"
    db = Database(str(path))
    try:
        # a commit never checkpoints (it would sync the disk twice on the request's time)
        assert db.writer.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
        before = path.stat().st_size
        with db.transaction() as conn:
            conn.execute("CREATE TABLE filler (x BLOB)")
            conn.executemany("INSERT INTO filler VALUES (?)", [(os.urandom(1000),)] * 3000)
        # ~3 MB sits in the WAL until the checkpointer copies it into the main file
        wait_until(
            lambda: path.stat().st_size > before + 2_000_000,
            timeout=30,
            what="the checkpointer to copy the WAL into the main file",
        )
        with db.reader() as conn:
            assert conn.execute("SELECT count(*) FROM filler").fetchone()[0] == 3000
    finally:
        db.close()
    wal = Path(f"{path}-wal")
    assert not wal.exists() or wal.stat().st_size == 0  # closing folds and truncates the WAL
    with closing(sqlite3.connect(path)) as alone:  # the main file alone holds everything
        assert alone.execute("SELECT count(*) FROM filler").fetchone()[0] == 3000
