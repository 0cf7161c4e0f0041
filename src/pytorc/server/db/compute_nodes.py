"""SQL for compute nodes: one row per runner process (local or in a Slurm allocation)."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from pytorc.errors import InvalidInput
from pytorc.models import ComputeNodeModel
from pytorc.server.db import events
from pytorc.server.db.common import Row, dumps, loads, opt_bool, page, require

_COLUMNS = (
    "hostname",
    "pid",
    "start_time",
    "duration_seconds",
    "is_active",
    "num_cpus",
    "memory_gb",
    "num_gpus",
    "num_nodes",
    "time_limit",
    "scheduler_config_id",
    "compute_node_type",
    "scheduler",
    "peak_memory_bytes",
    "avg_memory_bytes",
    "peak_cpu_percent",
    "avg_cpu_percent",
    "sample_count",
)
SORTABLE = (*(c for c in _COLUMNS if c != "scheduler"), "workflow_id")

_INSERT = f"""
INSERT INTO compute_node (workflow_id, last_contact, {", ".join(_COLUMNS)})
VALUES (:workflow_id, :last_contact, {", ".join(":" + c for c in _COLUMNS)})
RETURNING *
"""


def to_dict(row: Row) -> dict[str, Any]:
    out = {"id": row["id"], "workflow_id": row["workflow_id"]}
    out.update({c: row[c] for c in _COLUMNS})
    out["is_active"] = opt_bool(row["is_active"])
    out["scheduler"] = loads(row["scheduler"])
    return out


def _values(node: ComputeNodeModel, fields: set[str]) -> dict[str, Any]:
    values = {c: getattr(node, c) for c in _COLUMNS if c in fields}
    if "scheduler" in values:
        values["scheduler"] = dumps(values["scheduler"])
    if values.get("is_active") is not None:
        values["is_active"] = int(values["is_active"])
    return values


def create(conn: sqlite3.Connection, node: ComputeNodeModel) -> dict[str, Any]:
    """Register a node; it is active unless the body says otherwise."""
    require(conn, "workflow", node.workflow_id)
    values = _values(node, set(_COLUMNS))
    if values["is_active"] is None:
        values["is_active"] = 1
    values.update(workflow_id=node.workflow_id, last_contact=time.time())
    created = to_dict(conn.execute(_INSERT, values).fetchone())
    events.record(
        conn,
        node.workflow_id,
        "compute_node_started",
        f"compute node {created['id']} registered: {node.hostname} pid {node.pid},"
        f" {node.num_cpus} CPUs, {node.memory_gb:g} GB, {node.num_gpus} GPUs",
        compute_node_id=created["id"],
    )
    return created


def get(conn: sqlite3.Connection, id: int) -> dict[str, Any]:
    return to_dict(require(conn, "compute_node", id))


def update(conn: sqlite3.Connection, id: int, node: ComputeNodeModel) -> dict[str, Any]:
    """Overwrite the fields the body carries (absent ones, and a null is_active, are kept).

    Any update counts as contact from the node.
    """
    row = require(conn, "compute_node", id)
    if node.workflow_id != row["workflow_id"]:
        raise InvalidInput(
            f"compute node {id} belongs to workflow {row['workflow_id']}, not {node.workflow_id}"
        )
    values = _values(node, set(node.model_fields_set))
    if values.get("is_active", 0) is None:
        del values["is_active"]
    values["last_contact"] = time.time()
    assignments = ", ".join(f"{c} = :{c}" for c in values)
    conn.execute(f"UPDATE compute_node SET {assignments} WHERE id = :id", {**values, "id": id})
    if row["is_active"] and values.get("is_active") == 0:
        events.record(
            conn,
            row["workflow_id"],
            "compute_node_stopped",
            f"compute node {id} ({row['hostname']} pid {row['pid']}) stopped",
            compute_node_id=id,
        )
    return get(conn, id)


def delete(conn: sqlite3.Connection, id: int) -> dict[str, Any]:
    node = get(conn, id)
    conn.execute("DELETE FROM compute_node WHERE id = ?", (id,))
    return node


def list_page(
    conn: sqlite3.Connection,
    workflow_id: int,
    *,
    hostname: str | None,
    is_active: bool | None,
    scheduled_compute_node_id: int | None,
    offset: int,
    limit: int | None,
    sort_by: str | None,
    reverse_sort: bool | None,
) -> dict[str, Any]:
    """One page of nodes. scheduled_compute_node_id matches the `scheduler_id` key of the node's
    `scheduler` JSON, which Slurm runners set to the scheduled compute node they were started for
    (as Torc does)."""
    where = ["compute_node.workflow_id = :wf"]
    params: dict[str, Any] = {"wf": workflow_id}
    if hostname is not None:
        where.append("compute_node.hostname = :hostname")
        params["hostname"] = hostname
    if is_active is not None:
        where.append("compute_node.is_active = :active")
        params["active"] = int(is_active)
    if scheduled_compute_node_id is not None:
        where.append("json_extract(compute_node.scheduler, '$.scheduler_id') = :scn")
        params["scn"] = scheduled_compute_node_id
    return page(
        conn,
        table="compute_node",
        where=" AND ".join(where),
        params=params,
        offset=offset,
        limit=limit,
        sort_by=sort_by,
        reverse_sort=reverse_sort,
        sortable=SORTABLE,
        to_item=to_dict,
    )
