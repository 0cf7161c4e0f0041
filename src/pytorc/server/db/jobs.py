"""SQL for jobs and their relation tables (dependencies, input/output files and user data)."""

from __future__ import annotations

import sqlite3
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from pytorc.errors import InvalidInput
from pytorc.models import JobModel
from pytorc.server.db import status_counts
from pytorc.server.db.common import JsonTexts, Row, dumps, loads, next_ids, page, require
from pytorc.vocabulary import HELD, JobStatus, codes

SORTABLE = ("name", "status", "priority", "command", "attempt_id", "resource_requirements_id")

# relation field -> (table, column holding the other id)
RELATIONS: dict[str, tuple[str, str]] = {
    "depends_on_job_ids": ("job_depends_on", "depends_on_job_id"),
    "input_file_ids": ("job_input_file", "file_id"),
    "output_file_ids": ("job_output_file", "file_id"),
    "input_user_data_ids": ("job_input_user_data", "user_data_id"),
    "output_user_data_ids": ("job_output_user_data", "user_data_id"),
}
_ON_NODE = f"job.compute_node_id = :node AND job.status IN ({codes(*HELD)})"
_TARGET_TABLE = {
    "depends_on_job_ids": ("job", "job"),
    "input_file_ids": ("file", "file"),
    "output_file_ids": ("file", "file"),
    "input_user_data_ids": ("user_data", "user data"),
    "output_user_data_ids": ("user_data", "user data"),
}


def _bool(column: str) -> str:
    return f"json(CASE WHEN {column} THEN 'true' ELSE 'false' END)"


_STATUS_NAME = " ".join(f"WHEN {s.code} THEN '{s.value}'" for s in JobStatus)
# The same record as to_dict, built by SQLite as JSON text: a page of 10,000 jobs costs a
# fraction of making and encoding 10,000 dicts (see benchmarks/paging.py).
JSON_ITEM = f"""json_object(
    'id', job.id, 'workflow_id', job.workflow_id, 'name', job.name, 'command', job.command,
    'status', CASE job.status {_STATUS_NAME} END,
    'invocation_script', job.invocation_script,
    'cancel_on_blocking_job_failure', {_bool("job.cancel_on_blocking_job_failure")},
    'supports_termination', {_bool("job.supports_termination")},
    'resource_requirements_id', job.resource_requirements_id,
    'scheduler_id', job.scheduler_id, 'failure_handler_id', job.failure_handler_id,
    'attempt_id', job.attempt_id,
    'schedule_compute_nodes', json(job.schedule_compute_nodes),
    'priority', job.priority, 'env', json(job.env), 'origin', job.origin,
    'compute_node_id', job.compute_node_id, 'start_time', job.start_time)"""


def to_dict(row: Row) -> dict[str, Any]:
    """The wire form of a job row, without relation lists (see with_relations)."""
    return {
        "id": row["id"],
        "workflow_id": row["workflow_id"],
        "name": row["name"],
        "command": row["command"],
        "status": JobStatus.from_code(row["status"]).value,
        "invocation_script": row["invocation_script"],
        "cancel_on_blocking_job_failure": bool(row["cancel_on_blocking_job_failure"]),
        "supports_termination": bool(row["supports_termination"]),
        "resource_requirements_id": row["resource_requirements_id"],
        "scheduler_id": row["scheduler_id"],
        "failure_handler_id": row["failure_handler_id"],
        "attempt_id": row["attempt_id"],
        "schedule_compute_nodes": loads(row["schedule_compute_nodes"]),
        "priority": row["priority"],
        "env": loads(row["env"]),
        "origin": row["origin"],
        "compute_node_id": row["compute_node_id"],
        "start_time": row["start_time"],
    }


