"""SQL for the workflow's derived views: edges with names, running jobs, input checks."""

from __future__ import annotations

import sqlite3
from typing import Any

from pytorc.errors import InvalidInput
from pytorc.server.db.common import check_limit, envelope, require
from pytorc.units import format_duration
from pytorc.vocabulary import JobStatus

_VIEWS: dict[str, tuple[str, tuple[str, ...]]] = {
    "job_dependencies": (
        """SELECT d.job_id, j.name AS job_name, d.depends_on_job_id, u.name AS depends_on_job_name,
                  d.workflow_id
             FROM job_depends_on d JOIN job j ON j.id = d.job_id
             JOIN job u ON u.id = d.depends_on_job_id
            WHERE d.workflow_id = :wf""",
        ("job_id", "job_name", "depends_on_job_id", "depends_on_job_name"),
    ),
    "job_file_relationships": (
        """SELECT f.id AS file_id, f.name AS file_name, f.path AS file_path,
                  o.job_id AS producer_job_id, pj.name AS producer_job_name,
                  i.job_id AS consumer_job_id, cj.name AS consumer_job_name, f.workflow_id
             FROM file f
             LEFT JOIN job_output_file o ON o.file_id = f.id LEFT JOIN job pj ON pj.id = o.job_id
             LEFT JOIN job_input_file i ON i.file_id = f.id LEFT JOIN job cj ON cj.id = i.job_id
            WHERE f.workflow_id = :wf""",
        ("file_id", "file_name", "file_path", "producer_job_id", "consumer_job_id"),
    ),
    "job_user_data_relationships": (
        """SELECT u.id AS user_data_id, u.name AS user_data_name,
                  o.job_id AS producer_job_id, pj.name AS producer_job_name,
                  i.job_id AS consumer_job_id, cj.name AS consumer_job_name, u.workflow_id
             FROM user_data u
             LEFT JOIN job_output_user_data o ON o.user_data_id = u.id
             LEFT JOIN job pj ON pj.id = o.job_id
             LEFT JOIN job_input_user_data i ON i.user_data_id = u.id
             LEFT JOIN job cj ON cj.id = i.job_id
            WHERE u.workflow_id = :wf""",
        ("user_data_id", "user_data_name", "producer_job_id", "consumer_job_id"),
    ),
    "running_jobs": (
        f"""SELECT j.id AS job_id, j.name AS job_name,
                  coalesce(cn.hostname, '') AS compute_node_name,
                  coalesce(cn.compute_node_type, 'local') AS scheduler_type,
                  CAST(json_extract(cn.scheduler, '$.slurm_job_id') AS TEXT) AS scheduler_job_id,
                  j.start_time
             FROM job j LEFT JOIN compute_node cn ON cn.id = j.compute_node_id
            WHERE j.workflow_id = :wf AND j.status = {JobStatus.RUNNING.code}""",
        ("job_id", "job_name", "start_time"),
    ),
    "slurm_job_correlations": (
        """SELECT DISTINCT j.id AS job_id, j.name AS job_name,
                  CAST(json_extract(cn.scheduler, '$.slurm_job_id') AS TEXT) AS slurm_job_id
             FROM job j
             JOIN result r ON r.job_id = j.id
             JOIN compute_node cn ON cn.id = coalesce(j.compute_node_id, r.compute_node_id)
            WHERE j.workflow_id = :wf AND json_extract(cn.scheduler, '$.slurm_job_id') IS NOT NULL
           UNION
           SELECT j.id, j.name, CAST(json_extract(cn.scheduler, '$.slurm_job_id') AS TEXT)
             FROM job j JOIN compute_node cn ON cn.id = j.compute_node_id
            WHERE j.workflow_id = :wf
              AND json_extract(cn.scheduler, '$.slurm_job_id') IS NOT NULL""",
        ("job_id", "job_name", "slurm_job_id"),
    ),
}


def list_page(
    conn: sqlite3.Connection,
    kind: str,
    workflow_id: int,
    offset: int,
    limit: int | None,
    sort_by: str | None,
    reverse_sort: bool | None,
) -> dict[str, Any]:
    sql, sortable = _VIEWS[kind]
    size = check_limit(offset, limit)
    column = sort_by or sortable[0]
    if column not in sortable:
        raise InvalidInput(f"cannot sort by {column!r}; choose one of: {', '.join(sortable)}")
    direction = "DESC" if reverse_sort else "ASC"
    params = {"wf": workflow_id}
    total = conn.execute(f"SELECT count(*) FROM ({sql})", params).fetchone()[0]
    rows = conn.execute(
        f"SELECT * FROM ({sql}) ORDER BY {column} {direction}, 1, 2 LIMIT :_l OFFSET :_o",
        {**params, "_l": size, "_o": offset},
    ).fetchall()
    return envelope([dict(r) for r in rows], offset, total)


def ready_job_requirements(
    conn: sqlite3.Connection, workflow_id: int, scheduler_config_id: int | None
) -> dict[str, Any]:
    """What the ready jobs need in total: used to size allocations."""
    require(conn, "workflow", workflow_id)
    where = f"j.workflow_id = :wf AND j.status = {JobStatus.READY.code}"
    if scheduler_config_id is not None:
        where += " AND j.scheduler_id = :sched"
    row = conn.execute(
        f"""SELECT count(*), coalesce(sum(r.num_cpus), 0), coalesce(sum(r.num_gpus), 0),
                   coalesce(sum(r.memory_bytes), 0), coalesce(max(r.num_nodes), 0),
                   coalesce(max(r.runtime_s), 0)
              FROM job j LEFT JOIN resource_requirements r ON r.id = j.resource_requirements_id
             WHERE {where}""",
        {"wf": workflow_id, "sched": scheduler_config_id},
    ).fetchone()
    return {
        "num_jobs": row[0],
        "num_cpus": row[1],
        "num_gpus": row[2],
        "memory_gb": row[3] / 1024**3,
        "max_num_nodes": row[4],
        "max_runtime": format_duration(row[5]),
    }


def required_existing_files(conn: sqlite3.Connection, workflow_id: int) -> list[int]:
    """Inputs no job produces, plus outputs of completed jobs: all must exist on disk."""
    require(conn, "workflow", workflow_id)
    return [
        r[0]
        for r in conn.execute(
            f"""SELECT DISTINCT i.file_id FROM job_input_file i
                WHERE i.workflow_id = :wf
                  AND NOT EXISTS (SELECT 1 FROM job_output_file o WHERE o.file_id = i.file_id)
               UNION
               SELECT o.file_id FROM job_output_file o JOIN job j ON j.id = o.job_id
                WHERE o.workflow_id = :wf AND j.status = {JobStatus.COMPLETED.code}
               ORDER BY 1""",
            {"wf": workflow_id},
        )
    ]


def missing_user_data(conn: sqlite3.Connection, workflow_id: int) -> list[int]:
    """User data some job consumes, no job produces, and nobody has filled in."""
    require(conn, "workflow", workflow_id)
    return [
        r[0]
        for r in conn.execute(
            """SELECT DISTINCT u.id FROM user_data u
                 JOIN job_input_user_data i ON i.user_data_id = u.id
                WHERE u.workflow_id = :wf AND u.data IS NULL
                  AND NOT EXISTS (SELECT 1 FROM job_output_user_data o WHERE o.user_data_id = u.id)
                ORDER BY 1""",
            {"wf": workflow_id},
        )
    ]
