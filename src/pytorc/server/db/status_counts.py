"""The kept job counts by status (migrations 0007, 0009): what keeps them besides the triggers."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from pytorc.vocabulary import JobStatus

COUNT_NEW = f"""
INSERT INTO job_status_count (workflow_id, status, n) VALUES (?, {JobStatus.UNINITIALIZED.code}, ?)
    ON CONFLICT (workflow_id, status) DO UPDATE SET n = n + excluded.n
"""
"""New jobs, added per batch by the two paths that insert jobs (db/jobs.py, db/job_sweeps.py),
which are always uninitialized; a trigger per inserted row cost ~15% of a bulk insert."""


@contextmanager
def range_status_change(
    conn: sqlite3.Connection, workflow_id: int, lo: int, hi: int
) -> Iterator[None]:
    """Inside, status changes of the workflow's jobs are not counted row by row (migration
    0009); those with ids lo..hi are counted before and after and the difference applied, in
    the caller's write transaction. For statements that change a chunk of a big workflow's
    jobs at once (a recount of the whole workflow per chunk would cost more than the chunk)."""
    before = _counts_in(conn, workflow_id, lo, hi)
    conn.execute("INSERT OR IGNORE INTO job_status_bulk (workflow_id) VALUES (?)", (workflow_id,))
    yield
    after = _counts_in(conn, workflow_id, lo, hi)
    conn.execute("DELETE FROM job_status_bulk WHERE workflow_id = ?", (workflow_id,))
    changes = [(s, after.get(s, 0) - before.get(s, 0)) for s in before.keys() | after.keys()]
    conn.executemany(
        "INSERT INTO job_status_count (workflow_id, status, n) VALUES (?, ?, ?)"
        " ON CONFLICT (workflow_id, status) DO UPDATE SET n = n + excluded.n",
        [(workflow_id, status, delta) for status, delta in changes if delta],
    )


def _counts_in(conn: sqlite3.Connection, workflow_id: int, lo: int, hi: int) -> dict[int, int]:
    # `+workflow_id`: read the id range, not every job of the workflow through its index
    rows = conn.execute(
        "SELECT status, count(*) FROM job WHERE id BETWEEN ? AND ? AND +workflow_id = ?"
        " GROUP BY status",
        (lo, hi, workflow_id),
    )
    return dict(rows.fetchall())
