"""SQL for failure handlers: named rule lists the runner applies to a failed job."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from pytorc.errors import Conflict, InvalidInput
from pytorc.models import FailureHandlerModel
from pytorc.server.db.common import Row, page, require

_INSERT = """
INSERT INTO failure_handler (workflow_id, name, rules) VALUES (:workflow_id, :name, :rules)
RETURNING *
"""
_JOBS_USING = "SELECT count(*) FROM job WHERE workflow_id = ? AND failure_handler_id = ?"


def to_dict(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "workflow_id": row["workflow_id"],
        "name": row["name"],
        "rules": row["rules"],
    }


def check_rules(rules: str) -> None:
    """`rules` is JSON text holding an array of rule objects; the runner parses it later, so a
    bad value is refused now rather than when a job fails."""
    try:
        parsed = json.loads(rules)
    except ValueError as exc:
        raise InvalidInput(f"rules is not valid JSON: {exc}") from None
    if not isinstance(parsed, list):
        raise InvalidInput(
            f"rules must be a JSON array of rule objects, got {type(parsed).__name__}"
        )
    for i, rule in enumerate(parsed):
        if not isinstance(rule, dict):
            raise InvalidInput(f"rules[{i}] must be a JSON object, got {type(rule).__name__}")


def create(conn: sqlite3.Connection, handler: FailureHandlerModel) -> dict[str, Any]:
    require(conn, "workflow", handler.workflow_id)
    check_rules(handler.rules)
    values = handler.model_dump(include={"workflow_id", "name", "rules"})
    return to_dict(conn.execute(_INSERT, values).fetchone())


def get(conn: sqlite3.Connection, id: int) -> dict[str, Any]:
    return to_dict(require(conn, "failure_handler", id))


def delete(conn: sqlite3.Connection, id: int) -> dict[str, Any]:
    """Delete a handler no job names (a job's runner would otherwise find it missing)."""
    handler = get(conn, id)
    users = conn.execute(_JOBS_USING, (handler["workflow_id"], id)).fetchone()[0]
    if users:
        raise Conflict(f"failure handler {id} is used by {users} job(s); cannot delete")
    conn.execute("DELETE FROM failure_handler WHERE id = ?", (id,))
    return handler


def list_page(
    conn: sqlite3.Connection, workflow_id: int, *, offset: int, limit: int | None
) -> dict[str, Any]:
    return page(
        conn,
        table="failure_handler",
        where="failure_handler.workflow_id = :wf",
        params={"wf": workflow_id},
        offset=offset,
        limit=limit,
        sort_by=None,
        reverse_sort=None,
        sortable=(),
        to_item=to_dict,
    )
