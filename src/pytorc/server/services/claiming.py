"""Claiming ready jobs for a runner (by count, or by what fits its free resources) and
handing claimed jobs back.

All run inside the caller's BEGIN IMMEDIATE transaction, so a job is handed to exactly one
runner. Order: priority (higher first), then id (creation order). The resource claim walks that
order greedily and stops as soon as nothing else could fit, so its cost follows what it hands out,
not the size of the workflow. A claim records the claiming compute node when the runner names
one (exchange_jobs does), so that a runner that stops can release exactly its own claims.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from pytorc.errors import InvalidInput
from pytorc.models import ComputeNodesResources
from pytorc.server.db import events, jobs, workflows
from pytorc.server.db.common import MAX_LIMIT, Row, dumps, require
from pytorc.units import UnitError, duration_seconds
from pytorc.vocabulary import JobStatus

GIB = 1024**3
NOTHING_FITS = "No ready job fits the offered resources"

_READY = JobStatus.READY.code
_READY_IN_ORDER = f"""
SELECT id, resource_requirements_id AS rr, scheduler_id FROM job
 WHERE workflow_id = ? AND status = {_READY}
 ORDER BY priority DESC, id
"""


# Served by the partial index job_ready_by_class (migration 0006).
_READY_OF_CLASS = f"""
SELECT id, priority FROM job
 WHERE workflow_id = :wf AND resource_requirements_id IS :rr AND status = {_READY}
   AND (:any OR scheduler_id IS NULL OR scheduler_id = :sched)
 ORDER BY priority DESC, id
 LIMIT :limit
