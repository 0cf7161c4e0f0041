"""SQL for resource requirements: what one job needs (CPUs, GPUs, nodes, memory, runtime).

memory and runtime are stored as given and also as memory_bytes / runtime_s, which the claim
query compares against a runner's free resources.
"""

from __future__ import annotations

import math
import sqlite3
from typing import Any

from pytorc.errors import Conflict, InvalidInput
from pytorc.models import ResourceRequirementsModel
from pytorc.server.db.common import Row, page, require
from pytorc.units import UnitError, duration_seconds, memory_bytes

DEFAULT_NAME = "default"
_MAX_INT = 2**63 - 1
SORTABLE = ("name", "num_cpus", "num_gpus", "num_nodes", "memory_bytes", "runtime_s", "workflow_id")
# Sorting by the strings would put "10g" before "2g"; sort by the parsed amounts instead.
_SORT_ALIASES = {"memory": "memory_bytes", "runtime": "runtime_s"}

_INSERT = """
INSERT INTO resource_requirements
    (workflow_id, name, num_cpus, num_gpus, num_nodes, memory, runtime, memory_bytes, runtime_s)
VALUES
    (:workflow_id, :name, :num_cpus, :num_gpus, :num_nodes, :memory, :runtime, :memory_bytes,
     :runtime_s)
RETURNING *
"""
_UPDATE = """
UPDATE resource_requirements
   SET name = :name, num_cpus = :num_cpus, num_gpus = :num_gpus, num_nodes = :num_nodes,
       memory = :memory, runtime = :runtime, memory_bytes = :memory_bytes, runtime_s = :runtime_s
 WHERE id = :id
RETURNING *
"""
_JOBS_USING = "SELECT count(*) FROM job WHERE resource_requirements_id = ?"


def to_dict(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "workflow_id": row["workflow_id"],
        "name": row["name"],
        "num_cpus": row["num_cpus"],
        "num_gpus": row["num_gpus"],
        "num_nodes": row["num_nodes"],
        "memory": row["memory"],
        "runtime": row["runtime"],
    }


def parse_memory(text: str) -> int:
    """Bytes in `text`, or a 422 naming the bad value."""
    try:
        value = memory_bytes(text)
    except UnitError as exc:
        raise InvalidInput(str(exc)) from None
    if value > _MAX_INT:
        raise InvalidInput(f"invalid memory {text!r}: more bytes than can be stored")
    return value


def parse_runtime(text: str) -> float:
    """Seconds in the ISO-8601 duration `text`, or a 422 naming the bad value."""
    try:
        value = duration_seconds(text)
    except UnitError as exc:
        raise InvalidInput(str(exc)) from None
    if not math.isfinite(value) or value > _MAX_INT:
        raise InvalidInput(f"invalid runtime {text!r}: too long")
    return value


def _runtime_filter(text: str) -> float:
    try:
        return float(int(text))
    except ValueError:
        return parse_runtime(text)


def _values(rr: ResourceRequirementsModel, base: dict[str, Any]) -> dict[str, Any]:
    """Column values from `rr`; fields it leaves null keep their value in `base`."""
    values: dict[str, Any] = {
        "name": rr.name,
        "num_cpus": base["num_cpus"] if rr.num_cpus is None else rr.num_cpus,
        "num_gpus": base["num_gpus"] if rr.num_gpus is None else rr.num_gpus,
        "num_nodes": base["num_nodes"] if rr.num_nodes is None else rr.num_nodes,
        "memory": base["memory"] if rr.memory is None else rr.memory,
        "runtime": base["runtime"] if rr.runtime is None else rr.runtime,
    }
    values["memory_bytes"] = parse_memory(values["memory"])
    values["runtime_s"] = parse_runtime(values["runtime"])
    return values


_DEFAULTS = {"num_cpus": 1, "num_gpus": 0, "num_nodes": 1, "memory": "1m", "runtime": "PT1M"}


def create(conn: sqlite3.Connection, rr: ResourceRequirementsModel) -> dict[str, Any]:
    """Insert one record; the name "default" is reserved for the one the server makes."""
    require(conn, "workflow", rr.workflow_id)
    if rr.name == DEFAULT_NAME:
        raise InvalidInput(
            f"the name {DEFAULT_NAME!r} is reserved: the server creates it with each workflow"
        )
    values = {**_values(rr, _DEFAULTS), "workflow_id": rr.workflow_id}
    return to_dict(conn.execute(_INSERT, values).fetchone())


