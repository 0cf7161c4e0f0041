"""Events for what a user watches a run for: a job that failed, and the workflow finishing.

Completed jobs get no event each (a million-job sweep would write a million rows nobody reads);
a failure, a termination or a job left for a person to decide (pending_failed) does, with its
return code, and the workflow's completion does, once per run.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from pytorc.server.db import events, workflows
from pytorc.server.db.common import dumps
from pytorc.vocabulary import JobStatus

_NOTED = {
    JobStatus.FAILED: "job_failed",
    JobStatus.TERMINATED: "job_terminated",
    JobStatus.PENDING_FAILED: "job_pending_failed",
}

_LAST_RESULTS = """
SELECT j.id, j.name, j.attempt_id,
       (SELECT r.return_code FROM result r WHERE r.job_id = j.id ORDER BY r.id DESC LIMIT 1)
  FROM job j WHERE j.id IN (SELECT value FROM json_each(?))
"""


def note_outcomes(
    conn: sqlite3.Connection, workflow_id: int, outcomes: Iterable[tuple[int, JobStatus]]
) -> None:
    """One event per job that ended badly, naming it and its return code."""
    noted = {job_id: status for job_id, status in outcomes if status in _NOTED}
    if not noted:
        return
    for job_id, name, attempt_id, return_code in conn.execute(
        _LAST_RESULTS, (dumps(list(noted)),)
    ).fetchall():
        status = noted[job_id]
        events.record(
            conn,
            workflow_id,
            _NOTED[status],
            f"job {name} ({job_id}) {status.value}, return code {return_code}",
            job_id=job_id,
            job_name=name,
            attempt_id=attempt_id,
            return_code=return_code,
        )


def note_if_complete(conn: sqlite3.Connection, workflow_id: int) -> None:
    """Record workflow_completed if the jobs just finished were the last ones."""
    complete, canceled = workflows.is_complete(conn, workflow_id)
    if complete and not canceled:
        workflow_completed(conn, workflow_id)


def workflow_completed(conn: sqlite3.Connection, workflow_id: int) -> None:
    """Record that the workflow's current run is complete, unless that is recorded already."""
    run_id = conn.execute("SELECT run_id FROM workflow WHERE id = ?", (workflow_id,)).fetchone()[0]
    already = conn.execute(
        "SELECT 1 FROM event WHERE workflow_id = ? AND data ->> 'category' = 'workflow_completed'"
        " AND data ->> 'run_id' = ? LIMIT 1",
        (workflow_id, run_id),
    ).fetchone()
    if already:
        return
    counts = {
        JobStatus.from_code(code).value: n
        for code, n in conn.execute(
            "SELECT status, n FROM job_status_count WHERE workflow_id = ? AND n > 0",
            (workflow_id,),
        )
    }
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    events.record(
        conn,
        workflow_id,
        "workflow_completed",
        f"workflow {workflow_id} run {run_id} complete: {summary}",
        run_id=run_id,
        jobs_by_status=counts,
    )