"""


def _check_limit(limit: int) -> None:
    if limit < 0 or limit > MAX_LIMIT:
        raise InvalidInput(f"limit must be between 0 and {MAX_LIMIT}, got {limit}")


def _mark_pending(
    conn: sqlite3.Connection, ids: list[int], compute_node_id: int | None
) -> list[dict[str, Any]]:
    """Set the chosen jobs pending, claimed by `compute_node_id` (None: unknown), and return
    them with their relation ids, in claim order."""
    if not ids:
        return []
    # claimed_by is written even when None: a stale claimer left from an earlier claim would
    # let that runner release a job another runner now holds.
    rows = conn.execute(
        "UPDATE job SET status = ?, claimed_by = ?"
        " WHERE id IN (SELECT value FROM json_each(?)) RETURNING *",
        (JobStatus.PENDING.code, compute_node_id, dumps(ids)),
    ).fetchall()
    order = {id: i for i, id in enumerate(ids)}
    rows.sort(key=lambda r: order[r["id"]])
    return jobs.with_relations(conn, rows, _RELATIONS)


_RELATIONS = (
    "depends_on_job_ids",
    "input_file_ids",
    "output_file_ids",
    "input_user_data_ids",
    "output_user_data_ids",
)


def claimed_by(
    conn: sqlite3.Connection, workflow_id: int, compute_node_id: int
) -> list[dict[str, Any]]:
    """The jobs `compute_node_id` has claimed and not started (for a runner whose answer was
    lost), in id order."""
    rows = conn.execute(
        "SELECT * FROM job WHERE workflow_id = ? AND status = ? AND claimed_by = ? ORDER BY id",
        (workflow_id, JobStatus.PENDING.code, compute_node_id),
    ).fetchall()
    return jobs.with_relations(conn, rows, _RELATIONS)


def claim_next(
    conn: sqlite3.Connection,
    workflow_id: int,
    limit: int,
    compute_node_id: int | None = None,
    wf: Row | None = None,
) -> list[dict[str, Any]]:
    """Up to `limit` ready jobs, whatever their resource needs (`wf`: the workflow's row, if
    the caller has it from this transaction)."""
    _check_limit(limit)
    if wf is None:
        wf = require(conn, "workflow", workflow_id)
    if wf["is_canceled"] or limit == 0 or workflows.is_initializing(conn, workflow_id):
        return []
    ids = [r[0] for r in conn.execute(_READY_IN_ORDER + " LIMIT ?", (workflow_id, limit))]
    return _mark_pending(conn, ids, compute_node_id)


@dataclass
class _Need:
    cpus: int
    gpus: int
    nodes: int
    memory: int
    runtime: float


@dataclass
class _Free:
    cpus: int
    gpus: int
    nodes: int
    memory: float
    time_limit: float | None

    def fits(self, need: _Need) -> bool:
        return (
            need.cpus <= self.cpus
            and need.gpus <= self.gpus
            and need.memory <= self.memory
            and need.nodes <= self.nodes
            and (self.time_limit is None or need.runtime <= self.time_limit)
        )

    def take(self, need: _Need) -> None:
        self.cpus -= need.cpus
        self.gpus -= need.gpus
        self.memory -= need.memory
        if need.nodes > 1:  # multi-node jobs use whole nodes; single-node jobs share one
            self.nodes -= need.nodes


def _needs(conn: sqlite3.Connection, workflow_id: int) -> dict[int | None, _Need]:
    needs: dict[int | None, _Need] = {
        row["id"]: _Need(
            row["num_cpus"],
            row["num_gpus"],
            row["num_nodes"],
            row["memory_bytes"],
            row["runtime_s"],
        )
        for row in conn.execute(
            "SELECT id, num_cpus, num_gpus, num_nodes, memory_bytes, runtime_s"
            " FROM resource_requirements WHERE workflow_id = ?",
            (workflow_id,),
        )
    }
    needs[None] = _Need(1, 0, 1, 1024 * 1024, 60.0)
    return needs


def parse_time_limit(text: str | None) -> float | None:
    if text is None or text == "":
        return None
    try:
        return duration_seconds(text)
    except UnitError as exc:
        raise InvalidInput(f"time_limit: {exc}") from exc


def claim_by_resources(
    conn: sqlite3.Connection,
    workflow_id: int,
    limit: int,
    resources: ComputeNodesResources,
    strict_scheduler_match: bool,
    capacity: ComputeNodesResources | None = None,
    compute_node_id: int | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Ready jobs that together fit `resources`, at most `limit`; with a reason when none.

    With `capacity` (pytorc's runner queueing short jobs), `resources` is a budget that may
    exceed one node, and only jobs that fit the node itself are taken."""
    _check_limit(limit)
    wf = require(conn, "workflow", workflow_id)
    if wf["is_canceled"]:
        return [], "Workflow is canceled"
    for offer in (resources, capacity):
        if offer is not None:
            _check_offer(offer)
    time_limit = parse_time_limit(resources.time_limit)
    if limit == 0:
        return [], "limit is 0"
    if workflows.is_initializing(conn, workflow_id):
        return [], "No jobs are ready"  # not until every chunk of its initialization is done
    needs = _needs(conn, workflow_id)
    node = None if capacity is None else _free(capacity, time_limit)
    budget = (resources, time_limit)
    chosen = _pick(conn, workflow_id, limit, budget, node, needs, resources.scheduler_config_id)
    if not chosen and not strict_scheduler_match:
        chosen = _pick(conn, workflow_id, limit, budget, node, needs, None, any_sched=True)
    if chosen:
        return _mark_pending(conn, chosen, compute_node_id), None
    any_ready = conn.execute(
        f"SELECT 1 FROM job WHERE workflow_id = ? AND status = {_READY} LIMIT 1", (workflow_id,)
    ).fetchone()
    if any_ready is None:
        return [], "No jobs are ready"
    return [], NOTHING_FITS


UNFIT_SHOWN = 5  # ready jobs named as too big for a node


def unfit(
    conn: sqlite3.Connection, workflow_id: int, node: ComputeNodesResources
) -> list[dict[str, Any]]:
    """Ready jobs that could never run on `node` (a whole node's resources), a few per
    requirement, each with what it needs beyond the node: one index seek per requirement."""
    time_limit = parse_time_limit(node.time_limit)
    whole = _free(node, time_limit)
    beyond: dict[int, str] = {}  # job id -> what it needs beyond the node
    for rr, need in _needs(conn, workflow_id).items():
        if whole.fits(need) or len(beyond) >= UNFIT_SHOWN:
            continue
        params = {"wf": workflow_id, "rr": rr, "any": True, "sched": None, "limit": 2}
        for job_id, _ in conn.execute(_READY_OF_CLASS, params):
            beyond[job_id] = _beyond(need, whole)
    shown = list(beyond)[:UNFIT_SHOWN]
    names = dict(
        conn.execute(
            "SELECT id, name FROM job WHERE id IN (SELECT value FROM json_each(?))",
            (dumps(shown),),
        ).fetchall()
    )
    return [{"id": i, "name": names[i], "beyond": beyond[i]} for i in shown]


