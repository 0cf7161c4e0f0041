"""/local_schedulers."""

from __future__ import annotations

from fastapi import APIRouter

from pytorc.models import DeleteCountResponse, LocalSchedulerModel, Page
from pytorc.server.db import local_schedulers
from pytorc.server.db.common import delete_where_workflow, require
from pytorc.server.routes.common import Db, Json, ok

router = APIRouter(tags=["local_schedulers"])


@router.post("/local_schedulers", response_model=LocalSchedulerModel)
def create_local_scheduler(body: LocalSchedulerModel, db: Db) -> Json:
    with db.transaction() as conn:
        return ok(local_schedulers.create(conn, body))


@router.get("/local_schedulers", response_model=Page[LocalSchedulerModel])
def list_local_schedulers(
    db: Db,
    workflow_id: int,
    offset: int = 0,
    limit: int | None = None,
    sort_by: str | None = None,
    reverse_sort: bool | None = None,
    memory: str | None = None,
    num_cpus: int | None = None,
) -> Json:
    with db.snapshot_reader() as conn:
        require(conn, "workflow", workflow_id)
        return ok(
            local_schedulers.list_page(
                conn,
                workflow_id,
                memory=memory,
                num_cpus=num_cpus,
                offset=offset,
                limit=limit,
                sort_by=sort_by,
                reverse_sort=reverse_sort,
            )
        )


@router.delete("/local_schedulers", response_model=DeleteCountResponse)
def delete_local_schedulers(workflow_id: int, db: Db) -> Json:
    with db.transaction() as conn:
        require(conn, "workflow", workflow_id)
        return ok({"count": delete_where_workflow(conn, "local_scheduler", workflow_id)})


@router.get("/local_schedulers/{id}", response_model=LocalSchedulerModel)
def get_local_scheduler(id: int, db: Db) -> Json:
    with db.reader() as conn:
        return ok(local_schedulers.get(conn, id))


@router.put("/local_schedulers/{id}", response_model=LocalSchedulerModel)
def update_local_scheduler(id: int, body: LocalSchedulerModel, db: Db) -> Json:
    with db.transaction() as conn:
        return ok(local_schedulers.update(conn, id, body))


@router.delete("/local_schedulers/{id}", response_model=LocalSchedulerModel)
def delete_local_scheduler(id: int, db: Db) -> Json:
    with db.transaction() as conn:
        return ok(local_schedulers.delete(conn, id))
