"""Dead runners: requeue the jobs of a runner that stopped reporting.

A runner reaches the server through exchange_jobs at least every few seconds while it runs jobs
and every poll interval (at most MAX_SILENCE, runner/policy.py) while it waits; each exchange
stamps its compute node's `heartbeat_at`, so heartbeats cost no extra request. A node whose stamp
is older than the timeout is declared dead: it is marked inactive, the jobs it had claimed or
started are made ready again for other runners, and an event says so. A late report from it is
refused by exchange_jobs (the jobs are no longer its own), so no job is counted twice.

A runner last heard from before the server started is judged only after the timeout plus
RESTART_GRACE: runners that were waiting for a server that went away retry with a backoff of up
to 10 s (client/api.py), so one may reach the restarted server only seconds after it is back;
judging it by its stamp from before the outage would requeue jobs it is still running
(measured: 198 of 1,000 jobs ran twice with a 5 s timeout and no grace).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from datetime import datetime
from typing import NamedTuple

from pytorc.models import ResultModel
from pytorc.server.db import events
from pytorc.server.db.common import now_iso
from pytorc.server.db.connection import Database
from pytorc.server.services import completion
from pytorc.vocabulary import JobStatus

log = logging.getLogger(__name__)

MAX_CHECK_INTERVAL = 10.0  # seconds between checks, at most (a quarter of the timeout if less)
RESTART_GRACE = 30.0  # seconds beyond the timeout before the first judgement after a start


class DeadRunner(NamedTuple):
    compute_node_id: int
    workflow_id: int
    silent_seconds: float
    requeued: list[int]


async def run_forever(db: Database, timeout: float) -> None:
    interval = min(MAX_CHECK_INTERVAL, max(timeout / 4, 0.2))
    started = time.time()
    while True:
        await asyncio.sleep(interval)
        try:
            dead = await asyncio.to_thread(_requeue_in_transaction, db, timeout, started)
        except Exception:
            log.exception("dead-runner check failed")
            continue
        for runner in dead:
            log.warning(
                "compute node %d (workflow %d) silent for %.0f s: declared dead, %d jobs requeued",
                runner.compute_node_id,
                runner.workflow_id,
                runner.silent_seconds,
                len(runner.requeued),
            )


def _requeue_in_transaction(db: Database, timeout: float, started: float) -> list[DeadRunner]:
    now = time.time()
    # Stamps from before the start count only once the restart's grace is over too.
    floor = 0.0 if now - started >= timeout + RESTART_GRACE else started
    with db.transaction() as conn:
        return requeue_dead(conn, now - timeout, floor)


_SILENT = """
SELECT id, workflow_id, hostname, pid, heartbeat_at FROM compute_node
 WHERE is_active = 1 AND heartbeat_at IS NOT NULL AND heartbeat_at < ? AND heartbeat_at >= ?
"""

# Indexed by (workflow_id, status); the node test filters the few pending or running jobs.
_REQUEUE = f"""
UPDATE job SET status = {JobStatus.READY.code}, compute_node_id = NULL, claimed_by = NULL,
               start_time = NULL
 WHERE workflow_id = :wf AND status IN ({JobStatus.PENDING.code}, {JobStatus.RUNNING.code})
   AND (compute_node_id = :node OR claimed_by = :node)
RETURNING id
"""


def requeue_dead(
    conn: sqlite3.Connection, silent_since: float, heard_since: float = 0.0
) -> list[DeadRunner]:
    """Declare dead every active runner last heard from between `heard_since` and
    `silent_since` (epoch seconds)."""
    now = time.time()
    dead = []
    for node_id, workflow_id, hostname, pid, heartbeat_at in conn.execute(
        _SILENT, (silent_since, heard_since)
    ).fetchall():
        silent = now - heartbeat_at
        requeued = declare_dead(
            conn, node_id, workflow_id, f"{hostname} pid {pid}, silent for {silent:.0f} s"
        )
        dead.append(DeadRunner(node_id, workflow_id, silent, requeued))
    return dead


def declare_dead(conn: sqlite3.Connection, node_id: int, workflow_id: int, why: str) -> list[int]:
    """Mark the node inactive and make the jobs it claimed or ran ready again; their ids.

    A workflow whose execution_config says `dead_runner_action: fail` (jobs that must not run
    twice) has the jobs that were running fail instead, with Torc's return code for a job whose
    node vanished (-128); the ones only claimed never started, so they are made ready."""
    failed = _fail_running(conn, workflow_id, node_id) if _fails(conn, workflow_id) else []
    requeued = sorted(r[0] for r in conn.execute(_REQUEUE, {"wf": workflow_id, "node": node_id}))
    conn.execute("UPDATE compute_node SET is_active = 0 WHERE id = ?", (node_id,))
    failed_note = (
        f"; {len(failed)} running jobs failed (dead_runner_action: fail)" if failed else ""
    )
    events.record(
        conn,
        workflow_id,
        "runner_declared_dead",
        f"compute node {node_id} ({why}) declared dead; {len(requeued)} of its jobs made"
        f" ready again{failed_note}",
        compute_node_id=node_id,
        job_ids=requeued,
        failed_job_ids=failed,
    )
    return requeued


NODE_LOST_CODE = -128  # Torc's return code for a job whose runner or allocation vanished


def _fails(conn: sqlite3.Connection, workflow_id: int) -> bool:
    row = conn.execute(
        "SELECT execution_config ->> 'dead_runner_action' FROM workflow WHERE id = ?",
        (workflow_id,),
    ).fetchone()
    return row is not None and row[0] == "fail"


def _fail_running(conn: sqlite3.Connection, workflow_id: int, node_id: int) -> list[int]:
    rows = conn.execute(
        "SELECT j.id, j.start_time, w.run_id FROM job j JOIN workflow w ON w.id = j.workflow_id"
        " WHERE j.workflow_id = ? AND j.status = ? AND j.compute_node_id = ?",
        (workflow_id, JobStatus.RUNNING.code, node_id),
    ).fetchall()
    failed = []
    for job_id, start_time, run_id in rows:
        result = ResultModel(
            job_id=job_id,
            workflow_id=workflow_id,
            run_id=run_id,
            compute_node_id=node_id,
            return_code=NODE_LOST_CODE,
            exec_time_minutes=_minutes_since(start_time),
            completion_time=now_iso(),
            status=JobStatus.FAILED,
        )
        completion.complete_job(conn, job_id, JobStatus.FAILED, run_id, result)
        failed.append(job_id)
    return failed


def _minutes_since(start_time: str | None) -> float:
    if not start_time:
        return 0.0
    try:
        started = datetime.fromisoformat(start_time.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0
    return max(0.0, (time.time() - started) / 60)
