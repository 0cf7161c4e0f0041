"""initialize_jobs as begin, chunks and finish: derive dependencies, refuse cycles, block or
ready jobs, hash inputs.

A big workflow is initialized in chunks of job ids, each its own write transaction (the route
runs begin, the chunks and finish through the writer's queue), so other workflows' writes go
in between; while it is under way the workflow is marked (migration 0010) and none of its jobs
is claimed, so no job runs before every chunk has counted its blockers."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Any

from pytorc.errors import InvalidInput
from pytorc.server.db import events, jobs, status_counts, workflows
from pytorc.server.db.common import dumps, require
from pytorc.server.services import lifecycle
from pytorc.vocabulary import DONE, HELD, JobStatus, codes

_DONE_CODES = codes(*DONE)
_HELD = codes(*HELD)
_UNINITIALIZED = JobStatus.UNINITIALIZED.code
_WAITING = codes(JobStatus.BLOCKED, JobStatus.READY)
_BLOCKED, _READY = JobStatus.BLOCKED.code, JobStatus.READY.code

_FILE_EDGES = """
INSERT OR IGNORE INTO job_depends_on (job_id, depends_on_job_id, workflow_id)
SELECT i.job_id, o.job_id, i.workflow_id FROM job_input_file i
  JOIN job_output_file o ON o.file_id = i.file_id
 WHERE i.workflow_id = :wf AND i.job_id != o.job_id
"""
_USER_DATA_EDGES = """
INSERT OR IGNORE INTO job_depends_on (job_id, depends_on_job_id, workflow_id)
SELECT i.job_id, o.job_id, i.workflow_id FROM job_input_user_data i
  JOIN job_output_user_data o ON o.user_data_id = i.user_data_id
 WHERE i.workflow_id = :wf AND i.job_id != o.job_id
"""
_DOWNSTREAM_OF_UNINITIALIZED = f"""
WITH RECURSIVE down(id) AS (
    SELECT id FROM job WHERE workflow_id = :wf AND status = {_UNINITIALIZED}
    UNION
    SELECT d.job_id FROM job_depends_on d JOIN down ON d.depends_on_job_id = down.id
)
UPDATE job SET status = {_UNINITIALIZED} WHERE id IN (SELECT id FROM down)
   AND status NOT IN ({_HELD}, {JobStatus.DISABLED.code})
"""

_CYCLE_CANDIDATES = """
SELECT d.job_id, d.depends_on_job_id FROM job_depends_on d
 WHERE d.workflow_id = ?
   AND EXISTS (SELECT 1 FROM job_depends_on up WHERE up.job_id = d.depends_on_job_id)
   AND EXISTS (SELECT 1 FROM job_depends_on down WHERE down.depends_on_job_id = d.job_id)