def relations_of(
    conn: sqlite3.Connection, job_ids: Sequence[int], fields: Iterable[str] = RELATIONS
) -> dict[str, dict[int, list[int]]]:
    """For each relation field, job id -> sorted ids, all fetched in one query."""
    fields = list(fields)
    out: dict[str, dict[int, list[int]]] = {field: defaultdict(list) for field in fields}
    if not fields or not job_ids:
        return out
    parts = []
    for i, field in enumerate(fields):
        table, column = RELATIONS[field]
        parts.append(
            f"SELECT {i}, job_id, {column} FROM {table}"
            " WHERE job_id IN (SELECT value FROM json_each(:ids))"
        )
    query = " UNION ALL ".join(parts) + " ORDER BY 1, 2, 3"
    for i, job_id, other in conn.execute(query, {"ids": dumps(list(job_ids))}):
        out[fields[i]][job_id].append(other)
    return out


def with_relations(
    conn: sqlite3.Connection, rows: Sequence[Row], fields: Iterable[str] = RELATIONS
) -> list[dict[str, Any]]:
    fields = list(fields)
    rels = relations_of(conn, [r["id"] for r in rows], fields)
    items = []
    for row in rows:
        item = to_dict(row)
        for field in fields:
            item[field] = rels[field].get(row["id"], [])
        items.append(item)
    return items


def get(conn: sqlite3.Connection, id: int) -> dict[str, Any]:
    return with_relations(conn, [require(conn, "job", id)])[0]


# --- creation -----------------------------------------------------------------------------

# The status counts' share of an insert (migration 0007 keeps the rest by triggers).


_INSERT = """
INSERT INTO job (id, workflow_id, name, command, status, invocation_script,
                 cancel_on_blocking_job_failure, supports_termination, resource_requirements_id,
                 scheduler_id, failure_handler_id, attempt_id, schedule_compute_nodes, priority,
                 env, origin)
VALUES (:id, :workflow_id, :name, :command, 0, :invocation_script, :cancel_on_blocking_job_failure,
        :supports_termination, :resource_requirements_id, :scheduler_id, :failure_handler_id,
        :attempt_id, :schedule_compute_nodes, :priority, :env, :origin)
"""


def _check_refs(
    conn: sqlite3.Connection, workflow_id: int, table: str, kind: str, ids: set[int]
) -> None:
    """Every id must name a row of `table` in this workflow."""
    if not ids:
        return
    found = dict(
        conn.execute(
            f"SELECT id, workflow_id FROM {table} WHERE id IN (SELECT value FROM json_each(?))",
            (dumps(sorted(ids)),),
        ).fetchall()
    )
    for id in sorted(ids):
        if id not in found:
            raise InvalidInput(f"{kind} {id} does not exist")
        if found[id] != workflow_id:
            raise InvalidInput(f"{kind} {id} belongs to workflow {found[id]}, not {workflow_id}")


def default_rr_id(conn: sqlite3.Connection, workflow_id: int) -> int | None:
    row = conn.execute(
        "SELECT id FROM resource_requirements WHERE workflow_id = ? AND name = 'default'"
        " ORDER BY id LIMIT 1",
        (workflow_id,),
    ).fetchone()
    return None if row is None else int(row[0])


