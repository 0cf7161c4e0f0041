"""SQL for results: one row per finished attempt of a job, and the latest one per job.

`workflow_result` points at each job's latest result; lists show only those unless all_runs.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from pytorc.errors import Conflict, InvalidInput
from pytorc.models import ResultModel
from pytorc.server.db.common import Row, dumps, page, require, require_in_workflow
from pytorc.vocabulary import RESULT_MEASURES, JobStatus

SORTABLE = (
    "job_id",
    "run_id",
    "attempt_id",
    "compute_node_id",
    "return_code",
    "exec_time_minutes",
    "completion_time",
    "status",
    "peak_memory_bytes",
    "avg_memory_bytes",
    "peak_cpu_percent",
    "avg_cpu_percent",
    "workflow_id",
)
# Every read of a result names its job; the subquery is one primary-key lookup per row.
_SELECT = "result.*, (SELECT name FROM job WHERE job.id = result.job_id) AS job_name"

_INSERT = """
INSERT INTO result (workflow_id, job_id, run_id, attempt_id, compute_node_id, return_code,
                    exec_time_minutes, completion_time, status, peak_memory_bytes,
                    avg_memory_bytes, peak_cpu_percent, avg_cpu_percent)
VALUES (:workflow_id, :job_id, :run_id, :attempt_id, :compute_node_id, :return_code,
        :exec_time_minutes, :completion_time, :status, :peak_memory_bytes, :avg_memory_bytes,
        :peak_cpu_percent, :avg_cpu_percent)
RETURNING id
"""
_SET_LATEST = """
INSERT INTO workflow_result (workflow_id, job_id, result_id) VALUES (:wf, :job, :result)
ON CONFLICT (job_id) DO UPDATE SET workflow_id = excluded.workflow_id,
                                   result_id = excluded.result_id
