"""/workflows: CRUD, status, cancel, archive and the completion checks."""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import APIRouter, Request

from pytorc.models import (
    ArchiveWorkflowRequest,
    IncompleteWorkflowsResponse,
    IsCompleteResponse,
    IsUninitializedResponse,
    ListJobIdsResponse,
    Page,
    WorkflowModel,
    WorkflowStatusResponse,
)
from pytorc.server.db import jobs, workflows
from pytorc.server.db.common import require
from pytorc.server.routes.common import Db, Json, ok
from pytorc.server.services import deletion, lifecycle

router = APIRouter(tags=["workflows"])


@router.post("/workflows", response_model=WorkflowModel)
def create_workflow(body: WorkflowModel, db: Db, creating: bool = False) -> Json:
    """`creating` (pytorc): the caller uploads the workflow's records next and ends with
    POST /workflows/{id}/creation_complete; until then it cannot be initialized or run."""
    with db.transaction() as conn:
        return ok(workflows.create(conn, body, creating))


@router.post("/workflows/{id}/creation_complete", response_model=WorkflowModel)
def complete_workflow_creation(id: int, db: Db) -> Json:
    """pytorc: every record of a workflow created with `creating` is uploaded."""
    with db.transaction() as conn:
        workflows.finish_creation(conn, id)
        return ok(workflows.get(conn, id))


@router.get("/incomplete_workflows", response_model=IncompleteWorkflowsResponse)
def list_incomplete_workflows(db: Db) -> Json:
    """pytorc: workflows whose creation never finished (`torc workflows list` flags them)."""
    with db.reader() as conn:
        return ok({"workflow_ids": workflows.incomplete(conn)})


@router.get("/workflows", response_model=Page[WorkflowModel])
def list_workflows(
    db: Db,
    request: Request,
    offset: int = 0,
    limit: int | None = None,
    sort_by: str | None = None,
    reverse_sort: bool | None = None,
    name: str | None = None,
    user: str | None = None,
    description: str | None = None,
    is_archived: bool | None = None,
) -> Json:
    with db.snapshot_reader() as conn:
        return ok(
            workflows.list_page(
                conn,
                name=name,
                user=user,
                description=description,
                is_archived=is_archived,
                offset=offset,
                limit=limit,
                sort_by=sort_by,
                reverse_sort=reverse_sort,
                visible_to=request.scope.get("state", {}).get("restrict_to"),
            )
        )


@router.get("/workflows/{id}", response_model=WorkflowModel)
async def get_workflow(id: int, db: Db) -> Json:
    return ok(await db.read(lambda conn: workflows.get(conn, id)))


@router.put("/workflows/{id}", response_model=WorkflowModel)
def update_workflow(id: int, body: WorkflowModel, db: Db) -> Json:
    with db.transaction() as conn:
        return ok(workflows.update(conn, id, body))


@router.delete("/workflows/{id}", response_model=WorkflowModel)
def delete_workflow(id: int, db: Db, request: Request) -> Json:
    # A worker thread: chunk by chunk through the writer's queue (services/deletion.py).
    chunk_jobs = request.app.state.settings.chunk_jobs
    record, chunks = db.write_queued(lambda conn: deletion.begin(conn, id, chunk_jobs))
    while db.write_queued(lambda conn: deletion.delete_edges(conn, id, chunk_jobs)):
        pass
    for first, last in chunks:
        db.write_queued(partial(deletion.delete_chunk, workflow_id=id, first=first, last=last))
    with db.transaction() as conn:
        workflows.delete(conn, id)
    return ok(record)


@router.put("/workflows/{id}/cancel", response_model=dict[str, Any])
def cancel_workflow(id: int, db: Db) -> Json:
    with db.transaction() as conn:
        return ok(lifecycle.cancel_workflow(conn, id))


@router.post("/workflows/{id}/archive", response_model=WorkflowModel)
def archive_workflow(id: int, body: ArchiveWorkflowRequest, db: Db) -> Json:
    with db.transaction() as conn:
        require(conn, "workflow", id)
        workflows.set_flag(conn, id, "is_archived", body.is_archived)
        return ok(workflows.get(conn, id))


@router.get("/workflows/{id}/status", response_model=WorkflowStatusResponse)
def get_workflow_status(id: int, db: Db) -> Json:
    with db.snapshot_reader() as conn:
        return ok(lifecycle.status(conn, id))


@router.get("/workflows/{id}/is_complete", response_model=IsCompleteResponse)
async def is_workflow_complete(id: int, db: Db) -> Json:
    complete, canceled = await db.read(lambda conn: workflows.is_complete(conn, id))
    return ok({"is_complete": complete, "is_canceled": canceled})


@router.get("/workflows/{id}/is_uninitialized", response_model=IsUninitializedResponse)
def is_workflow_uninitialized(id: int, db: Db) -> Json:
    with db.reader() as conn:
        return ok({"is_uninitialized": workflows.is_uninitialized(conn, id)})


@router.get("/workflows/{id}/job_ids", response_model=ListJobIdsResponse)
def list_job_ids(id: int, db: Db) -> Json:
    with db.reader() as conn:
        ids = jobs.ids_of_workflow(conn, id)
    return ok({"job_ids": ids, "count": len(ids)})
