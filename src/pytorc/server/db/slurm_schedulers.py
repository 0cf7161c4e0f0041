"""SQL for Slurm schedulers: the sbatch settings of one kind of allocation."""

from __future__ import annotations

import sqlite3
from typing import Any

from pytorc.errors import InvalidInput
from pytorc.models import SlurmSchedulerModel
from pytorc.server.db.common import Row, page, require

_COLUMNS = (
    "name",
    "account",
    "gres",
    "mem",
    "nodes",
    "ntasks_per_node",
    "partition",
    "qos",
    "tmp",
    "walltime",
    "extra",
)
SORTABLE = (*_COLUMNS, "workflow_id")

_INSERT = f"""
INSERT INTO slurm_scheduler (workflow_id, {", ".join(_COLUMNS)})
VALUES (:workflow_id, {", ".join(":" + c for c in _COLUMNS)}) RETURNING *
"""


def to_dict(row: Row) -> dict[str, Any]:
    return {"id": row["id"], "workflow_id": row["workflow_id"], **{c: row[c] for c in _COLUMNS}}


def _check(scheduler: SlurmSchedulerModel) -> None:
    if scheduler.nodes < 1:
        raise InvalidInput(f"nodes must be >= 1, got {scheduler.nodes}")
    if scheduler.ntasks_per_node is not None and scheduler.ntasks_per_node < 1:
        raise InvalidInput(f"ntasks_per_node must be >= 1, got {scheduler.ntasks_per_node}")


def create(conn: sqlite3.Connection, scheduler: SlurmSchedulerModel) -> dict[str, Any]:
    require(conn, "workflow", scheduler.workflow_id)
    _check(scheduler)
    values = scheduler.model_dump(include={"workflow_id", *_COLUMNS})
    return to_dict(conn.execute(_INSERT, values).fetchone())


def get(conn: sqlite3.Connection, id: int) -> dict[str, Any]:
    return to_dict(require(conn, "slurm_scheduler", id))


def update(conn: sqlite3.Connection, id: int, scheduler: SlurmSchedulerModel) -> dict[str, Any]:
    """Overwrite the fields the body carries; absent optional ones are kept."""
    row = require(conn, "slurm_scheduler", id)
    if scheduler.workflow_id != row["workflow_id"]:
        raise InvalidInput(
            f"slurm scheduler {id} belongs to workflow {row['workflow_id']},"
            f" not {scheduler.workflow_id}"
        )
    _check(scheduler)
    values = scheduler.model_dump(include=set(_COLUMNS) & scheduler.model_fields_set)
    assignments = ", ".join(f"{c} = :{c}" for c in values)
    conn.execute(f"UPDATE slurm_scheduler SET {assignments} WHERE id = :id", {**values, "id": id})
    return get(conn, id)


def delete(conn: sqlite3.Connection, id: int) -> dict[str, Any]:
    scheduler = get(conn, id)
    conn.execute("DELETE FROM slurm_scheduler WHERE id = ?", (id,))
    return scheduler


def list_page(
    conn: sqlite3.Connection,
    workflow_id: int,
    *,
    offset: int,
    limit: int | None,
    sort_by: str | None,
    reverse_sort: bool | None,
) -> dict[str, Any]:
    return page(
        conn,
        table="slurm_scheduler",
        where="slurm_scheduler.workflow_id = :wf",
        params={"wf": workflow_id},
        offset=offset,
        limit=limit,
        sort_by=sort_by,
        reverse_sort=reverse_sort,
        sortable=SORTABLE,
        to_item=to_dict,
    )