def _beyond(need: _Need, node: _Free) -> str:
    """What a job needs that the node does not have, in words."""
    parts = []
    if need.cpus > node.cpus:
        parts.append(f"{need.cpus} CPUs > {node.cpus}")
    if need.memory > node.memory:
        parts.append(f"{need.memory / GIB:.3g} GiB memory > {node.memory / GIB:.3g} GiB")
    if need.gpus > node.gpus:
        parts.append(f"{need.gpus} GPUs > {node.gpus}")
    if need.nodes > node.nodes:
        parts.append(f"{need.nodes} nodes > {node.nodes}")
    if node.time_limit is not None and need.runtime > node.time_limit:
        parts.append(f"runtime {need.runtime:.0f} s > the {node.time_limit:.0f} s left")
    return ", ".join(parts)


def _check_offer(offer: ComputeNodesResources) -> None:
    for field in ("num_cpus", "num_gpus", "num_nodes"):
        if getattr(offer, field) < 0:
            raise InvalidInput(f"{field} must be >= 0, got {getattr(offer, field)}")
    if offer.memory_gb < 0:
        raise InvalidInput(f"memory_gb must be >= 0, got {offer.memory_gb}")


def _free(offer: ComputeNodesResources, time_limit: float | None) -> _Free:
    return _Free(
        offer.num_cpus, offer.num_gpus, offer.num_nodes, float(offer.memory_gb) * GIB, time_limit
    )


def _pick(
    conn: sqlite3.Connection,
    workflow_id: int,
    limit: int,
    budget: tuple[ComputeNodesResources, float | None],
    node: _Free | None,
    needs: dict[int | None, _Need],
    scheduler: int | None,
    any_sched: bool = False,
) -> list[int]:
    free = _free(*budget)  # taken from as jobs are chosen
    fitting = {
        rr for rr, need in needs.items() if free.fits(need) and (node is None or node.fits(need))
    }
    chosen: list[int] = []
    # The first `limit` ready jobs of each requirement that fits hold every job the greedy walk
    # in claim order can take (it takes at most `limit`): one index seek per requirement.
    params = {"wf": workflow_id, "any": any_sched, "sched": scheduler, "limit": limit}
    candidates = sorted(
        (-priority, job_id, rr)
        for rr in fitting
        for job_id, priority in conn.execute(_READY_OF_CLASS, {**params, "rr": rr})
    )
    for _, job_id, rr in candidates:
        if rr not in fitting:
            continue
        need = needs[rr]
        chosen.append(job_id)
        free.take(need)
        if len(chosen) >= limit:
            break
        if not free.fits(need):
            fitting = {r for r in fitting if free.fits(needs[r])}
            if not fitting:
                break
    return chosen


_RELEASE = """
UPDATE job SET status = :ready, claimed_by = NULL
 WHERE id IN (SELECT value FROM json_each(:ids)) AND workflow_id = :wf
   AND status = :pending AND claimed_by = :node
RETURNING id
"""


def release(
    conn: sqlite3.Connection, workflow_id: int, compute_node_id: int, job_ids: list[int]
) -> tuple[list[int], list[dict[str, Any]]]:
    """Make jobs that `compute_node_id` claimed and never started ready again.

    Only a job still pending under that node's claim is released, so a repeated release, or a
    late one for a job that another runner has claimed since, changes nothing; each such job
    gets an error saying why. Returns (released ids in request order, errors).
    """
    if not job_ids:
        return [], []
    params = {
        "ids": dumps(job_ids),
        "wf": workflow_id,
        "node": compute_node_id,
        "ready": JobStatus.READY.code,
        "pending": JobStatus.PENDING.code,
    }
    done = {row[0] for row in conn.execute(_RELEASE, params)}
    released = [job_id for job_id in dict.fromkeys(job_ids) if job_id in done]
    errors = [
        {"job_id": job_id, "message": _why_not_released(conn, workflow_id, compute_node_id, job_id)}
        for job_id in dict.fromkeys(job_ids)
        if job_id not in done
    ]
    if released:
        events.record(
            conn,
            workflow_id,
            "jobs_released",
            f"compute node {compute_node_id} handed back {len(released)} claimed jobs",
            compute_node_id=compute_node_id,
            job_ids=released,
        )
    return released, errors


def _why_not_released(conn: sqlite3.Connection, workflow_id: int, node: int, job_id: int) -> str:
    row = conn.execute(
        "SELECT workflow_id, status, claimed_by FROM job WHERE id = ?", (job_id,)
    ).fetchone()
    if row is None or row[0] != workflow_id:
        return f"job {job_id} is not in workflow {workflow_id}"
    status = JobStatus.from_code(row[1])
    if status != JobStatus.PENDING:
        return f"job {job_id} is {status.value}, not pending, and cannot be released"
    return f"job {job_id} is not claimed by compute node {node} and cannot be released"
