"""/scheduled_compute_nodes."""

from __future__ import annotations

from fastapi import APIRouter

from pytorc.models import DeleteCountResponse, Page, ScheduledComputeNodesModel
from pytorc.server.db import scheduled_compute_nodes as scheduled
from pytorc.server.db.common import delete_where_workflow, require
from pytorc.server.routes.common import Db, Json, ok

router = APIRouter(tags=["scheduled_compute_nodes"])


@router.post("/scheduled_compute_nodes", response_model=ScheduledComputeNodesModel)
def create_scheduled_compute_node(body: ScheduledComputeNodesModel, db: Db) -> Json:
    with db.transaction() as conn:
        return ok(scheduled.create(conn, body))


@router.get("/scheduled_compute_nodes", response_model=Page[ScheduledComputeNodesModel])
def list_scheduled_compute_nodes(
    db: Db,
    workflow_id: int,
    offset: int = 0,
    limit: int | None = None,
    sort_by: str | None = None,
    reverse_sort: bool | None = None,
    scheduler_id: int | None = None,
    scheduler_config_id: int | None = None,
    status: str | None = None,
) -> Json:
    with db.snapshot_reader() as conn:
        require(conn, "workflow", workflow_id)
        return ok(
            scheduled.list_page(
                conn,
                workflow_id,
                scheduler_id=scheduler_id,
                scheduler_config_id=scheduler_config_id,
                status=status,
                offset=offset,
                limit=limit,
                sort_by=sort_by,
                reverse_sort=reverse_sort,
            )
        )


@router.delete("/scheduled_compute_nodes", response_model=DeleteCountResponse)
def delete_scheduled_compute_nodes(workflow_id: int, db: Db) -> Json:
    with db.transaction() as conn:
        require(conn, "workflow", workflow_id)
        return ok({"count": delete_where_workflow(conn, "scheduled_compute_node", workflow_id)})


@router.get("/scheduled_compute_nodes/{id}", response_model=ScheduledComputeNodesModel)
def get_scheduled_compute_node(id: int, db: Db) -> Json:
    with db.reader() as conn:
        return ok(scheduled.get(conn, id))


@router.put("/scheduled_compute_nodes/{id}", response_model=ScheduledComputeNodesModel)
def update_scheduled_compute_node(id: int, body: ScheduledComputeNodesModel, db: Db) -> Json:
    with db.transaction() as conn:
        return ok(scheduled.update(conn, id, body))


@router.delete("/scheduled_compute_nodes/{id}", response_model=ScheduledComputeNodesModel)
def delete_scheduled_compute_node(id: int, db: Db) -> Json:
    with db.transaction() as conn:
        return ok(scheduled.delete(conn, id))