"""


def check_acyclic(conn: sqlite3.Connection, workflow_id: int) -> None:
    """Refuse a dependency cycle, naming some jobs on it (Kahn's algorithm).

    Only edges whose upstream job waits for something and whose downstream job is waited for
    can be on a cycle; the rest (a fan-in over a million sweep jobs, say) are never read."""
    indegree: dict[int, int] = defaultdict(int)
    children: dict[int, list[int]] = defaultdict(list)
    nodes: set[int] = set()
    for job_id, upstream in conn.execute(_CYCLE_CANDIDATES, (workflow_id,)):
        children[upstream].append(job_id)
        indegree[job_id] += 1
        nodes.update((job_id, upstream))
    queue = deque(n for n in nodes if indegree[n] == 0)
    seen = 0
    while queue:
        node = queue.popleft()
        seen += 1
        for child in children[node]:
            indegree[child] -= 1
            if indegree[child] == 0:
                queue.append(child)
    if seen < len(nodes):
        stuck = sorted(n for n in nodes if indegree[n] > 0)[:10]
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM job WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id",
                (dumps(stuck),),
            )
        ]
        raise InvalidInput(f"dependency cycle among jobs: {', '.join(names)}")


@dataclass
class Plan:
    """An initialization under way: what begin() found, for the chunks and finish()."""

    workflow_id: int
    only_uninitialized: bool
    chunks: list[tuple[int, int]]  # (first, last) job ids; other writes go between two
    changed: int = 0
    run_id: int | None = None  # the run begin() started (start_run)
    answer: dict[str, Any] | None = None  # start_run found it started: the whole answer

    @property
    def target(self) -> str:
        """The jobs this initialization changes, as a condition on `status`."""
        if self.only_uninitialized:
            return f"status = {_UNINITIALIZED}"
        return f"status NOT IN ({_DONE_CODES}, {_HELD})"


def begin(
    conn: sqlite3.Connection,
    workflow_id: int,
    only_uninitialized: bool,
    chunk_jobs: int,
    start_run: bool = False,
) -> Plan:
    """Derive the edges files and user data imply, refuse a cycle, and mark the workflow as
    being initialized: none of its jobs is claimed until finish() (migration 0010).

    Finished, disabled and active (pending/running) jobs keep their status. With
    `only_uninitialized`, jobs downstream of uninitialized ones are first made uninitialized too,
    and only uninitialized jobs change. `start_run`: only a workflow that never started is
    initialized, and its run is started in this same transaction; two `torc run ID` starting
    together so initialize it once (the second waits for the mark, then finds it started)."""
    wf = require(conn, "workflow", workflow_id)
    workflows.refuse_if_creating(conn, workflow_id)
    workflows.refuse_if_initializing(conn, workflow_id)
    run_id = None
    if start_run:
        # a dead mark (an initialization cut short) is taken over: its jobs are still held back
        if not workflows.is_initializing(conn, workflow_id) and not workflows.is_uninitialized(
            conn, workflow_id
        ):
            answer = _already_started(conn, workflow_id, int(wf["run_id"]))
            return Plan(workflow_id, False, [], answer=answer)
        run_id = int(lifecycle.reset_status(conn, workflow_id, force=False)["run_id"])
    workflows.mark_initializing(conn, workflow_id)
    params = {"wf": workflow_id}
    conn.execute(_FILE_EDGES, params)
    conn.execute(_USER_DATA_EDGES, params)
    check_acyclic(conn, workflow_id)
    if only_uninitialized:
        conn.execute(_DOWNSTREAM_OF_UNINITIALIZED, params)
    chunks = workflows.job_id_chunks(conn, workflow_id, chunk_jobs)
    return Plan(workflow_id, only_uninitialized, chunks, run_id=run_id)


def _already_started(conn: sqlite3.Connection, workflow_id: int, run_id: int) -> dict[str, Any]:
    counts = _waiting_counts(conn, workflow_id)
    return {
        "workflow_id": workflow_id,
        "initialized_jobs": 0,
        "ready": counts.get(JobStatus.READY.code, 0),
        "blocked": counts.get(JobStatus.BLOCKED.code, 0),
        "run_id": run_id,
        "already_initialized": True,
        "message": f"workflow {workflow_id} had already started (run {run_id}); nothing changed",
    }


def _waiting_counts(conn: sqlite3.Connection, workflow_id: int) -> dict[int, int]:
    return dict(
        conn.execute(
            "SELECT status, n FROM job_status_count"
            f" WHERE workflow_id = ? AND status IN ({_WAITING})",
            (workflow_id,),
        ).fetchall()
    )


def initialize_chunk(conn: sqlite3.Connection, plan: Plan, first: int, last: int) -> None:
    """Block or ready the target jobs with ids first..last; a workflow deleted meanwhile is
    NotFound."""
    require(conn, "workflow", plan.workflow_id)
    params = {"wf": plan.workflow_id, "first": first, "last": last}
    plan.changed += _block_or_ready(conn, params, plan.target)


def finish(conn: sqlite3.Connection, plan: Plan) -> dict[str, Any]:
    """Clear stale results and actions, record the event, lift the mark; the summary."""
    workflow_id = plan.workflow_id
    require(conn, "workflow", workflow_id)
    params = {"wf": workflow_id}
    conn.execute(
        # from the results (few, or none on a first run), not from the jobs (maybe a million)
        "DELETE FROM workflow_result WHERE workflow_id = :wf AND"
        f" (SELECT status FROM job WHERE job.id = workflow_result.job_id) NOT IN ({_DONE_CODES})",
        params,
    )
    conn.execute(
        "UPDATE workflow_action SET executed = 0, executed_at = NULL, executed_by = NULL,"
        " trigger_count = 0 WHERE workflow_id = ?",
        (workflow_id,),
    )
    workflows.unmark_initializing(conn, workflow_id)
    counts = _waiting_counts(conn, workflow_id)
    category = "workflow_reinitialized" if plan.only_uninitialized else "workflow_started"
    events.record(conn, workflow_id, category, f"initialized {plan.changed} jobs")
    summary = {
        "workflow_id": workflow_id,
        "initialized_jobs": plan.changed,
        "ready": counts.get(JobStatus.READY.code, 0),
        "blocked": counts.get(JobStatus.BLOCKED.code, 0),
        "message": f"initialized {plan.changed} jobs",
    }
    if plan.run_id is not None:
        summary["run_id"] = plan.run_id
    return summary


def _block_or_ready(conn: sqlite3.Connection, params: dict[str, Any], target: str) -> int:
    """Count each target job's unfinished upstream jobs, block or ready it and store its input
    hash, rewriting each row once; how many changed. `params`: wf and the ids first..last.

    Three passes (count, status, hashes), each rewriting every row, made initializing a
    million jobs ~3x slower."""
    wf = params["wf"]
    targets = [
        r[0]
        for r in conn.execute(
            f"SELECT id FROM job WHERE id BETWEEN :first AND :last AND +workflow_id = :wf"
            f" AND {target} AND id IN ({_WITH_FILES_OR_DATA})",
            params,
        )
    ]
    hashes = input_hashes(conn, wf, targets) if targets else {}
    sha256, text, middle, end = hashlib.sha256, _string, _UPSTREAM_MIDDLE, _PLAIN_END

    def hash_of(job_id: int, command: str, script: str | None, upstream: str | None) -> str:
        # _hash_text for a job without files or user data, written inline: this runs once per
        # job, a million times for a big sweep (a test holds the two to the same hashes)
        found = hashes.get(job_id)
        if found is not None:
            return found
        quoted = "null" if script is None else text(script)
        document = f'{{"command":{text(command)},"depends_on_job_ids":[{upstream or ""}]'
        return sha256(f"{document}{middle}{quoted}{end}".encode()).hexdigest()

    conn.create_function("torc_input_hash", 4, hash_of)
    with status_counts.range_status_change(conn, wf, params["first"], params["last"]):
        return _set_status_and_hash(conn, params, target)


def _set_status_and_hash(conn: sqlite3.Connection, params: dict[str, Any], target: str) -> int:
    """Two UPDATEs that each touch a target job once: the jobs without upstream jobs become
    ready; the others count their unfinished upstream jobs in one grouped pass (a correlated
    count, written twice for num_blocking and status, cost ~40% more at 1M jobs). Both read
    the chunk's id range (`+workflow_id`: not every job of the workflow through its index)."""
    hashed = "input_hash = torc_input_hash(job.id, job.command, job.invocation_script, {})"
    free = conn.execute(
        f"""
        UPDATE job SET num_blocking = 0, status = {_READY}, compute_node_id = NULL,
                       start_time = NULL, {hashed.format("NULL")}
         WHERE id BETWEEN :first AND :last AND +workflow_id = :wf AND {target}
           AND NOT EXISTS (SELECT 1 FROM job_depends_on d WHERE d.job_id = job.id)
        """,
        params,
    ).rowcount
    waiting = conn.execute(
        f"""
        UPDATE job SET num_blocking = b.n,
                       status = CASE WHEN b.n > 0 THEN {_BLOCKED} ELSE {_READY} END,
                       compute_node_id = NULL, start_time = NULL,
                       {hashed.format("b.upstream")}
          FROM (SELECT e.job_id AS id, group_concat(e.upstream) AS upstream,
                       count(*) FILTER (WHERE e.unfinished) AS n
                  FROM (SELECT d.job_id, d.depends_on_job_id AS upstream,
                               u.status NOT IN ({_DONE_CODES}) AS unfinished
                          FROM job_depends_on d JOIN job u ON u.id = d.depends_on_job_id
                         WHERE d.job_id BETWEEN :first AND :last AND +d.workflow_id = :wf
                         ORDER BY d.job_id, d.depends_on_job_id) AS e
                 GROUP BY e.job_id) AS b
         WHERE job.id = b.id AND job.workflow_id = :wf AND job.{target}
        """,
        params,
    ).rowcount
    return int(free) + int(waiting)


_WITH_RELATIONS = " UNION ".join(
    f"SELECT job_id FROM {table} WHERE workflow_id = :wf" for table, _ in jobs.RELATIONS.values()
)
"""The workflow's jobs that have any relation of their own (upstream jobs, files, data)."""
_WITH_FILES_OR_DATA = " UNION ".join(
    f"SELECT job_id FROM {table} WHERE job_id BETWEEN :first AND :last AND +workflow_id = :wf"
    for field, (table, _) in jobs.RELATIONS.items()
    if field != "depends_on_job_ids"
)


def _with_relations(conn: sqlite3.Connection, workflow_id: int) -> set[int]:
    return {r[0] for r in conn.execute(_WITH_RELATIONS, {"wf": workflow_id})}


def input_hashes(
    conn: sqlite3.Connection, workflow_id: int, job_ids: list[int] | None = None
) -> dict[int, str]:
    """SHA-256 of what defines each job's work: command, script, edges, input user data."""
    if job_ids is None:
        rows = conn.execute(
            "SELECT id, command, invocation_script FROM job WHERE workflow_id = ?", (workflow_id,)
        ).fetchall()
    else:
        rows = conn.execute(
            "SELECT id, command, invocation_script FROM job"
            " WHERE id IN (SELECT value FROM json_each(?))",
            (dumps(job_ids),),
        ).fetchall()
    related = _with_relations(conn, workflow_id)
    rels = jobs.relations_of(conn, [r["id"] for r in rows if r["id"] in related])
    ud_data = dict(
        conn.execute(
            "SELECT id, data FROM user_data WHERE workflow_id = ?", (workflow_id,)
        ).fetchall()
    )
    out = {}
    for row in rows:
        job_id = row["id"]
        if job_id not in related:
            out[job_id] = _plain_hash(row["command"], row["invocation_script"])
            continue
        text = _hash_text(
            row["command"],
            row["invocation_script"],
            {field: rels[field].get(job_id, []) for field in jobs.RELATIONS},
            ud_data,
        )
        out[job_id] = hashlib.sha256(text.encode()).hexdigest()
    return out


_UPSTREAM_MIDDLE = (
    ',"input_file_ids":[],"input_user_data_contents":[],"input_user_data_ids":[],'
    '"invocation_script":'
)
_PLAIN_MIDDLE = ',"depends_on_job_ids":[]' + _UPSTREAM_MIDDLE
_PLAIN_END = ',"output_file_ids":[],"output_user_data_ids":[]}'


def _plain_hash(command: str, script: str | None) -> str:
    """input_hashes of a job without relations (most jobs of a big sweep): _hash_text's
    document with every list empty, written out directly (a test holds it to _hash_text)."""
    text = "".join(
        (
            '{"command":',
            _string(command),
            _PLAIN_MIDDLE,
            "null" if script is None else _string(script),
            _PLAIN_END,
        )
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _hash_text(
    command: str,
    script: str | None,
    relations: dict[str, list[int]],
    ud_data: dict[int, Any],
) -> str:
    """The job's defining document as sorted-key, compact JSON, written out directly.

    It equals json.dumps(doc, sort_keys=True, separators=(",", ":")) (a test holds it to
    that), at a fifth of the cost: json.dumps builds a new encoder per call, which was most of
    initializing a big workflow.
    """

    def ids(field: str) -> str:
        return "[" + ",".join(map(str, relations[field])) + "]"

    contents = [{"id": ud, "data": ud_data.get(ud)} for ud in relations["input_user_data_ids"]]
    return "".join(
        (
            '{"command":',
            _string(command),
            ',"depends_on_job_ids":',
            ids("depends_on_job_ids"),
            ',"input_file_ids":',
            ids("input_file_ids"),
            ',"input_user_data_contents":',
            json.dumps(contents, sort_keys=True, separators=(",", ":")) if contents else "[]",
            ',"input_user_data_ids":',
            ids("input_user_data_ids"),
            ',"invocation_script":',
            "null" if script is None else _string(script),
            ',"output_file_ids":',
            ids("output_file_ids"),
            ',"output_user_data_ids":',
            ids("output_user_data_ids"),
            "}",
        )
    )


_string = json.encoder.encode_basestring_ascii


def process_changed_job_inputs(
    conn: sqlite3.Connection, workflow_id: int, dry_run: bool
) -> list[str]:
    """Names of jobs whose inputs changed since their hash was stored; they become uninitialized."""
    require(conn, "workflow", workflow_id)
    if not dry_run:
        workflows.refuse_if_initializing(conn, workflow_id)
    stored = dict(
        conn.execute(
            "SELECT id, input_hash FROM job WHERE workflow_id = ? AND input_hash IS NOT NULL",
            (workflow_id,),
        ).fetchall()
    )
    current = input_hashes(conn, workflow_id, list(stored))
    changed = sorted(j for j, h in current.items() if stored.get(j) != h)
    if not changed:
        return []
    names = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM job WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id",
            (dumps(changed),),
        )
    ]
    if not dry_run:
        conn.execute(
            f"UPDATE job SET status = {_UNINITIALIZED} WHERE id IN (SELECT value FROM json_each(?))"
            f" AND status NOT IN ({_HELD})",
            (dumps(changed),),
        )
        conn.executemany(
            "UPDATE job SET input_hash = ? WHERE id = ?", [(current[j], j) for j in changed]
        )
    return names
