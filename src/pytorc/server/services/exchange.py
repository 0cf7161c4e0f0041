"""The runner's round trip (pytorc extension): report starts and completions, hand back jobs it
will not start, then claim more.

A runner that waits for one request per state change cannot keep up with short jobs; this lets it
send everything that happened since its last call and receive its next jobs in one transaction.
Completions are applied before the claim, so the dependents they release can be claimed at once
(a chain advances one job per round trip, not per sweep). Each start and completion succeeds or
fails on its own, as in batch_complete_jobs, and so does each job handed back (`release`, sent
by a runner that is stopping with claimed jobs it never started; see claiming.release).

Every exchange is safe to send again, so a runner whose request failed in transit (the server
died, the connection dropped) resends it until the server is back: a start or completion the
server already applied is acknowledged, not refused, and never applied twice; `reclaim` hands
back the jobs claimed by the answer that was lost. A report is applied only for a job that is
this node's own (claimed or started by it), so a runner declared dead that comes back
(services/dead_runners.py) cannot complete a job that another runner now holds. Each exchange
stamps the node's heartbeat.
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from typing import Any

from pytorc.errors import InvalidInput, TorcError
from pytorc.models import ExchangeJobsRequest, JobCompletionEntry, JobStart
from pytorc.server.db import results, workflows
from pytorc.server.db.common import Row, dumps, now_iso, require
from pytorc.server.services import claiming, completion, outcomes, successors
from pytorc.vocabulary import RESULT_MEASURES, JobStatus

_FAST_FROM = frozenset({JobStatus.READY.code, JobStatus.PENDING.code, JobStatus.RUNNING.code})
_FAST_TO = frozenset(
    {JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELED, JobStatus.TERMINATED}
)
_RELEASABLE = frozenset({JobStatus.BLOCKED.code, JobStatus.READY.code})
_RESULT_FIELDS = {"workflow_id", "job_id", *RESULT_MEASURES}


def complete_many(
    conn: sqlite3.Connection,
    workflow_id: int,
    run_id: int,
    entries: list[JobCompletionEntry],
    looked: dict[int, Row] | None = None,
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
    rows = looked if looked is not None else look(conn, run_id, ids)
    fast = _fast_entries(entries, ids, rows, workflow_id, run_id)
    done = _complete_set_wise(conn, fast, rows, run_id)
    errors = _complete_one_by_one(
        conn, [e for e in entries if e.job_id not in done], rows, workflow_id, done
    )
    completed = [e.job_id for e in entries if e.job_id in done]
    outcomes.note_outcomes(
        conn, workflow_id, {e.job_id: e.status for e in entries if e.job_id in done}.items()
    )
    return list(dict.fromkeys(completed)), errors


def _fast_entries(
    entries: list[JobCompletionEntry],
    ids: list[int],
    rows: dict[int, Row],
    workflow_id: int,
    run_id: int,
) -> list[JobCompletionEntry]:
    """The entries the set-wise path may apply: plain transitions whose result agrees."""
    seen = Counter(ids)
    return [
        e
        for e in entries
        if (row := rows.get(e.job_id)) is not None
        and row[1] == workflow_id
        and row[2] in _FAST_FROM
        and e.status in _FAST_TO
        and seen[e.job_id] == 1
        and row["result_status"] is None  # none of this run for its current attempt yet
        and e.run_id == run_id
        and e.result.job_id == e.job_id
        and e.result.workflow_id == workflow_id
        and e.result.run_id == run_id
        and e.result.status == e.status
    ]


# A reported job as it stands: (id, workflow, status, attempt, compute node, claimed by, and
# the status of the result of this run for its current attempt, if there is one). One query
# serves both the screening of a runner's completions and their application.
_LOOK = """
SELECT j.id, j.workflow_id, j.status, j.attempt_id, j.compute_node_id, j.claimed_by,
       (SELECT r.status FROM result r WHERE r.job_id = j.id AND r.run_id = :run
           AND r.attempt_id = j.attempt_id) AS result_status
  FROM job j WHERE j.id IN (SELECT value FROM json_each(:ids))
