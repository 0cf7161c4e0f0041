"""Per-job transitions other than completion: start, manual status change, retry."""

from __future__ import annotations

import sqlite3
from typing import Any

from pytorc.errors import InvalidInput
from pytorc.server.db import events, jobs
from pytorc.server.db.common import Row, now_iso, require
from pytorc.server.services.completion import COMPLETION_STATUSES, set_status
from pytorc.vocabulary import JobStatus


def _job_and_run(conn: sqlite3.Connection, job_id: int, run_id: int) -> tuple[Row, Row]:
    job = require(conn, "job", job_id)
    wf = require(conn, "workflow", job["workflow_id"])
    if run_id != wf["run_id"]:
        raise InvalidInput(
            f"run_id {run_id} does not match workflow {wf['id']}'s current run {wf['run_id']}"
        )
    return job, wf


def start_job(
    conn: sqlite3.Connection, job_id: int, run_id: int, compute_node_id: int
) -> dict[str, Any]:
    """pending -> running on `compute_node_id`; any other status is refused."""
    job, wf = _job_and_run(conn, job_id, run_id)
    current = JobStatus.from_code(job["status"])
    if current != JobStatus.PENDING:
        hint = " (the workflow is canceled)" if wf["is_canceled"] else ""
        raise InvalidInput(f"job {job_id} is {current.value}, not pending, and cannot start{hint}")
    row = conn.execute(
        "UPDATE job SET status = ?, compute_node_id = ?, start_time = ? WHERE id = ? RETURNING *",
        (JobStatus.RUNNING.code, compute_node_id, now_iso(), job_id),
    ).fetchone()
    return jobs.to_dict(row)  # without relation lists: this is the hot path


def manage_status_change(
    conn: sqlite3.Connection, job_id: int, status: JobStatus, run_id: int
) -> dict[str, Any]:
    """Set a non-completion status by hand; undoing a done job re-blocks what follows it."""
    if status in COMPLETION_STATUSES:
        raise InvalidInput(
            f"{status.value!r} is a completion status; use complete_job so a result is stored"
        )
    job, _ = _job_and_run(conn, job_id, run_id)
    current = JobStatus.from_code(job["status"])
    if current != status:
        set_status(conn, job_id, current, status)
        # A job set pending by hand is nobody's claim: no runner may release it.
        conn.execute("UPDATE job SET claimed_by = NULL WHERE id = ?", (job_id,))
        if status not in (JobStatus.PENDING, JobStatus.RUNNING):
            conn.execute(
                "UPDATE job SET compute_node_id = NULL, start_time = NULL WHERE id = :id",
                {"id": job_id},
            )
    return jobs.get(conn, job_id)


_RETRYABLE = frozenset(
    {JobStatus.RUNNING, JobStatus.FAILED, JobStatus.TERMINATED, JobStatus.PENDING_FAILED}
)


def retry_job(
    conn: sqlite3.Connection, job_id: int, run_id: int, max_retries: int
) -> dict[str, Any]:
    """Send a failed attempt back to ready as attempt + 1, while attempts remain."""
    job, wf = _job_and_run(conn, job_id, run_id)
    current = JobStatus.from_code(job["status"])
    if current not in _RETRYABLE:
        raise InvalidInput(
            f"job {job_id} is {current.value}; only running, failed, terminated or pending_failed"
            " jobs can be retried"
        )
    if max_retries < 0:
        raise InvalidInput(f"max_retries must be >= 0, got {max_retries}")
    if job["attempt_id"] >= max_retries:
        raise InvalidInput(
            f"job {job_id} has used {job['attempt_id']} of {max_retries} allowed attempts"
        )
    set_status(conn, job_id, current, JobStatus.READY)
    conn.execute(
        "UPDATE job SET attempt_id = attempt_id + 1, origin = 'retry', compute_node_id = NULL,"
        " start_time = NULL WHERE id = ?",
        (job_id,),
    )
    events.record(
        conn,
        wf["id"],
        "job_retry",
        f"job {job['name']} retried",
        job_id=job_id,
        attempt_id=job["attempt_id"] + 1,
    )
    return jobs.get(conn, job_id)


def fail_pending(conn: sqlite3.Connection, job_id: int, run_id: int) -> dict[str, Any]:
    """A person's verdict on a pending_failed job: it failed. Its result says so too, and its
    dependents are released (canceled, if they cancel on a blocking job's failure)."""
    job, wf = _job_and_run(conn, job_id, run_id)
    current = JobStatus.from_code(job["status"])
    if current != JobStatus.PENDING_FAILED:
        raise InvalidInput(
            f"job {job_id} is {current.value}; only pending_failed jobs wait for this decision"
        )
    set_status(conn, job_id, current, JobStatus.FAILED)
    conn.execute(
        "UPDATE result SET status = ? WHERE job_id = ? AND run_id = ? AND attempt_id = ?",
        (JobStatus.FAILED.code, job_id, run_id, job["attempt_id"]),
    )
    events.record(
        conn,
        wf["id"],
        "job_failed",
        f"job {job['name']} ({job_id}) failed by decision after pending_failed",
        job_id=job_id,
        job_name=job["name"],
        attempt_id=job["attempt_id"],
    )
    return jobs.get(conn, job_id)