def get(conn: sqlite3.Connection, id: int) -> dict[str, Any]:
    return to_dict(require(conn, "resource_requirements", id))


def update(conn: sqlite3.Connection, id: int, rr: ResourceRequirementsModel) -> dict[str, Any]:
    """Overwrite the amounts (null fields are kept). The "default" record keeps its name and
    no other may take it, because job creation finds the default by name."""
    row = require(conn, "resource_requirements", id)
    if rr.workflow_id != row["workflow_id"]:
        raise InvalidInput(
            f"resource requirements {id} belong to workflow {row['workflow_id']},"
            f" not {rr.workflow_id}"
        )
    if (row["name"] == DEFAULT_NAME) != (rr.name == DEFAULT_NAME):
        raise InvalidInput(
            f"the name {DEFAULT_NAME!r} is reserved: it cannot be given to or taken from a record"
        )
    values = {**_values(rr, dict(row)), "id": id}
    return to_dict(conn.execute(_UPDATE, values).fetchone())


def delete(conn: sqlite3.Connection, id: int) -> dict[str, Any]:
    """Delete one record; refused (409) while jobs use it, and for the workflow's default."""
    row = require(conn, "resource_requirements", id)
    if row["name"] == DEFAULT_NAME:
        raise Conflict(
            f"resource requirements {id} are the workflow's default, which jobs created without "
            "requirements receive; they cannot be deleted"
        )
    users = conn.execute(_JOBS_USING, (id,)).fetchone()[0]
    if users:
        raise Conflict(f"resource requirements {id} are used by {users} job(s); cannot delete")
    conn.execute("DELETE FROM resource_requirements WHERE id = ?", (id,))
    return to_dict(row)


_DELETE_UNUSED = """
DELETE FROM resource_requirements
 WHERE workflow_id = :wf AND name != :default
   AND NOT EXISTS (SELECT 1 FROM job WHERE job.resource_requirements_id = resource_requirements.id)
"""


def delete_unused(conn: sqlite3.Connection, workflow_id: int) -> int:
    """Delete the workflow's records no job uses (never the default); the count deleted.

    Records still in use stay, so the call can neither orphan a job nor fail half-way.
    """
    return conn.execute(_DELETE_UNUSED, {"wf": workflow_id, "default": DEFAULT_NAME}).rowcount


def list_page(
    conn: sqlite3.Connection,
    workflow_id: int,
    *,
    job_id: int | None,
    name: str | None,
    memory: str | None,
    num_cpus: int | None,
    num_gpus: int | None,
    num_nodes: int | None,
    runtime: str | None,
    offset: int,
    limit: int | None,
    sort_by: str | None,
    reverse_sort: bool | None,
) -> dict[str, Any]:
    """One page of records; memory and runtime match by amount ("2g" finds "2048m").

    runtime is whole seconds (torc-client 0.35.0 sends an integer) or an ISO-8601 duration.
    """
    where = ["resource_requirements.workflow_id = :wf"]
    params: dict[str, Any] = {"wf": workflow_id}
    if job_id is not None:
        where.append(
            "resource_requirements.id = (SELECT resource_requirements_id FROM job WHERE id = :job)"
        )
        params["job"] = job_id
    filters: dict[str, Any] = {
        "name": name,
        "num_cpus": num_cpus,
        "num_gpus": num_gpus,
        "num_nodes": num_nodes,
        "memory_bytes": None if memory is None else parse_memory(memory),
        "runtime_s": None if runtime is None else _runtime_filter(runtime),
    }
    for column, value in filters.items():
        if value is not None:
            where.append(f"resource_requirements.{column} = :{column}")
            params[column] = value
    return page(
        conn,
        table="resource_requirements",
        where=" AND ".join(where),
        params=params,
        offset=offset,
        limit=limit,
        sort_by=_SORT_ALIASES.get(sort_by or "", sort_by),
        reverse_sort=reverse_sort,
        sortable=SORTABLE,
        to_item=to_dict,
    )