"""


def look(conn: sqlite3.Connection, run_id: int, job_ids: list[int]) -> dict[int, Row]:
    """The reported jobs by id, as _LOOK reads them."""
    return {r[0]: r for r in conn.execute(_LOOK, {"run": run_id, "ids": dumps(job_ids)})}


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


def _report(
    conn: sqlite3.Connection, workflow_id: int, run_id: int, body: ExchangeJobsRequest
) -> tuple[list[int], list[int], list[dict[str, Any]]]:
    """Apply the reported starts and completions: (started, completed, errors).

    A start of a job still blocked is one the runner made on a successor hint
    (services/successors.py): it waits until the completions that release it are applied, then
    so does its own completion, if the same exchange carries it; a chain of such jobs takes one
    round per link."""
    node = body.compute_node_id
    started, errors, waiting = _start_many(conn, workflow_id, body)
    later = {s.job_id for s in waiting}
    completed = _complete(conn, node, workflow_id, run_id, body.completions, later, errors)
    while waiting:
        went = successors.start_released(
            conn,
            workflow_id,
            node,
            [(s.job_id, s.start_time or now_iso()) for s in waiting],
            completed,
        )
        if not went:
            break
        started.extend(s.job_id for s in waiting if s.job_id in went)
        waiting = [s for s in waiting if s.job_id not in went]
        later -= went
        now = [e for e in body.completions if e.job_id in went]
        completed += _complete(conn, node, workflow_id, run_id, now, later, errors)
    states = _start_states(conn, [s.job_id for s in waiting], node, run_id)
    for start in waiting:
        why = _why_not_started(states.get(start.job_id), start.job_id, node)
        errors.append({"job_id": start.job_id, "message": why or "not started"})
    stranded = [e for e in body.completions if e.job_id in later]
    completed += _complete(conn, node, workflow_id, run_id, stranded, set(), errors)
    return started, completed, errors


def _complete(
    conn: sqlite3.Connection,
    node: int,
    workflow_id: int,
    run_id: int,
    entries: list[JobCompletionEntry],
    later: set[int],
    errors: list[dict[str, Any]],
) -> list[int]:
    """Screen and apply the completions not held back for a later round; adds their errors."""
    entries = [e for e in entries if e.job_id not in later]
    if not entries:
        return []
    rows = look(conn, run_id, [e.job_id for e in entries])
    apply, acknowledged, refused = _screen(entries, rows, node)
    errors.extend(refused)
    completed, completion_errors = complete_many(conn, workflow_id, run_id, apply, rows)
    errors.extend(completion_errors)
    return completed + acknowledged


def require_run(conn: sqlite3.Connection, workflow_id: int, run_id: int) -> Row:
    """The workflow, if `run_id` is its current run: a runner of an earlier run changes nothing."""
    wf = require(conn, "workflow", workflow_id)
    if run_id != wf["run_id"]:
        raise InvalidInput(
            f"run_id {run_id} does not match workflow {workflow_id}'s run {wf['run_id']}"
        )
    return wf


# A stamp younger than this is left as it is: a runner on a chain of short jobs exchanges every
# few milliseconds, and each stamp wrote the node's page to the log again. Dead runners are
# declared after seconds (services/dead_runners.py), so a stamp 0.1 s old changes nothing.
HEARTBEAT_RESOLUTION = 0.1
_HEARTBEAT = """
UPDATE compute_node SET heartbeat_at = ?1
 WHERE id = ?2 AND workflow_id = ?3 AND (heartbeat_at IS NULL OR heartbeat_at < ?4)
