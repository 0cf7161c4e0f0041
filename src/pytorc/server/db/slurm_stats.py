"""SQL for Slurm stats: sacct measurements of one job attempt that ran as an srun step."""

from __future__ import annotations

import sqlite3
from typing import Any

from pytorc.models import SlurmStatsModel
from pytorc.server.db.common import Row, page, require, require_in_workflow

_COLUMNS = (
    "job_id",
    "run_id",
    "attempt_id",
    "slurm_job_id",
    "max_rss_bytes",
    "max_vm_size_bytes",
    "max_disk_read_bytes",
    "max_disk_write_bytes",
    "ave_cpu_seconds",
    "node_list",
)
_INSERT = f"""
INSERT INTO slurm_stats (workflow_id, {", ".join(_COLUMNS)})
VALUES (:workflow_id, {", ".join(":" + c for c in _COLUMNS)}) RETURNING *
"""


def to_dict(row: Row) -> dict[str, Any]:
    return {"id": row["id"], "workflow_id": row["workflow_id"], **{c: row[c] for c in _COLUMNS}}


def create(conn: sqlite3.Connection, stats: SlurmStatsModel) -> dict[str, Any]:
    require(conn, "workflow", stats.workflow_id)
    require_in_workflow(conn, "job", stats.job_id, stats.workflow_id, "job")
    values = stats.model_dump(include={"workflow_id", *_COLUMNS})
    return to_dict(conn.execute(_INSERT, values).fetchone())


def list_page(
    conn: sqlite3.Connection,
    workflow_id: int,
    *,
    job_id: int | None,
    run_id: int | None,
    attempt_id: int | None,
    offset: int,
    limit: int | None,
) -> dict[str, Any]:
    """One page of stats in insertion order, optionally for one job / run / attempt."""
    where = ["slurm_stats.workflow_id = :wf"]
    params: dict[str, Any] = {"wf": workflow_id}
    for column, value in (("job_id", job_id), ("run_id", run_id), ("attempt_id", attempt_id)):
        if value is not None:
            where.append(f"slurm_stats.{column} = :{column}")
            params[column] = value
    return page(
        conn,
        table="slurm_stats",
        where=" AND ".join(where),
        params=params,
        offset=offset,
        limit=limit,
        sort_by=None,
        reverse_sort=None,
        sortable=(),
        to_item=to_dict,
    )