"""
_SAME_ATTEMPT = """
SELECT id FROM result WHERE job_id = :job_id AND run_id = :run_id AND attempt_id = :attempt_id
"""


def to_dict(row: Row) -> dict[str, Any]:
    """The wire form of a result row; `job_name` is filled when the row carries it."""
    return {
        "id": row["id"],
        "workflow_id": row["workflow_id"],
        "job_id": row["job_id"],
        "run_id": row["run_id"],
        "attempt_id": row["attempt_id"],
        "compute_node_id": row["compute_node_id"],
        "return_code": row["return_code"],
        "exec_time_minutes": row["exec_time_minutes"],
        "completion_time": row["completion_time"],
        "status": JobStatus.from_code(row["status"]).value,
        "peak_memory_bytes": row["peak_memory_bytes"],
        "avg_memory_bytes": row["avg_memory_bytes"],
        "peak_cpu_percent": row["peak_cpu_percent"],
        "avg_cpu_percent": row["avg_cpu_percent"],
        "job_name": row["job_name"] if "job_name" in row.keys() else None,  # noqa: SIM118
    }


def _refuse_duplicate(conn: sqlite3.Connection, values: dict[str, Any], id: int | None) -> None:
    row = conn.execute(_SAME_ATTEMPT, values).fetchone()
    if row is not None and row[0] != id:
        raise Conflict(
            f"job {values['job_id']} already has a result for run {values['run_id']} attempt "
            f"{values['attempt_id']} (result {row[0]})"
        )


def insert(
    conn: sqlite3.Connection, result: ResultModel, attempt_id: int, status: JobStatus
) -> int:
    """Store a result, make it its job's latest, return its id (job completion's hot path).

    The caller has checked job and workflow; a second result for the same (job, run, attempt)
    is a Conflict (the table's UNIQUE constraint decides, so this costs no extra query).
    """
    values = result.model_dump(include={"workflow_id", "job_id", "run_id", *RESULT_MEASURES})
    values.update(attempt_id=attempt_id, status=status.code)
    try:
        id = int(conn.execute(_INSERT, values).fetchone()[0])
    except sqlite3.IntegrityError:
        _refuse_duplicate(conn, values, None)
        raise
    conn.execute(_SET_LATEST, {"wf": result.workflow_id, "job": result.job_id, "result": id})
    return id


_INSERT_MANY = _INSERT.replace("RETURNING id", "")
_SET_LATEST_OF_RUN = """
INSERT INTO workflow_result (workflow_id, job_id, result_id)
SELECT r.workflow_id, r.job_id, r.id FROM result r JOIN job j ON j.id = r.job_id
 WHERE r.job_id IN (SELECT value FROM json_each(:jobs)) AND r.run_id = :run
   AND r.attempt_id = j.attempt_id
ON CONFLICT (job_id) DO UPDATE SET workflow_id = excluded.workflow_id,
                                   result_id = excluded.result_id
"""


def insert_many(conn: sqlite3.Connection, rows: list[dict[str, Any]], run_id: int) -> None:
    """Store many results of one run (each job's current attempt) and make each the latest.

    The caller has checked that none exists yet; batch completion's fast path.
    """
    conn.executemany(_INSERT_MANY, rows)
    jobs = dumps([r["job_id"] for r in rows])
    conn.execute(_SET_LATEST_OF_RUN, {"jobs": jobs, "run": run_id})


def _check_compute_node(conn: sqlite3.Connection, compute_node_id: int, workflow_id: int) -> None:
    require_in_workflow(conn, "compute_node", compute_node_id, workflow_id, "compute node")


def create(conn: sqlite3.Connection, result: ResultModel) -> dict[str, Any]:
    """POST /results: check the references, then insert() (so the new result is the latest).

    attempt_id defaults to the job's current attempt.
    """
    require(conn, "workflow", result.workflow_id)
    require_in_workflow(conn, "job", result.job_id, result.workflow_id, "job")
    _check_compute_node(conn, result.compute_node_id, result.workflow_id)
    attempt = result.attempt_id
    if attempt is None:
        attempt = conn.execute(
            "SELECT attempt_id FROM job WHERE id = ?", (result.job_id,)
        ).fetchone()[0]
    return get(conn, insert(conn, result, attempt, result.status))


def get(conn: sqlite3.Connection, id: int) -> dict[str, Any]:
    row = conn.execute(f"SELECT {_SELECT} FROM result WHERE id = ?", (id,)).fetchone()
    if row is None:
        require(conn, "result", id)  # raises NotFound naming it
    return to_dict(row)


def update(conn: sqlite3.Connection, id: int, result: ResultModel) -> dict[str, Any]:
    """Overwrite run, attempt, status and measurements; a result cannot move to another job."""
    row = require(conn, "result", id)
    for field in ("workflow_id", "job_id"):
        if getattr(result, field) != row[field]:
            raise InvalidInput(
                f"result {id} has {field} {row[field]};"
                f" it cannot change to {getattr(result, field)}"
            )
    if result.compute_node_id != row["compute_node_id"]:
        _check_compute_node(conn, result.compute_node_id, row["workflow_id"])
    values = result.model_dump(include={"job_id", "run_id", *RESULT_MEASURES})
    values.update(
        id=id,
        status=result.status.code,
        attempt_id=row["attempt_id"] if result.attempt_id is None else result.attempt_id,
    )
    _refuse_duplicate(conn, values, id)
    assignments = ", ".join(
        f"{c} = :{c}" for c in ("run_id", "attempt_id", "status", *RESULT_MEASURES)
    )
    conn.execute(f"UPDATE result SET {assignments} WHERE id = :id", values)
    return get(conn, id)


def delete(conn: sqlite3.Connection, id: int) -> dict[str, Any]:
    """Delete one result (its workflow_result pointer goes with it)."""
    record = get(conn, id)
    conn.execute("DELETE FROM result WHERE id = ?", (id,))
    return record


def list_page(
    conn: sqlite3.Connection,
    workflow_id: int,
    *,
    job_id: int | None,
    run_id: int | None,
    return_code: int | None,
    status: JobStatus | None,
    compute_node_id: int | None,
    all_runs: bool,
    offset: int,
    limit: int | None,
    sort_by: str | None,
    reverse_sort: bool | None,
) -> dict[str, Any]:
    """One page of results: each job's latest only, or every stored attempt with all_runs."""
    where = ["result.workflow_id = :wf"]
    params: dict[str, Any] = {"wf": workflow_id}
    if not all_runs:
        where.append("result.id IN (SELECT result_id FROM workflow_result WHERE workflow_id = :wf)")
    filters: dict[str, Any] = {
        "job_id": job_id,
        "run_id": run_id,
        "return_code": return_code,
        "status": None if status is None else status.code,
        "compute_node_id": compute_node_id,
    }
    for column, value in filters.items():
        if value is not None:
            where.append(f"result.{column} = :{column}")
            params[column] = value
    return page(
        conn,
        table="result",
        where=" AND ".join(where),
        params=params,
        offset=offset,
        limit=limit,
        sort_by=sort_by,
        reverse_sort=reverse_sort,
        sortable=SORTABLE,
        to_item=to_dict,
        select=_SELECT,
    )