def _resolve_names(
    conn: sqlite3.Connection, jobs: Sequence[JobModel], ids: list[int]
) -> list[list[int]]:
    """Each job's depends_on_job_names as job ids (pytorc extension to job creation).

    A name means a job of the same workflow: one created in the same request, else one that
    already exists. A name that matches nothing, or more than one job, is refused.
    """
    wanted = [job.depends_on_job_names or [] for job in jobs]
    if not any(wanted):
        return [[] for _ in jobs]
    in_batch: dict[tuple[int, str], list[int]] = defaultdict(list)
    for job, job_id in zip(jobs, ids, strict=True):
        in_batch[(job.workflow_id, job.name)].append(job_id)
    missing = {(job.workflow_id, n) for job, names in zip(jobs, wanted, strict=True) for n in names}
    missing -= in_batch.keys()
    existing: dict[tuple[int, str], list[int]] = defaultdict(list)
    by_wf: dict[int, list[str]] = defaultdict(list)
    for wf, name in missing:
        by_wf[wf].append(name)
    for wf, names in by_wf.items():
        for job_id, name in conn.execute(
            "SELECT id, name FROM job WHERE workflow_id = ? AND id < ?"
            " AND name IN (SELECT value FROM json_each(?))",
            (wf, ids[0], dumps(names)),
        ):
            existing[(wf, name)].append(job_id)
    out = []
    for job, names in zip(jobs, wanted, strict=True):
        resolved = []
        for name in names:
            found = in_batch.get((job.workflow_id, name)) or existing.get((job.workflow_id, name))
            if not found:
                raise InvalidInput(
                    f"job {job.name!r} depends on job {name!r}, which does not exist"
                    f" in workflow {job.workflow_id}"
                )
            if len(found) > 1:
                raise InvalidInput(
                    f"job {job.name!r} depends on job {name!r}, but {len(found)} jobs in"
                    f" workflow {job.workflow_id} have that name; use depends_on_job_ids"
                )
            resolved.append(found[0])
        out.append(resolved)
    return out


def create_many(conn: sqlite3.Connection, jobs: Sequence[JobModel]) -> list[dict[str, Any]]:
    """Insert jobs (status uninitialized) and their relations; the new records, in order."""
    rows: list[dict[str, Any]] = []
    relations: dict[str, list[list[int]]] = {}
    _insert(conn, jobs, rows, relations)
    uninitialized = JobStatus.UNINITIALIZED.value
    out = []
    for i, (job, params) in enumerate(zip(jobs, rows, strict=True)):
        item = {
            **params,
            "status": uninitialized,
            "cancel_on_blocking_job_failure": bool(params["cancel_on_blocking_job_failure"]),
            "supports_termination": bool(params["supports_termination"]),
            "schedule_compute_nodes": loads(params["schedule_compute_nodes"]),
            "env": job.env,
            "compute_node_id": None,
            "start_time": None,
        }
        for field in RELATIONS:
            item[field] = relations[field][i]
        out.append(item)
    return out


def insert_many(conn: sqlite3.Connection, jobs: Sequence[JobModel]) -> list[int]:
    """create_many without the records: the new ids, in order (bulk_jobs?brief=true)."""
    return [int(row["id"]) for row in _insert(conn, jobs, [], {})]


def _insert(
    conn: sqlite3.Connection,
    jobs: Sequence[JobModel],
    rows: list[dict[str, Any]],
    relations: dict[str, list[list[int]]],
) -> list[dict[str, Any]]:
    """Insert the jobs and their relations, all references checked first; fills `rows` (the
    inserted values) and `relations` (field -> sorted ids per job), and returns `rows`.

    Set-wise: one INSERT per table for the whole batch. Ids are assigned here, consecutively,
    which is safe because the caller holds the only write transaction.
    """
    if not jobs:
        return rows
    defaults = check_references(conn, jobs)
    first = next_ids(conn, "job", len(jobs))
    job_ids = list(range(first, first + len(jobs)))
    by_name = _resolve_names(conn, jobs, job_ids)
    rows += [
        insert_params(job, job_id, defaults) for job, job_id in zip(jobs, job_ids, strict=True)
    ]
    conn.executemany(_INSERT, rows)
    for wf, n in Counter(job.workflow_id for job in jobs).items():
        conn.execute(status_counts.COUNT_NEW, (wf, n))
    relations.update(_insert_relations(conn, jobs, job_ids, by_name))
    return rows


def check_references(conn: sqlite3.Connection, jobs: Sequence[JobModel]) -> dict[int, int | None]:
    """Refuse a job naming a workflow, record or upstream job that does not exist, or belongs
    to another workflow; each workflow's default resource requirements id."""
    defaults: dict[int, int | None] = {}
    for wf, wanted in _references(jobs).items():
        require(conn, "workflow", wf)
        defaults[wf] = default_rr_id(conn, wf)
        for (table, kind), ids in wanted.items():
            _check_refs(conn, wf, table, kind, ids)
    return defaults


