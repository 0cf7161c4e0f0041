"""/user_data and /bulk_user_data."""

from __future__ import annotations

from fastapi import APIRouter

from pytorc.models import (
    CreateUserDataListResponse,
    DeleteCountResponse,
    Page,
    UserDataListModel,
    UserDataModel,
)
from pytorc.server.db import user_data
from pytorc.server.db.common import delete_where_workflow, require
from pytorc.server.routes.common import Db, Json, ok

router = APIRouter(tags=["user_data"])


@router.post("/user_data", response_model=UserDataModel)
def create_user_data(
    body: UserDataModel,
    db: Db,
    consumer_job_id: int | None = None,
    producer_job_id: int | None = None,
) -> Json:
    with db.transaction() as conn:
        return ok(user_data.create(conn, body, consumer_job_id, producer_job_id))


@router.post("/bulk_user_data", response_model=CreateUserDataListResponse)
def create_user_data_list(body: UserDataListModel, db: Db) -> Json:
    with db.transaction() as conn:
        return ok({"user_data": user_data.create_many(conn, body.user_data)})


@router.get("/user_data", response_model=Page[UserDataModel])
def list_user_data(
    db: Db,
    workflow_id: int,
    consumer_job_id: int | None = None,
    producer_job_id: int | None = None,
    offset: int = 0,
    limit: int | None = None,
    sort_by: str | None = None,
    reverse_sort: bool | None = None,
    name: str | None = None,
    is_ephemeral: bool | None = None,
) -> Json:
    with db.snapshot_reader() as conn:
        require(conn, "workflow", workflow_id)
        return ok(
            user_data.list_page(
                conn,
                workflow_id,
                consumer_job_id=consumer_job_id,
                producer_job_id=producer_job_id,
                name=name,
                is_ephemeral=is_ephemeral,
                offset=offset,
                limit=limit,
                sort_by=sort_by,
                reverse_sort=reverse_sort,
            )
        )


@router.delete("/user_data", response_model=DeleteCountResponse)
def delete_all_user_data(workflow_id: int, db: Db) -> Json:
    with db.transaction() as conn:
        require(conn, "workflow", workflow_id)
        return ok({"count": delete_where_workflow(conn, "user_data", workflow_id)})


@router.get("/user_data/{id}", response_model=UserDataModel)
def get_user_data(id: int, db: Db) -> Json:
    with db.reader() as conn:
        return ok(user_data.get(conn, id))


@router.put("/user_data/{id}", response_model=UserDataModel)
def update_user_data(id: int, body: UserDataModel, db: Db) -> Json:
    with db.transaction() as conn:
        return ok(user_data.update(conn, id, body))


@router.delete("/user_data/{id}", response_model=UserDataModel)
def delete_user_data(id: int, db: Db) -> Json:
    with db.transaction() as conn:
        return ok(user_data.delete(conn, id))