"""


def exchange(
    conn: sqlite3.Connection, workflow_id: int, body: ExchangeJobsRequest
) -> dict[str, Any]:
    wf = require_run(conn, workflow_id, body.run_id)
    node = body.compute_node_id
    now = time.time()
    conn.execute(_HEARTBEAT, (now, node, workflow_id, now - HEARTBEAT_RESOLUTION))
    started, completed, errors = _report(conn, workflow_id, wf["run_id"], body)
    released, release_errors = claiming.release(
        conn, workflow_id, body.compute_node_id, body.release
    )
    errors.extend(release_errors)
    jobs = claiming.claimed_by(conn, workflow_id, node) if body.reclaim else []
    reason = None
    if body.claim is not None:
        if body.claim.resources is None:
            jobs += claiming.claim_next(conn, workflow_id, body.claim.limit, node, wf)
        else:
            claimed, reason = claiming.claim_by_resources(
                conn,
                workflow_id,
                body.claim.limit,
                body.claim.resources,
                body.claim.strict_scheduler_match,
                capacity=body.claim.capacity,
                compute_node_id=node,
            )
            jobs += claimed
    hints = []
    if body.successors and not (body.claim is not None and body.claim.strict_scheduler_match):
        held = [*started, *(job["id"] for job in jobs)]
        hints = successors.hints(conn, workflow_id, node, held, body.successors, body.hinted)
    complete, canceled = workflows.is_complete(conn, workflow_id, wf)
    if complete and not canceled and completed:
        outcomes.workflow_completed(conn, workflow_id)
    stalled = (  # an initialization under way is not a stall: its jobs come
        not complete
        and not jobs
        and not workflows.has_active_jobs(conn, workflow_id)
        and not workflows.is_initializing(conn, workflow_id, live=True)
    )
    too_big: list[dict[str, Any]] = []
    if reason == claiming.NOTHING_FITS and body.claim is not None:
        node_size = body.claim.capacity or body.claim.resources
        too_big = claiming.unfit(conn, workflow_id, node_size) if node_size else []
    return {
        "started": started,
        "completed": completed,
        "released": released,
        "errors": errors,
        "jobs": jobs,
        "reason": reason,
        "is_complete": complete,
        "is_canceled": canceled,
        "is_stalled": stalled,
        "successors": hints,
        "unfit": too_big,
        "others_active": bool(too_big) and workflows.has_running_jobs(conn, workflow_id),
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
) -> tuple[list[int], list[dict[str, Any]], list[JobStart]]:
    """Mark the reported jobs running in one statement: (started, an error for each that was
    not pending, those still blocked or ready, which a completion of this exchange may release).
    """
    if not body.started:
        return [], [], []
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
    waiting: list[JobStart] = []
    node = body.compute_node_id
    left = [s.job_id for s in body.started if s.job_id not in updated]
    states = _start_states(conn, left, node, body.run_id)
    for start in body.started:
        if start.job_id in updated:
            updated.discard(start.job_id)
            started.append(start.job_id)
            continue
        state = states.get(start.job_id)
        if start.job_id in started or any(w.job_id == start.job_id for w in waiting):
            why: str | None = f"job {start.job_id} is reported started twice"
        else:
            why = _why_not_started(state, start.job_id, node)
        if why is None:
            started.append(start.job_id)  # a resent report of a start already applied
        elif (
            state is not None
            and state["workflow_id"] == workflow_id
            and state["status"] in _RELEASABLE
        ):
            waiting.append(start)  # not released yet
        else:
            errors.append({"job_id": start.job_id, "message": why})
    return started, errors, waiting


# A reported start's job: (id, workflow, status, compute node, whether its current attempt
# ended on this node in this run).
_START_STATES = """
SELECT j.id, j.workflow_id, j.status, j.compute_node_id,
       EXISTS (SELECT 1 FROM result r WHERE r.job_id = j.id AND r.run_id = :run
                  AND r.attempt_id = j.attempt_id AND r.compute_node_id = :node) AS ended_here
  FROM job j WHERE j.id IN (SELECT value FROM json_each(:ids))
"""


def _start_states(
    conn: sqlite3.Connection, job_ids: list[int], node: int, run_id: int
) -> dict[int, Row]:
    if not job_ids:
        return {}
    params = {"run": run_id, "node": node, "ids": dumps(job_ids)}
    return {row[0]: row for row in conn.execute(_START_STATES, params)}


def _why_not_started(state: Row | None, job_id: int, node: int) -> str | None:
    """Why a reported start was not applied; None when it already was, by this node (the job
    runs there, or its current attempt ended there in this run)."""
    if state is None:
        return f"job {job_id} does not exist"
    status = JobStatus.from_code(state["status"])
    if (status == JobStatus.RUNNING and state["compute_node_id"] == node) or state["ended_here"]:
        return None
    return f"job {job_id} is {status.value}, not pending, and cannot start"


_UNFINISHED = frozenset({JobStatus.READY, JobStatus.PENDING, JobStatus.RUNNING})


def _screen(
    entries: list[JobCompletionEntry], rows: dict[int, Row], node: int
) -> tuple[list[JobCompletionEntry], list[int], list[dict[str, Any]]]:
    """Sort a runner's completions by their jobs' `rows` (look()): (to apply, already
    applied, refused with why).

    Already applied: the job has this entry's final status and a result of this run for its
    current attempt (the same report, resent after its answer was lost). Refused: a job that
    is unfinished but not this node's own: it was requeued after the node was declared dead,
    or reset, and may be running elsewhere now."""
    apply: list[JobCompletionEntry] = []
    acknowledged: list[int] = []
    refused: list[dict[str, Any]] = []
    for entry in entries:
        row = rows.get(entry.job_id)
        if row is None:
            apply.append(entry)  # complete_many names the problem
            continue
        status = JobStatus.from_code(row["status"])
        if status == entry.status and row["result_status"] == row["status"]:
            acknowledged.append(entry.job_id)
        elif status in _UNFINISHED and node not in (row["compute_node_id"], row["claimed_by"]):
            refused.append(
                {
                    "job_id": entry.job_id,
                    "message": f"job {entry.job_id} is {status.value} and no longer held by"
                    f" compute node {node} (requeued or reset); its result was not stored",
                }
            )
        else:
            apply.append(entry)
    return apply, acknowledged, refused


# Jobs one request may touch and still be written inline on the event loop (see
# docs/server.md, "Transactions"); a larger batch is written on the writer thread.
SHORT_BATCH = 256


def is_large(body: ExchangeJobsRequest) -> bool:
    """Whether an exchange touches too many jobs to be written on the event loop."""
    claim = body.claim.limit if body.claim is not None else 0
    return len(body.started) + len(body.completions) + len(body.release) + claim > SHORT_BATCH
