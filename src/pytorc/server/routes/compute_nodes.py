"""/compute_nodes."""

from __future__ import annotations

from fastapi import APIRouter

from pytorc.models import ComputeNodeModel, DeleteCountResponse, Page
from pytorc.server.db import compute_nodes
from pytorc.server.db.common import delete_where_workflow, require
from pytorc.server.routes.common import Db, Json, ok

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
