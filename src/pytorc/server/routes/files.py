"""/files and /bulk_files."""

from __future__ import annotations

from fastapi import APIRouter

from pytorc.models import CreateFilesResponse, DeleteCountResponse, FileModel, FilesModel, Page
from pytorc.server.db import files
from pytorc.server.db.common import delete_where_workflow, require
from pytorc.server.routes.common import Db, Json, ok

router = APIRouter(tags=["files"])


@router.post("/files", response_model=FileModel)
def create_file(body: FileModel, db: Db) -> Json:
    with db.transaction() as conn:
        return ok(files.create(conn, body))


@router.post("/bulk_files", response_model=CreateFilesResponse)
def create_files(body: FilesModel, db: Db) -> Json:
    with db.transaction() as conn:
        return ok({"files": files.create_many(conn, body.files)})


@router.get("/files", response_model=Page[FileModel])
def list_files(
    db: Db,
    workflow_id: int,
    produced_by_job_id: int | None = None,
    offset: int = 0,
    limit: int | None = None,
    sort_by: str | None = None,
    reverse_sort: bool | None = None,
    name: str | None = None,
    path: str | None = None,
    is_output: bool | None = None,
) -> Json:
    with db.snapshot_reader() as conn:
        require(conn, "workflow", workflow_id)
        return ok(
            files.list_page(
                conn,
                workflow_id,
                produced_by_job_id=produced_by_job_id,
                name=name,
                path=path,
                is_output=is_output,
                offset=offset,
                limit=limit,
                sort_by=sort_by,
                reverse_sort=reverse_sort,
            )
        )


@router.delete("/files", response_model=DeleteCountResponse)
def delete_files(workflow_id: int, db: Db) -> Json:
    with db.transaction() as conn:
        require(conn, "workflow", workflow_id)
        return ok({"count": delete_where_workflow(conn, "file", workflow_id)})


@router.get("/files/{id}", response_model=FileModel)
async def get_file(id: int, db: Db) -> Json:
    return ok(await db.read(lambda conn: files.get(conn, id)))


@router.put("/files/{id}", response_model=FileModel)
async def update_file(id: int, body: FileModel, db: Db) -> Json:
    return ok(await db.write(lambda conn: files.update(conn, id, body)))


@router.delete("/files/{id}", response_model=FileModel)
def delete_file(id: int, db: Db) -> Json:
    with db.transaction() as conn:
        return ok(files.delete(conn, id))
