"""Workflow-level state changes: cancel, status."""

from __future__ import annotations

import sqlite3
from typing import Any

from pytorc.models import JobStatus
from pytorc.server.db import events, workflows
from pytorc.server.db.common import require


def cancel_workflow(conn: sqlite3.Connection, id: int) -> dict[str, Any]:
    """Mark the workflow canceled and its pending/running jobs canceled; runners see it and stop."""
    require(conn, "workflow", id)
    workflows.set_flag(conn, id, "is_canceled", True)
    n = conn.execute(
        "UPDATE job SET status = :canceled WHERE workflow_id = :wf AND status IN (:pending, :running)",
        {"canceled": JobStatus.CANCELED.code, "wf": id, "pending": JobStatus.PENDING.code,
         "running": JobStatus.RUNNING.code},
    ).rowcount
    events.record(conn, id, "workflow_canceled", f"workflow {id} canceled; {n} active jobs canceled")
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
            "SELECT status, count(*) FROM scheduled_compute_node WHERE workflow_id = ? GROUP BY status",
            (id,),
        ).fetchall()
    )
    return {
        "workflow_id": id,
        "workflow_name": wf["name"],
        "workflow_user": wf["user"],
        "is_complete": complete,
        "is_canceled": canceled,
        "total_jobs": sum(counts.values()),
        "jobs_by_status": counts,
        "total_exec_time_minutes": workflows.total_exec_minutes(conn, id),
        "active_compute_nodes": nodes,
        "active_scheduled_nodes": sched.get("active", 0),
        "pending_scheduled_nodes": sched.get("pending", 0),
        "walltime_seconds": None,
    }
