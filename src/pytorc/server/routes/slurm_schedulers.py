"""/slurm_schedulers."""

from __future__ import annotations

from fastapi import APIRouter

from pytorc.models import DeleteCountResponse, Page, SlurmSchedulerModel
from pytorc.server.db import slurm_schedulers
from pytorc.server.db.common import delete_where_workflow, require
from pytorc.server.routes.common import Db, Json, ok

router = APIRouter(tags=["slurm_schedulers"])


@router.post("/slurm_schedulers", response_model=SlurmSchedulerModel)
def create_slurm_scheduler(body: SlurmSchedulerModel, db: Db) -> Json:
    with db.transaction() as conn:
        return ok(slurm_schedulers.create(conn, body))


@router.get("/slurm_schedulers", response_model=Page[SlurmSchedulerModel])
def list_slurm_schedulers(
    db: Db,
    workflow_id: int,
    offset: int = 0,
    limit: int | None = None,
    sort_by: str | None = None,
    reverse_sort: bool | None = None,
) -> Json:
    with db.snapshot_reader() as conn:
        require(conn, "workflow", workflow_id)
        return ok(
            slurm_schedulers.list_page(
                conn,
                workflow_id,
                offset=offset,
                limit=limit,
                sort_by=sort_by,
                reverse_sort=reverse_sort,
            )
        )


@router.delete("/slurm_schedulers", response_model=DeleteCountResponse)
def delete_slurm_schedulers(workflow_id: int, db: Db) -> Json:
    with db.transaction() as conn:
        require(conn, "workflow", workflow_id)
        return ok({"count": delete_where_workflow(conn, "slurm_scheduler", workflow_id)})


@router.get("/slurm_schedulers/{id}", response_model=SlurmSchedulerModel)
def get_slurm_scheduler(id: int, db: Db) -> Json:
    with db.reader() as conn:
        return ok(slurm_schedulers.get(conn, id))


@router.put("/slurm_schedulers/{id}", response_model=SlurmSchedulerModel)
def update_slurm_scheduler(id: int, body: SlurmSchedulerModel, db: Db) -> Json:
    with db.transaction() as conn:
        return ok(slurm_schedulers.update(conn, id, body))


@router.delete("/slurm_schedulers/{id}", response_model=SlurmSchedulerModel)
def delete_slurm_scheduler(id: int, db: Db) -> Json:
    with db.transaction() as conn:
        return ok(slurm_schedulers.delete(conn, id))
