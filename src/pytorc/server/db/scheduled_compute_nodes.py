"""SQL for scheduled compute nodes: allocations submitted to a scheduler (e.g. a Slurm job).

scheduler_id is the scheduler's own id (the Slurm job id); scheduler_config_id is the
slurm_scheduler (or local_scheduler) row the allocation was made from.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from pytorc.errors import InvalidInput
from pytorc.models import ScheduledComputeNodesModel
from pytorc.server.db.common import Row, page, require, require_in_workflow

_COLUMNS = ("scheduler_id", "scheduler_config_id", "scheduler_type", "status")
SORTABLE = (*_COLUMNS, "workflow_id")
# scheduler_type -> (table, kind) its scheduler_config_id must name in the same workflow
_CONFIG_TABLES = {
    "slurm": ("slurm_scheduler", "slurm scheduler"),
    "local": ("local_scheduler", "local scheduler"),
}

_INSERT = """
INSERT INTO scheduled_compute_node (workflow_id, scheduler_id, scheduler_config_id,
                                    scheduler_type, status)
VALUES (:workflow_id, :scheduler_id, :scheduler_config_id, :scheduler_type, :status)
RETURNING *
"""


def to_dict(row: Row) -> dict[str, Any]:
    return {"id": row["id"], "workflow_id": row["workflow_id"], **{c: row[c] for c in _COLUMNS}}


def _check_config(conn: sqlite3.Connection, node: ScheduledComputeNodesModel) -> None:
    """A slurm/local allocation must come from a scheduler config of its own workflow."""
    target = _CONFIG_TABLES.get(node.scheduler_type)
    if target is not None:
        table, kind = target
        require_in_workflow(conn, table, node.scheduler_config_id, node.workflow_id, kind)


def create(conn: sqlite3.Connection, node: ScheduledComputeNodesModel) -> dict[str, Any]:
    require(conn, "workflow", node.workflow_id)
    _check_config(conn, node)
    values = node.model_dump(include={"workflow_id", *_COLUMNS})
    return to_dict(conn.execute(_INSERT, values).fetchone())


def get(conn: sqlite3.Connection, id: int) -> dict[str, Any]:
    return to_dict(require(conn, "scheduled_compute_node", id))


def update(conn: sqlite3.Connection, id: int, node: ScheduledComputeNodesModel) -> dict[str, Any]:
    """Overwrite scheduler ids, type and status (typically pending -> active -> complete)."""
    row = require(conn, "scheduled_compute_node", id)
    if node.workflow_id != row["workflow_id"]:
        raise InvalidInput(
            f"scheduled compute node {id} belongs to workflow {row['workflow_id']},"
            f" not {node.workflow_id}"
        )
    _check_config(conn, node)
    values = node.model_dump(include=set(_COLUMNS))
    conn.execute(
        "UPDATE scheduled_compute_node SET scheduler_id = :scheduler_id,"
        " scheduler_config_id = :scheduler_config_id, scheduler_type = :scheduler_type,"
        " status = :status WHERE id = :id",
        {**values, "id": id},
    )
    return get(conn, id)


def delete(conn: sqlite3.Connection, id: int) -> dict[str, Any]:
    node = get(conn, id)
    conn.execute("DELETE FROM scheduled_compute_node WHERE id = ?", (id,))
    return node


def list_page(
    conn: sqlite3.Connection,
    workflow_id: int,
    *,
    scheduler_id: int | None,
    scheduler_config_id: int | None,
    status: str | None,
    offset: int,
    limit: int | None,
    sort_by: str | None,
    reverse_sort: bool | None,
) -> dict[str, Any]:
    where = ["scheduled_compute_node.workflow_id = :wf"]
    params: dict[str, Any] = {"wf": workflow_id}
    filters = {
        "scheduler_id": scheduler_id,
        "scheduler_config_id": scheduler_config_id,
        "status": status,
    }
    for column, value in filters.items():
        if value is not None:
            where.append(f"scheduled_compute_node.{column} = :{column}")
            params[column] = value
    return page(
        conn,
        table="scheduled_compute_node",
        where=" AND ".join(where),
        params=params,
        offset=offset,
        limit=limit,
        sort_by=sort_by,
        reverse_sort=reverse_sort,
        sortable=SORTABLE,
        to_item=to_dict,
    )
