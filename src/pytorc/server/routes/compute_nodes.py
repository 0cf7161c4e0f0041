"""/compute_nodes."""

from __future__ import annotations

from sqlite3 import Connection
from typing import Any

from fastapi import APIRouter

from pytorc.models import (
    ComputeNodeModel,
    DeclareDeadRequest,
    DeclareDeadResponse,
    DeleteCountResponse,
    Page,
)
from pytorc.server.db import compute_nodes
from pytorc.server.db.common import delete_where_workflow, require
from pytorc.server.routes.common import Db, Json, ok
from pytorc.server.services import dead_runners

router = APIRouter(tags=["compute_nodes"])


@router.post("/compute_nodes", response_model=ComputeNodeModel)
async def create_compute_node(body: ComputeNodeModel, db: Db) -> Json:
    return ok(await db.write(lambda conn: compute_nodes.create(conn, body)))


@router.get("/compute_nodes", response_model=Page[ComputeNodeModel])
def list_compute_nodes(
    db: Db,
    workflow_id: int,
    offset: int = 0,
    limit: int | None = None,
    sort_by: str | None = None,
    reverse_sort: bool | None = None,
    hostname: str | None = None,
    is_active: bool | None = None,
    scheduled_compute_node_id: int | None = None,
) -> Json:
    with db.snapshot_reader() as conn:
        require(conn, "workflow", workflow_id)
        return ok(
            compute_nodes.list_page(
                conn,
                workflow_id,
                hostname=hostname,
                is_active=is_active,
                scheduled_compute_node_id=scheduled_compute_node_id,
                offset=offset,
                limit=limit,
                sort_by=sort_by,
                reverse_sort=reverse_sort,
            )
        )


@router.delete("/compute_nodes", response_model=DeleteCountResponse)
def delete_compute_nodes(workflow_id: int, db: Db) -> Json:
    with db.transaction() as conn:
        require(conn, "workflow", workflow_id)
        return ok({"count": delete_where_workflow(conn, "compute_node", workflow_id)})


@router.get("/compute_nodes/{id}", response_model=ComputeNodeModel)
async def get_compute_node(id: int, db: Db) -> Json:
    return ok(await db.read(lambda conn: compute_nodes.get(conn, id)))


@router.put("/compute_nodes/{id}", response_model=ComputeNodeModel)
async def update_compute_node(id: int, body: ComputeNodeModel, db: Db) -> Json:
    return ok(await db.write(lambda conn: compute_nodes.update(conn, id, body)))


@router.delete("/compute_nodes/{id}", response_model=ComputeNodeModel)
def delete_compute_node(id: int, db: Db) -> Json:
    with db.transaction() as conn:
        return ok(compute_nodes.delete(conn, id))


@router.post("/compute_nodes/{id}/declare_dead", response_model=DeclareDeadResponse)
async def declare_compute_node_dead(id: int, body: DeclareDeadRequest, db: Db) -> Json:
    """pytorc: the runner of this node is known to be gone (its process no longer exists):
    requeue its pending and running jobs now instead of after the dead-runner timeout. A node
    already inactive changes nothing."""

    def declare(conn: Connection) -> dict[str, Any]:
        node = require(conn, "compute_node", id)
        if not node["is_active"]:
            return {"compute_node_id": id, "requeued_job_ids": [], "was_active": False}
        why = body.reason or f"{node['hostname']} pid {node['pid']}"
        requeued = dead_runners.declare_dead(conn, id, node["workflow_id"], why)
        return {"compute_node_id": id, "requeued_job_ids": requeued, "was_active": True}

    return ok(await db.write(declare))
