"""Job completion and the dependency bookkeeping that follows it, in the caller's transaction.

Each job keeps `num_blocking`: how many of its upstream jobs are not done yet. When a job becomes
done, its dependents' counters drop by one and those reaching zero become ready at once, in the
same transaction as the completion (Torc waits for a periodic sweep; we don't). A failing upstream
(failed, canceled, terminated) cancels dependents that ask for it, and that cancellation cascades.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from pytorc.errors import InvalidInput
from pytorc.models import ResultModel
from pytorc.server.db import jobs, results
from pytorc.server.db.common import dumps, require
from pytorc.vocabulary import DONE, FAILING, JobStatus

COMPLETION_STATUSES = frozenset(
    {
        JobStatus.COMPLETED,
        JobStatus.FAILED,
        JobStatus.CANCELED,
        JobStatus.TERMINATED,
        JobStatus.PENDING_FAILED,
    }
)
_COMPLETABLE = frozenset(
    {JobStatus.READY, JobStatus.PENDING, JobStatus.RUNNING, JobStatus.PENDING_FAILED}
)
_DONE_CODES = ",".join(str(s.code) for s in DONE)

_DECREMENT = """
UPDATE job SET num_blocking = num_blocking - 1
 WHERE id IN (SELECT job_id FROM job_depends_on WHERE depends_on_job_id = ?)
RETURNING id, status, num_blocking, cancel_on_blocking_job_failure
"""


def release_dependents(conn: sqlite3.Connection, job_id: int, status: JobStatus) -> int:
    """`job_id` just became done with `status`: ready or cancel its dependents, cascading.

    Returns how many jobs changed status. Dependents not yet blocked (uninitialized, or already
    running after a manual change) only get their counter moved; initialization recounts anyway.
    """
    changed = 0
    work: list[tuple[int, bool]] = [(job_id, status in FAILING)]
    blocked, ready, canceled = (
        JobStatus.BLOCKED.code,
        JobStatus.READY.code,
        JobStatus.CANCELED.code,
    )
    while work:
        upstream, failing = work.pop()
        to_ready, to_cancel = [], []
        for dep_id, dep_status, remaining, cancel_on_failure in conn.execute(
            _DECREMENT, (upstream,)
        ):
            if dep_status != blocked:
                continue
            if failing and cancel_on_failure:
                to_cancel.append(dep_id)
            elif remaining <= 0:
                to_ready.append(dep_id)
        if to_ready:
            conn.execute(
                "UPDATE job SET status = ? WHERE id IN (SELECT value FROM json_each(?))",
                (ready, dumps(to_ready)),
            )
        if to_cancel:
            conn.execute(
                "UPDATE job SET status = ? WHERE id IN (SELECT value FROM json_each(?))",
                (canceled, dumps(to_cancel)),
            )
            work.extend((dep, True) for dep in to_cancel)
        changed += len(to_ready) + len(to_cancel)
    return changed


def hold_dependents(conn: sqlite3.Connection, job_id: int) -> int:
    """`job_id` is no longer done: re-block everything downstream that is not active.

    Downstream jobs that already finished or were canceled because of it go back to blocked with
    recounted upstream, so the rerun flows through them again.
    """
    rows = conn.execute(
        """
        WITH RECURSIVE down(id) AS (
            SELECT job_id FROM job_depends_on WHERE depends_on_job_id = :root
            UNION
            SELECT d.job_id FROM job_depends_on d JOIN down ON d.depends_on_job_id = down.id
        )
        SELECT id FROM down
        """,
        {"root": job_id},
    ).fetchall()
    ids = [r[0] for r in rows]
    if not ids:
        return 0
    keep = (
        JobStatus.PENDING.code,
        JobStatus.RUNNING.code,
        JobStatus.DISABLED.code,
        JobStatus.UNINITIALIZED.code,
    )
    conn.execute(
        f"UPDATE job SET status = :blocked, compute_node_id = NULL, start_time = NULL"
        f" WHERE id IN (SELECT value FROM json_each(:ids)) AND status NOT IN {keep}",
        {"blocked": JobStatus.BLOCKED.code, "ids": dumps(ids)},
    )
    recount(conn, ids)
    return len(ids)


def recount(conn: sqlite3.Connection, job_ids: Iterable[int]) -> None:
    """Recompute num_blocking of these jobs from their upstream statuses."""
    conn.execute(
        f"""
        UPDATE job SET num_blocking = (
            SELECT count(*) FROM job_depends_on d JOIN job u ON u.id = d.depends_on_job_id
             WHERE d.job_id = job.id AND u.status NOT IN ({_DONE_CODES}))
         WHERE id IN (SELECT value FROM json_each(?))
        """,
        (dumps(list(job_ids)),),
    )


def set_status(conn: sqlite3.Connection, job_id: int, old: JobStatus, new: JobStatus) -> None:
    """Move one job between statuses and keep its dependents' bookkeeping right."""
    conn.execute("UPDATE job SET status = ? WHERE id = ?", (new.code, job_id))
    if old not in DONE and new in DONE:
        release_dependents(conn, job_id, new)
    elif old in DONE and new not in DONE:
        hold_dependents(conn, job_id)


