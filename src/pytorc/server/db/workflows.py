"""SQL for workflows: the row, its default resource requirements, status counts."""

from __future__ import annotations

import sqlite3
from typing import Any

from pytorc.errors import Conflict, InvalidInput
from pytorc.models import WorkflowModel
from pytorc.server.db.common import (
    Row,
    dumps,
    loads,
    next_ids,
    now_iso,
    opt_bool,
    page,
    require,
)
from pytorc.vocabulary import JobStatus, codes

_LEFT_UNINITIALIZED = (
    "SELECT 1 FROM job WHERE workflow_id = ?"
    f" AND status NOT IN ({codes(JobStatus.UNINITIALIZED, JobStatus.DISABLED)}) LIMIT 1"
)

SORTABLE = ("name", "user", "description", "timestamp", "project", "is_archived")

_JSON_COLUMNS = (
    "metadata",
    "resource_monitor_config",
    "slurm_defaults",
    "env",
    "execution_config",
    "dynamic_jobs",
)
_BOOL_COLUMNS = ("compute_node_ignore_workflow_completion", "enable_ro_crate")
_PLAIN_COLUMNS = (
    "name",
    "user",
    "description",
    "project",
    "compute_node_expiration_buffer_seconds",
    "compute_node_wait_for_new_jobs_seconds",
    "compute_node_wait_for_healthy_database_minutes",
    "compute_node_min_time_for_new_jobs_seconds",
    "submission_directory",
)
EDITABLE = (*_PLAIN_COLUMNS, *_JSON_COLUMNS, *_BOOL_COLUMNS, "use_pending_failed")

DEFAULT_RR = {
    "name": "default",
    "num_cpus": 1,
    "num_gpus": 0,
    "num_nodes": 1,
    "memory": "1m",
    "runtime": "P0DT1M",
    "memory_bytes": 1024 * 1024,
    "runtime_s": 60.0,
}


def to_dict(row: Row) -> dict[str, Any]:
    out: dict[str, Any] = {"id": row["id"], "timestamp": row["timestamp"]}
    for col in _PLAIN_COLUMNS:
        out[col] = row[col]
    for col in _JSON_COLUMNS:
        out[col] = loads(row[col])
    for col in _BOOL_COLUMNS:
        out[col] = opt_bool(row[col])
    out["use_pending_failed"] = bool(row["use_pending_failed"])
    out["run_id"] = row["run_id"]
    out["is_canceled"] = bool(row["is_canceled"])
    out["is_archived"] = bool(row["is_archived"])
    out["access_groups"] = loads(row["access_groups"])
    return out


