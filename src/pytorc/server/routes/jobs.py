"""/jobs: CRUD, bulk creation and the per-job lifecycle (start, complete, status change, retry)."""

from __future__ import annotations

from sqlite3 import Connection
from typing import Any

from fastapi import APIRouter, Request

from pytorc.errors import InvalidInput
from pytorc.models import (
    CreatedJobIds,
    CreateJobsResponse,
    DeleteCountResponse,
    JobModel,
    JobsModel,
    Page,
    ResultModel,
)
from pytorc.server.db import jobs
from pytorc.server.db.common import delete_where_workflow, require
from pytorc.server.routes.common import Db, Json, ok, parse_body, raw_json_body
from pytorc.server.services import completion, outcomes, transitions
from pytorc.vocabulary import JobStatus

router = APIRouter(tags=["jobs"])


@router.post("/jobs", response_model=JobModel)
def create_job(body: JobModel, db: Db) -> Json:
    with db.transaction() as conn:
        return ok(jobs.create_many(conn, [body])[0])


@router.post(
    "/bulk_jobs",
    response_model=CreateJobsResponse | CreatedJobIds,
    openapi_extra=raw_json_body(JobsModel),
)
async def create_jobs(request: Request, db: Db, brief: bool = False) -> Json:
    """Create jobs; with `brief=true` (pytorc) the answer is only their ids, in order."""
    body = await parse_body(request, JobsModel)  # ~2x faster than FastAPI's body path here
    _require_one_workflow(body.jobs)
    # A bulk insert takes tens of ms or more: on the writer thread, never on the event loop.
    if brief:
        return ok(await db.write_long(lambda conn: {"ids": jobs.insert_many(conn, body.jobs)}))
    return ok(await db.write_long(lambda conn: {"jobs": jobs.create_many(conn, body.jobs)}))


def _require_one_workflow(items: list[JobModel]) -> None:
    """A batch is one or more jobs of one workflow (as Torc): anything else is refused whole."""
    if not items:
        raise InvalidInput("bulk_jobs needs at least one job; the batch is empty")
    workflow_ids = sorted({job.workflow_id for job in items})
    if len(workflow_ids) > 1:
        raise InvalidInput(
            "all jobs in a batch must belong to one workflow; this batch names workflows "
            + ", ".join(map(str, workflow_ids))
        )


@router.get("/jobs", response_model=Page[JobModel])
def list_jobs(
    db: Db,
    workflow_id: int,
    status: JobStatus | None = None,
    needs_file_id: int | None = None,
    upstream_job_id: int | None = None,
    offset: int = 0,
    limit: int | None = None,
    sort_by: str | None = None,
    reverse_sort: bool | None = None,
    include_relationships: bool = False,
    active_compute_node_id: int | None = None,
    origin_is_set: bool | None = None,
    name: str | None = None,
    command: str | None = None,
) -> Json:
    with db.snapshot_reader() as conn:
        require(conn, "workflow", workflow_id)
        return ok(
            jobs.list_page(
                conn,
                workflow_id,
                status=status,
                needs_file_id=needs_file_id,
                upstream_job_id=upstream_job_id,
                include_relationships=include_relationships,
                active_compute_node_id=active_compute_node_id,
                origin_is_set=origin_is_set,
                name=name,
                command=command,
                offset=offset,
                limit=limit,
                sort_by=sort_by,
                reverse_sort=reverse_sort,
            )
        )


@router.delete("/jobs", response_model=DeleteCountResponse)
def delete_jobs(workflow_id: int, db: Db) -> Json:
    with db.transaction() as conn:
        require(conn, "workflow", workflow_id)
        return ok({"count": delete_where_workflow(conn, "job", workflow_id)})


@router.get("/jobs/{id}", response_model=JobModel)
async def get_job(id: int, db: Db) -> Json:
    return ok(await db.read(lambda conn: jobs.get(conn, id)))


@router.put("/jobs/{id}", response_model=JobModel)
def update_job(id: int, body: JobModel, db: Db) -> Json:
    with db.transaction() as conn:
        return ok(jobs.update(conn, id, body))


@router.delete("/jobs/{id}", response_model=JobModel)
def delete_job(id: int, db: Db) -> Json:
    with db.transaction() as conn:
        return ok(jobs.delete(conn, id))


@router.put("/jobs/{id}/start_job/{run_id}/{compute_node_id}", response_model=JobModel)
async def start_job(id: int, run_id: int, compute_node_id: int, db: Db) -> Json:
    return ok(await db.write(lambda conn: transitions.start_job(conn, id, run_id, compute_node_id)))


@router.post(
    "/jobs/{id}/complete_job/{status}/{run_id}",
    response_model=JobModel,
    openapi_extra=raw_json_body(ResultModel),
)
async def complete_job(id: int, status: JobStatus, run_id: int, request: Request, db: Db) -> Json:
    body = await parse_body(request, ResultModel)

    def complete(conn: Connection) -> dict[str, Any]:
        job = completion.complete_job(conn, id, status, run_id, body)
        outcomes.note_outcomes(conn, job["workflow_id"], [(id, status)])
        outcomes.note_if_complete(conn, job["workflow_id"])
        return job

    return ok(await db.write(complete))


@router.put("/jobs/{id}/manage_status_change/{status}/{run_id}", response_model=JobModel)
async def manage_status_change(id: int, status: JobStatus, run_id: int, db: Db) -> Json:
    return ok(
        await db.write(lambda conn: transitions.manage_status_change(conn, id, status, run_id))
    )


@router.post("/jobs/{id}/retry/{run_id}", response_model=JobModel)
async def retry_job(id: int, run_id: int, max_retries: int, db: Db) -> Json:
    return ok(await db.write(lambda conn: transitions.retry_job(conn, id, run_id, max_retries)))


@router.post("/jobs/{id}/fail/{run_id}", response_model=JobModel)
async def fail_pending_job(id: int, run_id: int, db: Db) -> Json:
    """pytorc: decide that a pending_failed job failed (see use_pending_failed); retry is
    POST /jobs/{id}/retry/{run_id}."""
    return ok(await db.write(lambda conn: transitions.fail_pending(conn, id, run_id)))
