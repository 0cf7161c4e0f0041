"""SQL for local schedulers: resource limits for runners started with `torc run`."""

from __future__ import annotations

import sqlite3
from typing import Any

from pytorc.errors import InvalidInput
from pytorc.models import LocalSchedulerModel
from pytorc.server.db.common import Row, page, require
from pytorc.server.db.resource_requirements import parse_memory

_COLUMNS = ("name", "memory", "num_cpus")
SORTABLE = (*_COLUMNS, "workflow_id")

_INSERT = """
INSERT INTO local_scheduler (workflow_id, name, memory, num_cpus)
VALUES (:workflow_id, :name, :memory, :num_cpus) RETURNING *
"""


def to_dict(row: Row) -> dict[str, Any]:
    return {"id": row["id"], "workflow_id": row["workflow_id"], **{c: row[c] for c in _COLUMNS}}


def _check(scheduler: LocalSchedulerModel) -> None:
    if scheduler.memory is not None:
        parse_memory(scheduler.memory)
    if scheduler.num_cpus is not None and scheduler.num_cpus < 0:
        raise InvalidInput(f"num_cpus must be >= 0, got {scheduler.num_cpus}")


def create(conn: sqlite3.Connection, scheduler: LocalSchedulerModel) -> dict[str, Any]:
    require(conn, "workflow", scheduler.workflow_id)
    _check(scheduler)
    values = scheduler.model_dump(include={"workflow_id", *_COLUMNS})
    return to_dict(conn.execute(_INSERT, values).fetchone())


def get(conn: sqlite3.Connection, id: int) -> dict[str, Any]:
    return to_dict(require(conn, "local_scheduler", id))


def update(conn: sqlite3.Connection, id: int, scheduler: LocalSchedulerModel) -> dict[str, Any]:
    """Overwrite the fields the body carries; absent ones are kept."""
    row = require(conn, "local_scheduler", id)
    if scheduler.workflow_id != row["workflow_id"]:
        raise InvalidInput(
            f"local scheduler {id} belongs to workflow {row['workflow_id']},"
            f" not {scheduler.workflow_id}"
        )
    _check(scheduler)
    values = scheduler.model_dump(include=set(_COLUMNS) & scheduler.model_fields_set)
    if values:
        assignments = ", ".join(f"{c} = :{c}" for c in values)
        conn.execute(
            f"UPDATE local_scheduler SET {assignments} WHERE id = :id", {**values, "id": id}
        )
    return get(conn, id)


def delete(conn: sqlite3.Connection, id: int) -> dict[str, Any]:
    scheduler = get(conn, id)
    conn.execute("DELETE FROM local_scheduler WHERE id = ?", (id,))
    return scheduler


def list_page(
    conn: sqlite3.Connection,
    workflow_id: int,
    *,
    memory: str | None,
    num_cpus: int | None,
    offset: int,
    limit: int | None,
    sort_by: str | None,
    reverse_sort: bool | None,
) -> dict[str, Any]:
    """One page of local schedulers; memory matches the stored string exactly."""
    where = ["local_scheduler.workflow_id = :wf"]
    params: dict[str, Any] = {"wf": workflow_id}
    if memory is not None:
        where.append("local_scheduler.memory = :memory")
        params["memory"] = memory
    if num_cpus is not None:
        where.append("local_scheduler.num_cpus = :num_cpus")
        params["num_cpus"] = num_cpus
    return page(
        conn,
        table="local_scheduler",
        where=" AND ".join(where),
        params=params,
        offset=offset,
        limit=limit,
        sort_by=sort_by,
        reverse_sort=reverse_sort,
        sortable=SORTABLE,
        to_item=to_dict,
    )