_REF_FIELDS = {
    **_TARGET_TABLE,
    "resource_requirements_id": ("resource_requirements", "resource requirements"),
    "scheduler_id": ("slurm_scheduler", "slurm scheduler"),
    "failure_handler_id": ("failure_handler", "failure handler"),
}


def _insert_relations(
    conn: sqlite3.Connection,
    jobs: Sequence[JobModel],
    job_ids: list[int],
    by_name: list[list[int]],
) -> dict[str, list[list[int]]]:
    """Insert the batch's relation rows; returns field -> one sorted id list per job."""
    # field -> one sorted id list per job; most jobs have none, so empty lists are skipped
    relations: dict[str, list[list[int]]] = {}
    for field in RELATIONS:
        values = [getattr(job, field) for job in jobs]
        relations[field] = [sorted(set(v)) if v else [] for v in values]
    if any(by_name):
        relations["depends_on_job_ids"] = [
            sorted(set(ids) | set(named)) if named else ids
            for ids, named in zip(relations["depends_on_job_ids"], by_name, strict=True)
        ]
    for field, (table, column) in RELATIONS.items():
        edges = [
            (job_id, other, job.workflow_id)
            for job, job_id, others in zip(jobs, job_ids, relations[field], strict=True)
            if others
            for other in others
        ]
        if field == "depends_on_job_ids":
            for job_id, other, _ in edges:
                if job_id == other:
                    raise InvalidInput(f"job {job_id} cannot depend on itself")
        if edges:
            conn.executemany(
                f"INSERT INTO {table} (job_id, {column}, workflow_id) VALUES (?, ?, ?)", edges
            )
    return relations


def _references(jobs: Sequence[JobModel]) -> dict[int, dict[tuple[str, str], set[int]]]:
    """workflow -> (table, kind) -> ids the jobs refer to there, gathered in one pass.

    Jobs in the batch refer to each other only by name (ids are assigned here), so job ids
    named in depends_on_job_ids must already exist.
    """
    out: dict[int, dict[tuple[str, str], set[int]]] = {}
    for job in jobs:
        wanted = out.get(job.workflow_id)
        if wanted is None:
            wanted = out[job.workflow_id] = defaultdict(set)
        for field, target in _REF_FIELDS.items():
            value = getattr(job, field)
            if value is None or value == []:
                continue
            if isinstance(value, list):
                wanted[target].update(value)
            else:
                wanted[target].add(value)
    return out


def insert_params(job: JobModel, job_id: int, default_rr: dict[int, int | None]) -> dict[str, Any]:
    """The job table's columns for a new job (`_INSERT`'s parameters)."""
    return {
        "id": job_id,
        "workflow_id": job.workflow_id,
        "name": job.name,
        "command": job.command,
        "invocation_script": job.invocation_script,
        "cancel_on_blocking_job_failure": 1
        if job.cancel_on_blocking_job_failure is None
        else int(job.cancel_on_blocking_job_failure),
        "supports_termination": int(bool(job.supports_termination)),
        "resource_requirements_id": job.resource_requirements_id or default_rr[job.workflow_id],
        "scheduler_id": job.scheduler_id,
        "failure_handler_id": job.failure_handler_id,
        "attempt_id": job.attempt_id or 1,
        "schedule_compute_nodes": dumps(
            job.schedule_compute_nodes.model_dump(exclude_none=True)
            if job.schedule_compute_nodes
            else None
        ),
        "priority": job.priority or 0,
        "env": dumps(job.env),
        "origin": job.origin,
    }


