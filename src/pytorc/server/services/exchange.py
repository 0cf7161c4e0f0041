"""The runner's round trip (pytorc extension): report starts and completions, then claim more.

A runner that waits for one request per state change cannot keep up with short jobs; this lets it
send everything that happened since its last call and receive its next jobs in one transaction.
Completions are applied before the claim, so the dependents they release can be claimed at once
(a chain advances one job per round trip, not per sweep). Each start and completion succeeds or
fails on its own, as in batch_complete_jobs.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from pytorc.errors import InvalidInput, TorcError
from pytorc.models import ExchangeJobsRequest, JobCompletionEntry, JobStatus
from pytorc.server.db import workflows
from pytorc.server.db.common import now_iso, require
from pytorc.server.services import claiming, completion


def complete_many(
    conn: sqlite3.Connection, workflow_id: int, entries: list[JobCompletionEntry]
) -> tuple[list[int], list[dict[str, Any]]]:
    """Complete each entry under its own savepoint; (completed ids, per-job errors)."""
    completed: list[int] = []
    errors: list[dict[str, Any]] = []
    for entry in entries:
        conn.execute("SAVEPOINT entry")
        try:
            job = conn.execute(
                "SELECT workflow_id FROM job WHERE id = ?", (entry.job_id,)
            ).fetchone()
            if job is not None and job[0] != workflow_id:
                raise InvalidInput(f"job {entry.job_id} is not in workflow {workflow_id}")
            completion.complete_job(conn, entry.job_id, entry.status, entry.run_id, entry.result)
        except TorcError as exc:
            conn.execute("ROLLBACK TO entry")
            errors.append({"job_id": entry.job_id, "message": str(exc)})
        else:
            completed.append(entry.job_id)
        conn.execute("RELEASE entry")
    return completed, errors


def exchange(
    conn: sqlite3.Connection, workflow_id: int, body: ExchangeJobsRequest
) -> dict[str, Any]:
    wf = require(conn, "workflow", workflow_id)
    if body.run_id != wf["run_id"]:
        raise InvalidInput(
            f"run_id {body.run_id} does not match workflow {workflow_id}'s run {wf['run_id']}"
        )
    started: list[int] = []
    errors: list[dict[str, Any]] = []
    for start in body.started:
        row = conn.execute(
            "UPDATE job SET status = :running, compute_node_id = :node, start_time = :t"
            " WHERE id = :id AND workflow_id = :wf AND status = :pending RETURNING id",
            {
                "running": JobStatus.RUNNING.code,
                "pending": JobStatus.PENDING.code,
                "node": body.compute_node_id,
                "t": start.start_time or now_iso(),
                "id": start.job_id,
                "wf": workflow_id,
            },
        ).fetchone()
        if row is None:
            errors.append({"job_id": start.job_id, "message": _why_not_started(conn, start.job_id)})
        else:
            started.append(start.job_id)
    completed, completion_errors = complete_many(conn, workflow_id, body.completions)
    errors.extend(completion_errors)
    jobs: list[dict[str, Any]] = []
    reason = None
    if body.claim is not None:
        if body.claim.resources is None:
            jobs = claiming.claim_next(conn, workflow_id, body.claim.limit)
        else:
            jobs, reason = claiming.claim_by_resources(
                conn,
                workflow_id,
                body.claim.limit,
                body.claim.resources,
                body.claim.strict_scheduler_match,
            )
    complete, canceled = workflows.is_complete(conn, workflow_id)
    return {
        "started": started,
        "completed": completed,
        "errors": errors,
        "jobs": jobs,
        "reason": reason,
        "is_complete": complete,
        "is_canceled": canceled,
    }


def _why_not_started(conn: sqlite3.Connection, job_id: int) -> str:
    row = conn.execute("SELECT status FROM job WHERE id = ?", (job_id,)).fetchone()
    if row is None:
        return f"job {job_id} does not exist"
    return f"job {job_id} is {JobStatus.from_code(row[0]).value}, not pending, and cannot start"
