"""SQL for remote workers: hosts a workflow's runners may be started on (e.g. over ssh)."""

from __future__ import annotations

import sqlite3
from typing import Any

from pytorc.errors import InvalidInput, NotFound


def add(conn: sqlite3.Connection, workflow_id: int, workers: list[str]) -> list[dict[str, Any]]:
    """Add workers (ones already listed are kept once); the records of all given workers."""
    unique = list(dict.fromkeys(workers))
    for worker in unique:
        if not worker.strip():
            raise InvalidInput("a remote worker address must not be empty")
    conn.executemany(
        "INSERT OR IGNORE INTO remote_worker (workflow_id, worker) VALUES (?, ?)",
        [(workflow_id, w) for w in unique],
    )
    return [{"worker": w, "workflow_id": workflow_id} for w in unique]


def list_all(conn: sqlite3.Connection, workflow_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT worker FROM remote_worker WHERE workflow_id = ? ORDER BY worker", (workflow_id,)
    )
    return [{"worker": r[0], "workflow_id": workflow_id} for r in rows]


def delete(conn: sqlite3.Connection, workflow_id: int, worker: str) -> dict[str, Any]:
    n = conn.execute(
        "DELETE FROM remote_worker WHERE workflow_id = ? AND worker = ?", (workflow_id, worker)
    ).rowcount
    if not n:
        raise NotFound("remote worker", f"{worker!r} of workflow {workflow_id}")
    return {"worker": worker, "workflow_id": workflow_id}