def replace_relations(
    conn: sqlite3.Connection, job_id: int, workflow_id: int, job: JobModel
) -> None:
    """Replace the relation lists the model sets (an update); creation writes them set-wise."""
    for field, (table, column) in RELATIONS.items():
        ids = getattr(job, field)
        if ids is None:
            continue
        conn.execute(f"DELETE FROM {table} WHERE job_id = ?", (job_id,))
        if job_id in ids and field == "depends_on_job_ids":
            raise InvalidInput(f"job {job_id} cannot depend on itself")
        conn.executemany(
            f"INSERT OR IGNORE INTO {table} (job_id, {column}, workflow_id) VALUES (?, ?, ?)",
            [(job_id, other, workflow_id) for other in set(ids)],
        )


# --- updates ------------------------------------------------------------------------------

_UPDATABLE = (
    "name",
    "command",
    "invocation_script",
    "resource_requirements_id",
    "scheduler_id",
    "failure_handler_id",
    "priority",
    "cancel_on_blocking_job_failure",
    "supports_termination",
)


def update(conn: sqlite3.Connection, id: int, job: JobModel) -> dict[str, Any]:
    """Edit a job not yet initialized; its status changes only through the state machine."""
    row = require(conn, "job", id)
    current = JobStatus.from_code(row["status"])
    if job.status is not None and job.status != current:
        raise InvalidInput(
            f"job {id} is {current.value}; a status change goes through manage_status_change,"
            " complete_job or the workflow's initialize/reset endpoints"
        )
    if current != JobStatus.UNINITIALIZED:
        raise InvalidInput(f"job {id} is {current.value}; only uninitialized jobs can be updated")
    wf = row["workflow_id"]
    if job.workflow_id != wf:
        raise InvalidInput(f"job {id} belongs to workflow {wf}, not {job.workflow_id}")
    if job.depends_on_job_names:
        raise InvalidInput(
            "depends_on_job_names is accepted on creation only; use depends_on_job_ids"
        )
    job_for_check = job.model_copy(update={"depends_on_job_ids": None})
    for field, (table, kind) in _TARGET_TABLE.items():
        ids = set(getattr(job_for_check, field) or [])
        _check_refs(conn, wf, table, kind, ids)
    if job.depends_on_job_ids:
        _check_refs(conn, wf, "job", "job", set(job.depends_on_job_ids))
    if job.resource_requirements_id is not None:
        _check_refs(
            conn,
            wf,
            "resource_requirements",
            "resource requirements",
            {job.resource_requirements_id},
        )
    values: dict[str, Any] = {}
    for col in _UPDATABLE:
        if col in job.model_fields_set or col in ("name", "command"):
            value = getattr(job, col)
            if (
                col in ("cancel_on_blocking_job_failure", "supports_termination")
                and value is not None
            ):
                value = int(value)
            if value is None and col in (
                "priority",
                "cancel_on_blocking_job_failure",
                "supports_termination",
                "resource_requirements_id",
            ):
                continue
            values[col] = value
    for col in ("env", "schedule_compute_nodes"):
        if col in job.model_fields_set:
            value = getattr(job, col)
            values[col] = dumps(
                value.model_dump(exclude_none=True) if hasattr(value, "model_dump") else value
            )
    assignments = ", ".join(f"{c} = :{c}" for c in values)
    conn.execute(f"UPDATE job SET {assignments} WHERE id = :id", {**values, "id": id})
    replace_relations(conn, id, wf, job)
    return get(conn, id)


def delete(conn: sqlite3.Connection, id: int) -> dict[str, Any]:
    job = get(conn, id)
    conn.execute("DELETE FROM job WHERE id = ?", (id,))
    return job