def _column_values(model: WorkflowModel, fields: set[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for col in fields:
        value = getattr(model, col)
        if col in _JSON_COLUMNS:
            if hasattr(value, "model_dump"):
                value = value.model_dump(mode="json", exclude_none=True)
            value = dumps(value)
        elif col in _BOOL_COLUMNS or col == "use_pending_failed":
            value = None if value is None else int(value)
        values[col] = value
    return values


def create(conn: sqlite3.Connection, wf: WorkflowModel, creating: bool = False) -> dict[str, Any]:
    """Insert a workflow at run 0, with its default resource requirements; `creating` marks it
    unfinished until finish_creation (a client uploading its records)."""
    values = _column_values(wf, set(EDITABLE))
    values["creating"] = int(creating)
    values["use_pending_failed"] = values["use_pending_failed"] or 0
    values["timestamp"] = wf.timestamp or now_iso()
    values["access_groups"] = dumps(wf.access_groups)
    # Run 0 until the first reset_status starts run 1, as in Torc (the schema's default is 1).
    values["run_id"] = 0
    values["id"] = next_ids(conn, "workflow", 1)  # never an id given before (migration 0008)
    cols = ", ".join(values)
    marks = ", ".join(f":{c}" for c in values)
    row = conn.execute(
        f"INSERT INTO workflow ({cols}) VALUES ({marks}) RETURNING *", values
    ).fetchone()
    conn.execute(
        "INSERT INTO resource_requirements (workflow_id, name, num_cpus, num_gpus, num_nodes,"
        " memory,"
        " runtime, memory_bytes, runtime_s) VALUES (:wf, :name, :num_cpus, :num_gpus, :num_nodes,"
        " :memory, :runtime, :memory_bytes, :runtime_s)",
        {"wf": row["id"], **DEFAULT_RR},
    )
    _link_access_groups(conn, row["id"], wf.access_groups or [])
    return to_dict(row)


def _link_access_groups(conn: sqlite3.Connection, workflow_id: int, names: list[str]) -> None:
    for name in names:
        group = conn.execute("SELECT id FROM access_group WHERE name = ?", (name,)).fetchone()
        if group is None:
            raise InvalidInput(f"access group {name!r} does not exist")
        conn.execute(
            "INSERT OR IGNORE INTO workflow_access_group (workflow_id, group_id, created_at)"
            " VALUES (?, ?, ?)",
            (workflow_id, group[0], now_iso()),
        )


def get(conn: sqlite3.Connection, id: int) -> dict[str, Any]:
    return to_dict(require(conn, "workflow", id))


def update(conn: sqlite3.Connection, id: int, wf: WorkflowModel) -> dict[str, Any]:
    """Overwrite the editable fields the body sets; run_id, is_canceled, is_archived are not."""
    require(conn, "workflow", id)
    given = {f for f in wf.model_fields_set if f in EDITABLE}
    given |= {"name", "user"}
    values = _column_values(wf, given)
    if values:
        assignments = ", ".join(f"{c} = :{c}" for c in values)
        conn.execute(f"UPDATE workflow SET {assignments} WHERE id = :id", {**values, "id": id})
    return get(conn, id)


def delete(conn: sqlite3.Connection, id: int) -> dict[str, Any]:
    wf = get(conn, id)
    conn.execute("DELETE FROM workflow WHERE id = ?", (id,))
    return wf


def list_page(
    conn: sqlite3.Connection,
    *,
    name: str | None,
    user: str | None,
    description: str | None,
    is_archived: bool | None,
    offset: int,
    limit: int | None,
    sort_by: str | None,
    reverse_sort: bool | None,
    visible_to: str | None = None,
) -> dict[str, Any]:
    """One page of workflows; with `visible_to`, only those that user may access (access
    control), so neither the items nor the total count tell of the others."""
    where: list[str] = ["1"]
    params: dict[str, Any] = {}
    if visible_to is not None:
        from pytorc.server.db.access_control import VISIBLE

        where.append(VISIBLE)
        params["visible_to"] = visible_to
    for col, value in (("name", name), ("user", user), ("description", description)):
        if value is not None:
            where.append(f"workflow.{col} = :{col}")
            params[col] = value
    if is_archived is not None:
        where.append("workflow.is_archived = :is_archived")
        params["is_archived"] = int(is_archived)
    return page(
        conn,
        table="workflow",
        where=" AND ".join(where),
        params=params,
        offset=offset,
        limit=limit,
        sort_by=sort_by,
        reverse_sort=reverse_sort,
        sortable=SORTABLE,
        to_item=to_dict,
    )


def set_flag(conn: sqlite3.Connection, id: int, column: str, value: bool) -> None:
    assert column in ("is_canceled", "is_archived")
    conn.execute(f"UPDATE workflow SET {column} = ? WHERE id = ?", (int(value), id))


def status_counts(conn: sqlite3.Connection, id: int) -> dict[str, int]:
    counts = {s.value: 0 for s in JobStatus}
    for code, n in conn.execute(
        "SELECT status, n FROM job_status_count WHERE workflow_id = ?", (id,)
    ):  # kept by triggers (migration 0007)
        counts[JobStatus.from_code(code).value] = n
    return counts


_UNDONE = ",".join(
    str(s.code)
    for s in (
        JobStatus.UNINITIALIZED,
        JobStatus.BLOCKED,
        JobStatus.READY,
        JobStatus.PENDING,
        JobStatus.RUNNING,
        JobStatus.PENDING_FAILED,
    )
)


def is_complete(conn: sqlite3.Connection, id: int, row: Row | None = None) -> tuple[bool, bool]:
    """(is_complete, is_canceled): canceled, or no job left that is not done. `row`: the
    workflow's, if the caller has it from this transaction."""
    if row is None:
        row = require(conn, "workflow", id)
    canceled = bool(row["is_canceled"])
    if canceled:
        return True, True
    return not _any_job_in(conn, id, _UNDONE), False


_ACTIVE = ",".join(str(s.code) for s in (JobStatus.READY, JobStatus.PENDING, JobStatus.RUNNING))


_HELD_BY_RUNNERS = ",".join(str(s.code) for s in (JobStatus.PENDING, JobStatus.RUNNING))


def has_running_jobs(conn: sqlite3.Connection, id: int) -> bool:
    """Whether any job is claimed or running: only those can make more jobs ready."""
    return _any_job_in(conn, id, _HELD_BY_RUNNERS)


def has_active_jobs(conn: sqlite3.Connection, id: int) -> bool:
    """Whether any job is ready, pending or running: without one, an unfinished workflow waits
    for a person (a pending_failed decision, an initialization)."""
    return _any_job_in(conn, id, _ACTIVE)


def _any_job_in(conn: sqlite3.Connection, id: int, codes: str) -> bool:
    """Whether the workflow has a job in one of `codes` (comma-separated), from the kept counts."""
    row = conn.execute(
        f"SELECT 1 FROM job_status_count WHERE workflow_id = ? AND status IN ({codes}) AND n > 0"
        " LIMIT 1",
        (id,),
    ).fetchone()
    return row is not None


def run_times(conn: sqlite3.Connection, id: int) -> tuple[float, float | None]:
    """(the jobs' total run time in minutes, the walltime in seconds: from the earliest job
    start to the latest completion, as Torc's report computes it), over each job's latest
    result; no walltime before any result."""
    total, first_start, last_end = conn.execute(
        "SELECT coalesce(sum(r.exec_time_minutes), 0),"
        " min(julianday(r.completion_time) - r.exec_time_minutes / 1440.0),"
        " max(julianday(r.completion_time))"
        " FROM workflow_result w JOIN result r ON r.id = w.result_id WHERE w.workflow_id = ?",
        (id,),
    ).fetchone()
    if first_start is None or last_end is None:
        return float(total), None
    return float(total), round((last_end - first_start) * 86400.0, 3)


def is_uninitialized(conn: sqlite3.Connection, id: int) -> bool:
    """No job of the workflow has left uninitialized (or disabled) yet."""
    require(conn, "workflow", id)
    row = conn.execute(_LEFT_UNINITIALIZED, (id,)).fetchone()
    return row is None


def finish_creation(conn: sqlite3.Connection, id: int) -> None:
    """The upload of the workflow's records is complete: it may be initialized and run."""
    require(conn, "workflow", id)
    conn.execute("UPDATE workflow SET creating = 0 WHERE id = ?", (id,))


def incomplete(conn: sqlite3.Connection) -> list[int]:
    """Workflows whose creation never finished (their upload was cut short)."""
    return [r[0] for r in conn.execute("SELECT id FROM workflow WHERE creating = 1 ORDER BY id")]


def is_initializing(conn: sqlite3.Connection, id: int, live: bool = False) -> bool:
    """Whether the workflow's initialization is under way or (unless `live`) was cut short
    (migration 0010): then none of its jobs may be claimed."""
    sql = "SELECT 1 FROM workflow_initializing WHERE workflow_id = ?"
    if live:
        sql += " AND live"
    return conn.execute(sql, (id,)).fetchone() is not None


class Initializing(Conflict):
    """The workflow's initialization is under way (routes wait for it, then try again)."""


def refuse_if_initializing(conn: sqlite3.Connection, id: int) -> None:
    """Statuses are not changed under an initialization that is under way."""
    if is_initializing(conn, id, live=True):
        raise Initializing(f"workflow {id} is being initialized; try again when that has finished")


def mark_initializing(conn: sqlite3.Connection, id: int) -> None:
    """Hold the workflow's jobs back from claims while its statuses are rewritten in chunks."""
    conn.execute(
        "INSERT OR REPLACE INTO workflow_initializing (workflow_id, live) VALUES (?, 1)", (id,)
    )


def unmark_initializing(conn: sqlite3.Connection, id: int, done: bool = True) -> None:
    """Lift the mark (`done`), or leave it dead: the jobs stay held back, and the next
    initialization may take it over (one that failed part way)."""
    if done:
        conn.execute("DELETE FROM workflow_initializing WHERE workflow_id = ?", (id,))
    else:
        conn.execute("UPDATE workflow_initializing SET live = 0 WHERE workflow_id = ?", (id,))


def job_id_chunks(conn: sqlite3.Connection, id: int, size: int) -> list[tuple[int, int]]:
    """(first, last) ranges of `size` job ids covering the workflow's jobs: the units of work
    done one write transaction each, so that other writes go in between."""
    low, high = conn.execute(
        "SELECT min(id), max(id) FROM job WHERE workflow_id = ?", (id,)
    ).fetchone()
    if low is None:
        return []
    return [(a, min(a + size - 1, high)) for a in range(low, high + 1, size)]


def refuse_if_creating(conn: sqlite3.Connection, id: int) -> None:
    """A workflow still being created, or whose creation was cut short, cannot start a run."""
    row = conn.execute("SELECT creating FROM workflow WHERE id = ?", (id,)).fetchone()
    if row is not None and row[0]:
        raise Conflict(
            f"workflow {id} is incomplete: its creation did not finish (the upload of its jobs"
            f" was cut short); delete it (`torc workflows delete {id}`) and create it again"
        )
