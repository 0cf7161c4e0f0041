"""/resource_requirements."""

from __future__ import annotations

from fastapi import APIRouter

from pytorc.models import DeleteCountResponse, Page, ResourceRequirementsModel
from pytorc.server.db import resource_requirements as rrs
from pytorc.server.db.common import require
from pytorc.server.routes.common import Db, Json, ok

router = APIRouter(tags=["resource_requirements"])


@router.post("/resource_requirements", response_model=ResourceRequirementsModel)
def create_resource_requirements(body: ResourceRequirementsModel, db: Db) -> Json:
    with db.transaction() as conn:
        return ok(rrs.create(conn, body))


@router.get("/resource_requirements", response_model=Page[ResourceRequirementsModel])
def list_resource_requirements(
    db: Db,
    workflow_id: int,
    job_id: int | None = None,
    name: str | None = None,
    memory: str | None = None,
    num_cpus: int | None = None,
    num_gpus: int | None = None,
    num_nodes: int | None = None,
    runtime: str | None = None,
    offset: int = 0,
    limit: int | None = None,
    sort_by: str | None = None,
    reverse_sort: bool | None = None,
) -> Json:
    with db.snapshot_reader() as conn:
        require(conn, "workflow", workflow_id)
        return ok(
            rrs.list_page(
                conn,
                workflow_id,
                job_id=job_id,
                name=name,
                memory=memory,
                num_cpus=num_cpus,
                num_gpus=num_gpus,
                num_nodes=num_nodes,
                runtime=runtime,
                offset=offset,
                limit=limit,
                sort_by=sort_by,
                reverse_sort=reverse_sort,
            )
        )


@router.delete("/resource_requirements", response_model=DeleteCountResponse)
def delete_resource_requirements(workflow_id: int, db: Db) -> Json:
    """Delete the records no job uses (the default stays); see db.resource_requirements."""
    with db.transaction() as conn:
        require(conn, "workflow", workflow_id)
        return ok({"count": rrs.delete_unused(conn, workflow_id)})


@router.get("/resource_requirements/{id}", response_model=ResourceRequirementsModel)
async def get_resource_requirements(id: int, db: Db) -> Json:
    return ok(await db.read(lambda conn: rrs.get(conn, id)))


@router.put("/resource_requirements/{id}", response_model=ResourceRequirementsModel)
def update_resource_requirements(id: int, body: ResourceRequirementsModel, db: Db) -> Json:
    with db.transaction() as conn:
        return ok(rrs.update(conn, id, body))


@router.delete("/resource_requirements/{id}", response_model=ResourceRequirementsModel)
def delete_resource_requirement(id: int, db: Db) -> Json:
    with db.transaction() as conn:
        return ok(rrs.delete(conn, id))
