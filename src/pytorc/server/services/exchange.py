"""The runner's round trip (pytorc extension): report starts and completions, hand back jobs it
will not start, then claim more.

A runner that waits for one request per state change cannot keep up with short jobs; this lets it
send everything that happened since its last call and receive its next jobs in one transaction.
Completions are applied before the claim, so the dependents they release can be claimed at once
(a chain advances one job per round trip, not per sweep). Each start and completion succeeds or
fails on its own, as in batch_complete_jobs, and so does each job handed back (`release`, sent
by a runner that is stopping with claimed jobs it never started; see claiming.release).
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from typing import Any

from pytorc.errors import InvalidInput, TorcError
from pytorc.models import ExchangeJobsRequest, JobCompletionEntry
from pytorc.server.db import results, workflows
from pytorc.server.db.common import Row, dumps, now_iso, require
from pytorc.server.services import claiming, completion
from pytorc.vocabulary import RESULT_MEASURES, JobStatus

_FAST_FROM = frozenset({JobStatus.READY.code, JobStatus.PENDING.code, JobStatus.RUNNING.code})
_FAST_TO = frozenset(
    {JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELED, JobStatus.TERMINATED}
)
_RESULT_FIELDS = {"workflow_id", "job_id", *RESULT_MEASURES}


def complete_many(
    conn: sqlite3.Connection, workflow_id: int, run_id: int, entries: list[JobCompletionEntry]
) -> tuple[list[int], list[dict[str, Any]]]:
    """Complete each entry on its own; (completed ids in entry order, per-job errors).

    The common case (a pending or running job of this run finishing) is applied set-wise: one
    insert of all results and one status update per final status, where one statement per job
    per step cost the server about 0.45 ms a job. Anything unusual (duplicates, an existing
    result, a status needing the state machine's care) goes through complete_job under its own
    savepoint, so its error is reported for that job alone; so does a result that disagrees
    with its entry, which complete_job refuses.
    """
    if not entries:
        return [], []
    ids = [e.job_id for e in entries]
    rows = {
        r[0]: r
        for r in conn.execute(
            "SELECT id, workflow_id, status, attempt_id FROM job"
            " WHERE id IN (SELECT value FROM json_each(?))",
            (dumps(ids),),
        )
    }
    fast = _fast_entries(conn, entries, ids, rows, workflow_id, run_id)
    done = _complete_set_wise(conn, fast, rows, run_id)
    errors = _complete_one_by_one(
        conn, [e for e in entries if e.job_id not in done], rows, workflow_id, done
    )
    completed = [e.job_id for e in entries if e.job_id in done]
    return list(dict.fromkeys(completed)), errors


def _fast_entries(
    conn: sqlite3.Connection,
    entries: list[JobCompletionEntry],
    ids: list[int],
    rows: dict[int, Any],
    workflow_id: int,
    run_id: int,
) -> list[JobCompletionEntry]:
    """The entries the set-wise path may apply: plain transitions whose result agrees."""
    seen = Counter(ids)
    already = {
        r[0]
        for r in conn.execute(
            "SELECT r.job_id FROM result r"
            " JOIN job j ON j.id = r.job_id AND r.attempt_id = j.attempt_id"
            " WHERE r.job_id IN (SELECT value FROM json_each(?)) AND r.run_id = ?",
            (dumps(ids), run_id),
        )
    }
    return [
        e
        for e in entries
        if (row := rows.get(e.job_id)) is not None
        and row[1] == workflow_id
        and row[2] in _FAST_FROM
        and e.status in _FAST_TO
        and seen[e.job_id] == 1
        and e.job_id not in already
        and e.run_id == run_id
        and e.result.job_id == e.job_id
        and e.result.workflow_id == workflow_id
        and e.result.run_id == run_id
        and e.result.status == e.status
    ]


def _complete_one_by_one(
    conn: sqlite3.Connection,
    entries: list[JobCompletionEntry],
    rows: dict[int, Any],
    workflow_id: int,
    done: set[int],
) -> list[dict[str, Any]]:
    """Each entry through complete_job under its own savepoint; adds successes to `done`."""
    errors: list[dict[str, Any]] = []
    for entry in entries:
        conn.execute("SAVEPOINT entry")
        try:
            row = rows.get(entry.job_id)
            if row is not None and row[1] != workflow_id:
                raise InvalidInput(f"job {entry.job_id} is not in workflow {workflow_id}")
            completion.complete_job(conn, entry.job_id, entry.status, entry.run_id, entry.result)
        except TorcError as exc:
            conn.execute("ROLLBACK TO entry")
            errors.append({"job_id": entry.job_id, "message": str(exc)})
        else:
            done.add(entry.job_id)
        conn.execute("RELEASE entry")
    return errors


def _complete_set_wise(
    conn: sqlite3.Connection,
    entries: list[JobCompletionEntry],
    rows: dict[int, Any],
    run_id: int,
) -> set[int]:
    if not entries:
        return set()
    results.insert_many(
        conn,
        [
            {
                **e.result.model_dump(include=_RESULT_FIELDS),
                "run_id": run_id,
                "attempt_id": rows[e.job_id][3],
                "status": e.status.code,
            }
            for e in entries
        ],
        run_id,
    )
    by_status: dict[JobStatus, list[int]] = {}
    for e in entries:
        by_status.setdefault(e.status, []).append(e.job_id)
    for status, job_ids in by_status.items():
        conn.execute(
            "UPDATE job SET status = ?, compute_node_id = NULL, start_time = NULL"
            " WHERE id IN (SELECT value FROM json_each(?))",
            (status.code, dumps(job_ids)),
        )
    ids = [e.job_id for e in entries]
    upstream = {
        r[0]
        for r in conn.execute(
            "SELECT DISTINCT depends_on_job_id FROM job_depends_on"
            " WHERE depends_on_job_id IN (SELECT value FROM json_each(?))",
            (dumps(ids),),
        )
    }
    for e in entries:
        if e.job_id in upstream:
            completion.release_dependents(conn, e.job_id, e.status)
    return set(ids)


def require_run(conn: sqlite3.Connection, workflow_id: int, run_id: int) -> Row:
    """The workflow, if `run_id` is its current run: a runner of an earlier run changes nothing."""
    wf = require(conn, "workflow", workflow_id)
    if run_id != wf["run_id"]:
        raise InvalidInput(
            f"run_id {run_id} does not match workflow {workflow_id}'s run {wf['run_id']}"
        )
    return wf


def exchange(
    conn: sqlite3.Connection, workflow_id: int, body: ExchangeJobsRequest
) -> dict[str, Any]:
    wf = require_run(conn, workflow_id, body.run_id)
    started, errors = _start_many(conn, workflow_id, body)
    completed, completion_errors = complete_many(conn, workflow_id, wf["run_id"], body.completions)
    errors.extend(completion_errors)
    released, release_errors = claiming.release(
        conn, workflow_id, body.compute_node_id, body.release
    )
    errors.extend(release_errors)
    jobs: list[dict[str, Any]] = []
    reason = None
    node = body.compute_node_id
    if body.claim is not None:
        if body.claim.resources is None:
            jobs = claiming.claim_next(conn, workflow_id, body.claim.limit, node)
        else:
            jobs, reason = claiming.claim_by_resources(
                conn,
                workflow_id,
                body.claim.limit,
                body.claim.resources,
                body.claim.strict_scheduler_match,
                capacity=body.claim.capacity,
                compute_node_id=node,
            )
    complete, canceled = workflows.is_complete(conn, workflow_id)
    return {
        "started": started,
        "completed": completed,
        "released": released,
        "errors": errors,
        "jobs": jobs,
        "reason": reason,
        "is_complete": complete,
        "is_canceled": canceled,
    }


# The reported starts joined by primary key; the unary + keeps SQLite off the (workflow, status)
# index, which would walk every pending job of the workflow.
_START = """
UPDATE job SET status = :running, compute_node_id = :node, start_time = s.start_time
  FROM (SELECT value ->> 0 AS id, value ->> 1 AS start_time FROM json_each(:starts)) AS s
 WHERE job.id = s.id AND +job.workflow_id = :wf AND +job.status = :pending
RETURNING job.id
"""


def _start_many(
    conn: sqlite3.Connection, workflow_id: int, body: ExchangeJobsRequest
) -> tuple[list[int], list[dict[str, Any]]]:
    """Mark the reported jobs running in one statement; an error for each that was not pending."""
    if not body.started:
        return [], []
    now = now_iso()
    updated = {
        row[0]
        for row in conn.execute(
            _START,
            {
                "running": JobStatus.RUNNING.code,
                "pending": JobStatus.PENDING.code,
                "node": body.compute_node_id,
                "starts": dumps([[s.job_id, s.start_time or now] for s in body.started]),
                "wf": workflow_id,
            },
        )
    }
    started: list[int] = []
    errors: list[dict[str, Any]] = []
    for start in body.started:
        if start.job_id in updated:
            updated.discard(start.job_id)  # a second report of the same start is an error
            started.append(start.job_id)
        else:
            errors.append({"job_id": start.job_id, "message": _why_not_started(conn, start.job_id)})
    return started, errors


def _why_not_started(conn: sqlite3.Connection, job_id: int) -> str:
    row = conn.execute("SELECT status FROM job WHERE id = ?", (job_id,)).fetchone()
    if row is None:
        return f"job {job_id} does not exist"
    return f"job {job_id} is {JobStatus.from_code(row[0]).value}, not pending, and cannot start"


# Jobs one request may touch and still be written inline on the event loop (see
# docs/server.md, "Transactions"); a larger batch is written on the writer thread.
SHORT_BATCH = 256


def is_large(body: ExchangeJobsRequest) -> bool:
    """Whether an exchange touches too many jobs to be written on the event loop."""
    claim = body.claim.limit if body.claim is not None else 0
    return len(body.started) + len(body.completions) + len(body.release) + claim > SHORT_BATCH
