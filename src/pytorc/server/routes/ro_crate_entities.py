"""/ro_crate_entities and /workflows/{id}/ro_crate_entities."""

from __future__ import annotations

from fastapi import APIRouter

from pytorc.models import DeleteRoCrateEntitiesResponse, MessageResponse, Page, RoCrateEntityModel
from pytorc.server.db import ro_crate_entities as entities
from pytorc.server.db.common import delete_where_workflow, require
from pytorc.server.routes.common import Db, Json, ok

router = APIRouter(tags=["ro_crate_entities"])


@router.post("/ro_crate_entities", response_model=RoCrateEntityModel)
def create_ro_crate_entity(body: RoCrateEntityModel, db: Db) -> Json:
    with db.transaction() as conn:
        return ok(entities.create(conn, body))


@router.get("/ro_crate_entities/{id}", response_model=RoCrateEntityModel)
def get_ro_crate_entity(id: int, db: Db) -> Json:
    with db.reader() as conn:
        return ok(entities.get(conn, id))


@router.put("/ro_crate_entities/{id}", response_model=RoCrateEntityModel)
def update_ro_crate_entity(id: int, body: RoCrateEntityModel, db: Db) -> Json:
    with db.transaction() as conn:
        return ok(entities.update(conn, id, body))


@router.delete("/ro_crate_entities/{id}", response_model=MessageResponse)
def delete_ro_crate_entity(id: int, db: Db) -> Json:
    with db.transaction() as conn:
        entities.delete(conn, id)
    return ok({"message": f"ro-crate entity {id} deleted"})


@router.get("/workflows/{id}/ro_crate_entities", response_model=Page[RoCrateEntityModel])
def list_ro_crate_entities(
    id: int,
    db: Db,
    offset: int = 0,
    limit: int | None = None,
    file_id: int | None = None,
    entity_id: str | None = None,
    sort_by: str | None = None,
    reverse_sort: bool | None = None,
) -> Json:
    with db.snapshot_reader() as conn:
        require(conn, "workflow", id)
        return ok(
            entities.list_page(
                conn,
                id,
                file_id=file_id,
                entity_id=entity_id,
                offset=offset,
                limit=limit,
                sort_by=sort_by,
                reverse_sort=reverse_sort,
            )
        )


@router.delete("/workflows/{id}/ro_crate_entities", response_model=DeleteRoCrateEntitiesResponse)
def delete_ro_crate_entities(id: int, db: Db) -> Json:
    with db.transaction() as conn:
        require(conn, "workflow", id)
        n = delete_where_workflow(conn, "ro_crate_entity", id)
    return ok({"deleted_count": n, "message": f"deleted {n} ro-crate entities of workflow {id}"})
