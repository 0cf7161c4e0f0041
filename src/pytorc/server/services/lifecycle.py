"""Workflow-level state changes: cancel, status."""

from __future__ import annotations

import sqlite3
from typing import Any

from pytorc.errors import InvalidInput
from pytorc.server.db import events, status_counts, workflows
from pytorc.server.db.common import require
from pytorc.vocabulary import HELD, JobStatus, codes

_HELD = codes(*HELD)
# Jobs a reset leaves alone: already uninitialized, held by a runner, or disabled.
_KEEP = codes(JobStatus.UNINITIALIZED, *HELD, JobStatus.DISABLED)
_UNINITIALIZED = JobStatus.UNINITIALIZED.code


def cancel_workflow(conn: sqlite3.Connection, id: int) -> dict[str, Any]:
    """Mark the workflow canceled and its pending/running jobs canceled; runners see it and stop."""
    require(conn, "workflow", id)
    workflows.set_flag(conn, id, "is_canceled", True)
    n = conn.execute(
        "UPDATE job SET status = :canceled"
        " WHERE workflow_id = :wf AND status IN (:pending, :running)",
        {
            "canceled": JobStatus.CANCELED.code,
            "wf": id,
            "pending": JobStatus.PENDING.code,
            "running": JobStatus.RUNNING.code,
        },
    ).rowcount
    events.record(
        conn, id, "workflow_canceled", f"workflow {id} canceled; {n} active jobs canceled"
    )
    return {"workflow_id": id, "is_canceled": True, "canceled_jobs": n}


def status(conn: sqlite3.Connection, id: int) -> dict[str, Any]:
    wf = require(conn, "workflow", id)
    counts = workflows.status_counts(conn, id)
    complete, canceled = workflows.is_complete(conn, id)
    nodes = conn.execute(
        "SELECT count(*) FROM compute_node WHERE workflow_id = ? AND is_active = 1", (id,)
    ).fetchone()[0]
    sched = dict(
        conn.execute(
            "SELECT status, count(*) FROM scheduled_compute_node WHERE workflow_id = ?"
            " GROUP BY status",
            (id,),
        ).fetchall()
    )
    exec_minutes, walltime = workflows.run_times(conn, id)
    return {
        "workflow_id": id,
        "workflow_name": wf["name"],
        "workflow_user": wf["user"],
        "is_complete": complete,
        "is_canceled": canceled,
        "total_jobs": sum(counts.values()),
        "jobs_by_status": counts,
        "total_exec_time_minutes": exec_minutes,
        "active_compute_nodes": nodes,
        "active_scheduled_nodes": sched.get("active", 0),
        "pending_scheduled_nodes": sched.get("pending", 0),
        "walltime_seconds": walltime,
    }


def reset_status(conn: sqlite3.Connection, id: int, force: bool) -> dict[str, Any]:
    """Start a new run: clear the canceled flag and bump run_id.

    Refused while jobs are pending/running or allocations are pending/active (unless forced),
    and for archived workflows.
    """
    wf = require(conn, "workflow", id)
    workflows.refuse_if_creating(conn, id)
    if wf["is_archived"]:
        raise InvalidInput(f"workflow {id} is archived; unarchive it before resetting")
    if not force:
        active = conn.execute(
            "SELECT coalesce(sum(n), 0) FROM job_status_count"
            f" WHERE workflow_id = ? AND status IN ({_HELD})",
            (id,),
        ).fetchone()[0]
        nodes = conn.execute(
            "SELECT count(*) FROM scheduled_compute_node WHERE workflow_id = ?"
            " AND status IN ('pending', 'active')",
            (id,),
        ).fetchone()[0]
        if active or nodes:
            raise InvalidInput(
                f"workflow {id} has {active} pending/running jobs and {nodes} pending/active"
                " allocations; wait for them, cancel the workflow, or pass force=true"
            )
    conn.execute("UPDATE workflow SET is_canceled = 0, run_id = run_id + 1 WHERE id = ?", (id,))
    run_id = conn.execute("SELECT run_id FROM workflow WHERE id = ?", (id,)).fetchone()[0]
    events.record(conn, id, "workflow_reset", f"workflow {id} reset; run {run_id}")
    return {"workflow_id": id, "run_id": run_id, "message": f"workflow {id} reset to run {run_id}"}


_RESETTABLE_FAILED = codes(
    JobStatus.FAILED, JobStatus.CANCELED, JobStatus.TERMINATED, JobStatus.PENDING_FAILED
)


def reset_failed_jobs(conn: sqlite3.Connection, id: int) -> dict[str, Any]:
    """Make the failed jobs and everything downstream of them uninitialized again."""
    require(conn, "workflow", id)
    workflows.refuse_if_initializing(conn, id)
    n = len(
        conn.execute(
            f"""
            WITH RECURSIVE down(id) AS (
                SELECT id FROM job WHERE workflow_id = :wf AND status IN ({_RESETTABLE_FAILED})
                UNION
                SELECT d.job_id FROM job_depends_on d JOIN down ON d.depends_on_job_id = down.id
            )
            UPDATE job SET status = {_UNINITIALIZED}, compute_node_id = NULL, start_time = NULL
             WHERE id IN (SELECT id FROM down) AND status NOT IN ({_KEEP})
            RETURNING id
            """,
            {"wf": id},
        ).fetchall()
    )
    return _reset_answer(id, n, "failed_only")


def begin_reset(conn: sqlite3.Connection, id: int, chunk_jobs: int) -> list[tuple[int, int]]:
    """Resetting every job goes in chunks of job ids, like initialization: the workflow is
    marked (nothing of it is claimed while some of its jobs are reset and others not yet);
    the chunks."""
    require(conn, "workflow", id)
    workflows.refuse_if_initializing(conn, id)
    workflows.mark_initializing(conn, id)
    return workflows.job_id_chunks(conn, id, chunk_jobs)


def reset_chunk(conn: sqlite3.Connection, workflow_id: int, first: int, last: int) -> int:
    """Make the jobs with ids first..last uninitialized (those not kept); how many."""
    with status_counts.range_status_change(conn, workflow_id, first, last):
        return int(
            conn.execute(
                f"UPDATE job SET status = {_UNINITIALIZED}, compute_node_id = NULL,"
                " start_time = NULL WHERE id BETWEEN :first AND :last AND +workflow_id = :wf"
                f" AND status NOT IN ({_KEEP})",
                {"wf": workflow_id, "first": first, "last": last},
            ).rowcount
        )


def finish_reset(conn: sqlite3.Connection, id: int, n: int) -> dict[str, Any]:
    workflows.unmark_initializing(conn, id)
    return _reset_answer(id, n, "all")


def _reset_answer(id: int, n: int, reset_type: str) -> dict[str, Any]:
    return {
        "workflow_id": id,
        "updated_count": n,
        "status": JobStatus.UNINITIALIZED.value,
        "reset_type": reset_type,
    }
