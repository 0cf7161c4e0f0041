"""SQL for events: timestamped JSON records, conventionally {"category", "message", ...}."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from pytorc.models import EventModel
from pytorc.server.db.common import Row, dumps, loads, page, require

SORTABLE = ("timestamp", "workflow_id")


# How much each server-side event matters (Torc's severities); any other category is "info".
SEVERITY = {
    "job_failed": "error",
    "job_pending_failed": "error",
    "job_terminated": "warning",
    "runner_declared_dead": "warning",
    "workflow_canceled": "warning",
}
LEVELS = ("debug", "info", "warning", "error")


def severity(data: Any) -> str:
    """An event's severity: its own `severity`, else its category's, else info."""
    if isinstance(data, dict):
        given = data.get("severity")
        if given in LEVELS:
            return str(given)
        return SEVERITY.get(str(data.get("category")), "info")
    return "info"


def record(
    conn: sqlite3.Connection, workflow_id: int, category: str, message: str, **data: Any
) -> None:
    """Store a server-side event: data carries `category`, `message` and `severity`."""
    body = {"category": category, "message": message, "severity": SEVERITY.get(category, "info")}
    conn.execute(
        "INSERT INTO event (workflow_id, timestamp, data) VALUES (?, ?, ?)",
        (workflow_id, int(time.time() * 1000), dumps({**body, **data})),
    )


def after_id(conn: sqlite3.Connection, workflow_id: int, last_id: int, limit: int) -> list[Row]:
    """The workflow's events newer than event `last_id`, oldest first (the live stream)."""
    return conn.execute(
        "SELECT * FROM event WHERE workflow_id = ? AND id > ? ORDER BY id LIMIT ?",
        (workflow_id, last_id, limit),
    ).fetchall()


def latest(conn: sqlite3.Connection, workflow_id: int) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT * FROM event WHERE workflow_id = ? ORDER BY id DESC LIMIT 1", (workflow_id,)
    ).fetchone()
    return None if row is None else to_dict(row)


def to_dict(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "workflow_id": row["workflow_id"],
        "timestamp": row["timestamp"],
        "data": loads(row["data"]),
    }


def create(conn: sqlite3.Connection, event: EventModel) -> dict[str, Any]:
    require(conn, "workflow", event.workflow_id)
    row = conn.execute(
        "INSERT INTO event (workflow_id, timestamp, data) VALUES (?, ?, ?) RETURNING *",
        (event.workflow_id, event.timestamp, dumps(event.data)),
    ).fetchone()
    return to_dict(row)


def get(conn: sqlite3.Connection, id: int) -> dict[str, Any]:
    return to_dict(require(conn, "event", id))


def update(conn: sqlite3.Connection, id: int, data: Any) -> dict[str, Any]:
    """Replace the event's data with any JSON value; workflow and timestamp stay."""
    require(conn, "event", id)
    row = conn.execute(
        "UPDATE event SET data = ? WHERE id = ? RETURNING *", (dumps(data), id)
    ).fetchone()
    return to_dict(row)


def delete(conn: sqlite3.Connection, id: int) -> dict[str, Any]:
    event = get(conn, id)
    conn.execute("DELETE FROM event WHERE id = ?", (id,))
    return event


def list_page(
    conn: sqlite3.Connection,
    workflow_id: int,
    *,
    category: str | None,
    after_timestamp: int | None,
    offset: int,
    limit: int | None,
    sort_by: str | None,
    reverse_sort: bool | None,
) -> dict[str, Any]:
    """One page of events; `category` matches data.category, after_timestamp is exclusive (ms)."""
    where = ["event.workflow_id = :wf"]
    params: dict[str, Any] = {"wf": workflow_id}
    if category is not None:
        where.append("json_extract(event.data, '$.category') = :category")
        params["category"] = category
    if after_timestamp is not None:
        where.append("event.timestamp > :after")
        params["after"] = after_timestamp
    return page(
        conn,
        table="event",
        where=" AND ".join(where),
        params=params,
        offset=offset,
        limit=limit,
        sort_by=sort_by,
        reverse_sort=reverse_sort,
        sortable=SORTABLE,
        to_item=to_dict,
    )