def _filters(
    workflow_id: int,
    status: JobStatus | None,
    needs_file_id: int | None,
    upstream_job_id: int | None,
    active_compute_node_id: int | None,
    origin_is_set: bool | None,
    name: str | None,
    command: str | None,
) -> tuple[list[str], dict[str, Any]]:
    """The WHERE terms (ANDed) and parameters of a job list's filters."""
    where = ["job.workflow_id = :wf"]
    params: dict[str, Any] = {"wf": workflow_id}
    if status is not None:
        where.append("job.status = :status")
        params["status"] = status.code
    if needs_file_id is not None:
        where.append("job.id IN (SELECT job_id FROM job_input_file WHERE file_id = :file)")
        params["file"] = needs_file_id
    if upstream_job_id is not None:
        where.append("job.id IN (SELECT job_id FROM job_depends_on WHERE depends_on_job_id = :up)")
        params["up"] = upstream_job_id
    if active_compute_node_id is not None:
        where.append(_ON_NODE)
        params["node"] = active_compute_node_id
    if origin_is_set is not None:
        where.append("job.origin IS NOT NULL" if origin_is_set else "job.origin IS NULL")
    if name is not None:
        where.append("job.name = :name")
        params["name"] = name
    if command is not None:
        where.append("instr(job.command, :command) > 0")
        params["command"] = command
    return where, params


def list_page(
    conn: sqlite3.Connection,
    workflow_id: int,
    *,
    status: JobStatus | None,
    needs_file_id: int | None,
    upstream_job_id: int | None,
    include_relationships: bool,
    active_compute_node_id: int | None,
    origin_is_set: bool | None,
    name: str | None,
    command: str | None,
    offset: int,
    limit: int | None,
    sort_by: str | None,
    reverse_sort: bool | None,
) -> dict[str, Any]:
    where, params = _filters(
        workflow_id, status, needs_file_id, upstream_job_id, active_compute_node_id,
        origin_is_set, name, command,
    )  # fmt: skip
    counted = dense_from = None
    if len(where) == 1 + (status is not None):  # by workflow (and status) only: kept counts
        counted = _count_of(conn, workflow_id, status)
        if status is None:
            dense_from = _dense_from(conn, workflow_id, counted)
    result = page(
        conn,
        table="job",
        where=" AND ".join(where),
        params=params,
        offset=offset,
        limit=limit,
        sort_by=sort_by,
        reverse_sort=reverse_sort,
        sortable=SORTABLE,
        to_item=to_dict if include_relationships else _json_text,
        select="job.*" if include_relationships else JSON_ITEM,
        total=counted,
        dense_from=dense_from,
    )
    if not include_relationships:
        result["items"] = JsonTexts(result["items"])
    if include_relationships and result["items"]:
        ids = [item["id"] for item in result["items"]]
        rels = relations_of(conn, ids)
        for item in result["items"]:
            for field in RELATIONS:
                item[field] = rels[field].get(item["id"], [])
    return result


def ids_of_workflow(conn: sqlite3.Connection, workflow_id: int) -> list[int]:
    """Every job id of the workflow, ascending."""
    require(conn, "workflow", workflow_id)
    sql = "SELECT id FROM job WHERE workflow_id = ? ORDER BY id"
    return [r[0] for r in conn.execute(sql, (workflow_id,))]


def _json_text(row: Row) -> str:
    return str(row[0])


def _count_of(conn: sqlite3.Connection, workflow_id: int, status: JobStatus | None) -> int:
    """How many jobs the workflow has (in `status`), from the kept counts (migration 0007)."""
    sql = "SELECT coalesce(sum(n), 0) FROM job_status_count WHERE workflow_id = ?"
    if status is None:
        return int(conn.execute(sql, (workflow_id,)).fetchone()[0])
    return int(conn.execute(sql + " AND status = ?", (workflow_id, status.code)).fetchone()[0])


def _dense_from(conn: sqlite3.Connection, workflow_id: int, count: int) -> int | None:
    """The workflow's first job id if its `count` jobs have consecutive ids (created in bulk,
    none deleted), else None."""
    # Two statements: SQLite seeks the index for a lone min() or max(), and scans for both.
    low = conn.execute("SELECT min(id) FROM job WHERE workflow_id = ?", (workflow_id,)).fetchone()
    high = conn.execute("SELECT max(id) FROM job WHERE workflow_id = ?", (workflow_id,)).fetchone()
    if low[0] is None or high[0] - low[0] + 1 != count:
        return None
    return int(low[0])
