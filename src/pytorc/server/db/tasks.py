"""SQL for tasks: long operations (async initialize_jobs) a client polls for."""

from __future__ import annotations

import sqlite3
from typing import Any

from pytorc.models import TaskStatus
from pytorc.server.db.common import Row, require

_COLUMNS = (
    "id",
    "workflow_id",
    "operation",
    "status",
    "created_at_ms",
    "started_at_ms",
    "finished_at_ms",
    "error",
)
_ACTIVE = """
SELECT * FROM task WHERE workflow_id = :wf AND status IN (:queued, :running)
 ORDER BY id DESC LIMIT 1
"""


def to_dict(row: Row) -> dict[str, Any]:
    return {c: row[c] for c in _COLUMNS}


def get(conn: sqlite3.Connection, id: int) -> dict[str, Any]:
    return to_dict(require(conn, "task", id))


def active(conn: sqlite3.Connection, workflow_id: int) -> dict[str, Any] | None:
    """The workflow's newest queued or running task, if any."""
    row = conn.execute(
        _ACTIVE,
        {"wf": workflow_id, "queued": TaskStatus.QUEUED.value, "running": TaskStatus.RUNNING.value},
    ).fetchone()
    return None if row is None else to_dict(row)


_INSERT_FINISHED = """
INSERT INTO task (workflow_id, operation, status, created_at_ms, started_at_ms, finished_at_ms)
VALUES (:wf, :operation, :succeeded, :created, :created, :finished)
RETURNING *
"""


def create_finished(
    conn: sqlite3.Connection, workflow_id: int, operation: str, created_ms: int, finished_ms: int
) -> dict[str, Any]:
    """Record an operation that already succeeded, started when it was asked for."""
    params = {
        "wf": workflow_id,
        "operation": operation,
        "succeeded": TaskStatus.SUCCEEDED.value,
        "created": created_ms,
        "finished": finished_ms,
    }
    return to_dict(conn.execute(_INSERT_FINISHED, params).fetchone())