_FINISH = """
UPDATE job SET status = :status, compute_node_id = NULL, start_time = NULL WHERE id = :id
RETURNING *
"""


def _require_matching_result(
    result: ResultModel, job_id: int, workflow_id: int, run_id: int, status: JobStatus
) -> None:
    """Refuse a result that describes another job, workflow, run or final status.

    Stored as sent, such a result would contradict the job it completes (a return code 1
    "completed" while the job is failed, or a result filed under another run).
    """
    wanted = (
        ("job_id", result.job_id, job_id),
        ("workflow_id", result.workflow_id, workflow_id),
        ("run_id", result.run_id, run_id),
        ("status", result.status, status),
    )
    wrong = [
        f"result.{name} is {_shown(got)}, not {_shown(want)}"
        for name, got, want in wanted
        if got != want
    ]
    if status == JobStatus.COMPLETED and result.return_code != 0:
        wrong.append(f"result.return_code is {result.return_code}, but a completed job returned 0")
    if wrong:
        raise InvalidInput(
            f"the result does not match the completion of job {job_id}: " + "; ".join(wrong)
        )


def _shown(value: object) -> str:
    return repr(value.value) if isinstance(value, JobStatus) else str(value)


def complete_job(
    conn: sqlite3.Connection, job_id: int, status: JobStatus, run_id: int, result: ResultModel
) -> dict[str, Any]:
    """Store a job's result and final status, then release its dependents — one transaction."""
    if status not in COMPLETION_STATUSES:
        raise InvalidInput(
            f"{status.value!r} is not a completion status; use one of "
            + ", ".join(sorted(s.value for s in COMPLETION_STATUSES))
        )
    job = require(conn, "job", job_id)
    wf = require(conn, "workflow", job["workflow_id"])
    if run_id != wf["run_id"]:
        raise InvalidInput(
            f"run_id {run_id} does not match workflow {wf['id']}'s run {wf['run_id']}"
        )
    _require_matching_result(result, job_id, job["workflow_id"], run_id, status)
    current = JobStatus.from_code(job["status"])
    canceled_under_runner = (
        current == JobStatus.CANCELED and wf["is_canceled"] and job["compute_node_id"] is not None
    )
    if current not in _COMPLETABLE and not canceled_under_runner:
        raise InvalidInput(f"job {job_id} is {current.value} and cannot be completed")
    results.insert(conn, result, job["attempt_id"], status)
    # The attempt is over: its node and start time live on in the result, not on the job.
    row = conn.execute(_FINISH, {"status": status.code, "id": job_id}).fetchone()
    if canceled_under_runner:
        pass  # the workflow cancel already counted this job as done; keep what the runner saw
    elif current not in DONE and status in DONE:
        release_dependents(conn, job_id, status)
    elif current in DONE and status not in DONE:
        hold_dependents(conn, job_id)
    # Relation lists are left out of this answer to keep the hot path short; GET /jobs/{id}
    # has them.
    return jobs.to_dict(row)
