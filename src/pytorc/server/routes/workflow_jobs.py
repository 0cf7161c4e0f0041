"""Workflow-scoped job operations: initialize, reset, claim, batch completion, relationships."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from sqlite3 import Connection
from typing import Any, TypeVar

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from pytorc.models import (
    BatchCompleteJobsRequest,
    BatchCompleteJobsResponse,
    ClaimJobsBasedOnResources,
    ClaimNextJobsResponse,
    ComputeNodesResources,
    ExchangeJobsRequest,
    ExchangeJobsResponse,
    GetReadyJobRequirementsResponse,
    JobDependencyModel,
    JobFileRelationshipModel,
    JobUserDataRelationshipModel,
    ListMissingUserDataResponse,
    ListRequiredExistingFilesResponse,
    Page,
    ProcessChangedJobInputsResponse,
    ReleaseJobsRequest,
    ReleaseJobsResponse,
    ResetJobStatusResponse,
    RunningJobModel,
    SlurmJobCorrelationModel,
    TaskModel,
)
from pytorc.server.db import relationships, tasks, user_data, workflows
from pytorc.server.db.common import require
from pytorc.server.db.connection import Database
from pytorc.server.routes.common import Db, Json, ok, parse_body, raw_json_body
from pytorc.server.services import claiming, exchange, initialization, lifecycle, outcomes

router = APIRouter(tags=["workflows"])
T = TypeVar("T")


@router.post(
    "/workflows/{id}/initialize_jobs",
    response_model=dict[str, Any],
    responses={202: {"model": TaskModel, "description": "async=true: the task that ran"}},
)
def initialize_jobs(
    id: int,
    db: Db,
    request: Request,
    only_uninitialized: bool = False,
    clear_ephemeral_user_data: bool = True,
    async_: bool = Query(False, alias="async"),
    start_run_if_uninitialized: bool = Query(
        False,
        description="pytorc extension: initialize only a workflow none of whose jobs has left"
        " uninitialized, starting its run (reset_status) in the same transaction; otherwise"
        " change nothing and answer already_initialized=true. Two runners that start a new"
        " workflow together so initialize it once. The answer carries run_id.",
    ),
) -> Json | JSONResponse:
    # A worker thread: chunk by chunk through the writer's queue, other writes go between the
    # chunks (services/initialization.py) and the event loop goes on throughout.
    created = int(time.time() * 1000)
    chunk_jobs = request.app.state.settings.chunk_jobs
    plan = _after_initialization(
        lambda: db.write_queued(
            lambda conn: initialization.begin(
                conn, id, only_uninitialized, chunk_jobs, start_run_if_uninitialized
            )
        )
    )
    if plan.answer is not None:
        return ok(plan.answer)
    with _marked(db, id):
        for first, last in plan.chunks:
            db.write_queued(
                partial(initialization.initialize_chunk, plan=plan, first=first, last=last)
            )
        with db.transaction() as conn:
            summary = initialization.finish(conn, plan)
            if clear_ephemeral_user_data:
                user_data.clear_ephemeral(conn, id)
            if not async_:
                return ok(summary)
            # The work is already done; the task record lets async callers poll as they expect.
            finished = int(time.time() * 1000)
            task = tasks.create_finished(conn, id, "initialize_jobs", created, finished)
    return JSONResponse(task, status_code=202)


@contextmanager
def _marked(db: Database, id: int) -> Iterator[None]:
    """The chunks of a marked workflow (workflows.mark_initializing); one that fails leaves the
    mark dead, so its jobs stay held back until the next initialization takes it over."""
    try:
        yield
    except BaseException:
        with contextlib.suppress(Exception):  # the workflow may be gone (deleted meanwhile)
            db.write_queued(lambda conn: workflows.unmark_initializing(conn, id, done=False))
        raise


INITIALIZATION_WAIT_SECONDS = 600.0


def _after_initialization(work: Callable[[], T]) -> T:
    """`work()`, after waiting for an initialization of the same workflow that is under way
    (two `torc run ID` starting together both initialize): the single transaction the chunks
    replaced made such callers wait too. A 409 only past INITIALIZATION_WAIT_SECONDS."""
    deadline = time.monotonic() + INITIALIZATION_WAIT_SECONDS
    while True:
        try:
            return work()
        except workflows.Initializing:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)  # a worker thread; the initialization's chunks go on meanwhile


@router.post("/workflows/{id}/reset_status", response_model=dict[str, Any])
def reset_workflow_status(id: int, db: Db, force: bool = False) -> Json:
    with db.transaction() as conn:
        return ok(lifecycle.reset_status(conn, id, force))


@router.post("/workflows/{id}/reset_job_status", response_model=ResetJobStatusResponse)
def reset_job_status(id: int, db: Db, request: Request, failed_only: bool = False) -> Json:
    if failed_only:

        def reset() -> Json:
            with db.transaction() as conn:
                return ok(lifecycle.reset_failed_jobs(conn, id))

        return _after_initialization(reset)
    # Every job: in chunks, as initialize_jobs (a million jobs held other writes for 4-6 s).
    chunk_jobs = request.app.state.settings.chunk_jobs
    chunks = _after_initialization(
        lambda: db.write_queued(lambda conn: lifecycle.begin_reset(conn, id, chunk_jobs))
    )
    with _marked(db, id):
        n = sum(
            db.write_queued(partial(lifecycle.reset_chunk, workflow_id=id, first=a, last=b))
            for a, b in chunks
        )
        with db.transaction() as conn:
            return ok(lifecycle.finish_reset(conn, id, n))


@router.post(
    "/workflows/{id}/claim_jobs_based_on_resources/{limit}",
    response_model=ClaimJobsBasedOnResources,
)
async def claim_jobs_based_on_resources(
    id: int, limit: int, body: ComputeNodesResources, db: Db, strict_scheduler_match: bool = False
) -> Json:
    write = db.write_long if limit > exchange.SHORT_BATCH else db.write
    claimed, reason = await write(
        lambda conn: claiming.claim_by_resources(conn, id, limit, body, strict_scheduler_match)
    )
    return ok({"jobs": claimed, "reason": reason})


@router.post("/workflows/{id}/claim_next_jobs", response_model=ClaimNextJobsResponse)
async def claim_next_jobs(id: int, db: Db, limit: int = 10) -> Json:
    write = db.write_long if limit > exchange.SHORT_BATCH else db.write
    return ok({"jobs": await write(lambda conn: claiming.claim_next(conn, id, limit))})


@router.post("/workflows/{id}/batch_complete_jobs", response_model=BatchCompleteJobsResponse)
async def batch_complete_jobs(id: int, body: BatchCompleteJobsRequest, db: Db) -> Json:
    """Complete many jobs in one transaction; each entry succeeds or fails on its own."""

    def complete(conn: Connection) -> tuple[list[int], list[dict[str, Any]]]:
        run_id = require(conn, "workflow", id)["run_id"]
        completed, errors = exchange.complete_many(conn, id, run_id, body.completions)
        if completed:
            outcomes.note_if_complete(conn, id)
        return completed, errors

    write = db.write_long if len(body.completions) > exchange.SHORT_BATCH else db.write
    completed, errors = await write(complete)
    return ok({"completed": completed, "errors": errors})


@router.post(
    "/workflows/{id}/exchange_jobs",
    response_model=ExchangeJobsResponse,
    summary="Report starts and completions, hand back jobs, claim more (pytorc extension)",
    openapi_extra=raw_json_body(ExchangeJobsRequest),
)
async def exchange_jobs(id: int, request: Request, db: Db) -> Json:
    """One runner round trip: mark `started` jobs running, apply `completions` (each on its own,
    as batch_complete_jobs), make the `release` jobs ready again (claimed by this compute node
    and never started: its runner is stopping; see release_jobs), then claim up to
    `claim.limit` jobs (by count, or fitting `claim.resources`) for `compute_node_id`. Answers
    with what was applied, per-job errors, the claimed jobs and the workflow's is_complete /
    is_canceled, so a runner needs no other request on its hot path."""
    body = await parse_body(request, ExchangeJobsRequest)
    write = db.write_long if exchange.is_large(body) else db.write
    return ok(await write(lambda conn: exchange.exchange(conn, id, body)))


@router.post(
    "/workflows/{id}/release_jobs",
    response_model=ReleaseJobsResponse,
    summary="Make jobs a compute node claimed but never started ready again (pytorc extension)",
)
async def release_jobs(id: int, body: ReleaseJobsRequest, db: Db) -> Json:
    """What a stopping runner sends when it cannot send `release` in its last exchange_jobs:
    each listed job still pending under `compute_node_id`'s claim becomes ready; any other job
    (released already, claimed by another runner since, finished) is left as it is and gets an
    error."""

    def release(conn: Connection) -> tuple[list[int], list[dict[str, Any]]]:
        exchange.require_run(conn, id, body.run_id)
        return claiming.release(conn, id, body.compute_node_id, body.job_ids)

    released, errors = await db.write(release)
    return ok({"released": released, "errors": errors})


@router.get(
    "/workflows/{id}/ready_job_requirements", response_model=GetReadyJobRequirementsResponse
)
def get_ready_job_requirements(id: int, db: Db, scheduler_config_id: int | None = None) -> Json:
    with db.reader() as conn:
        return ok(relationships.ready_job_requirements(conn, id, scheduler_config_id))


@router.get(
    "/workflows/{id}/required_existing_files", response_model=ListRequiredExistingFilesResponse
)
def list_required_existing_files(id: int, db: Db) -> Json:
    with db.reader() as conn:
        return ok({"files": relationships.required_existing_files(conn, id)})


@router.get("/workflows/{id}/missing_user_data", response_model=ListMissingUserDataResponse)
def list_missing_user_data(id: int, db: Db) -> Json:
    with db.reader() as conn:
        return ok({"user_data": relationships.missing_user_data(conn, id)})


@router.post(
    "/workflows/{id}/process_changed_job_inputs", response_model=ProcessChangedJobInputsResponse
)
def process_changed_job_inputs(id: int, db: Db, dry_run: bool = False) -> Json:
    def process() -> list[str]:
        with db.transaction() as conn:
            return initialization.process_changed_job_inputs(conn, id, dry_run)

    return ok({"reinitialized_jobs": _after_initialization(process)})


def _paged(kind: str):  # type: ignore[no-untyped-def]
    def handler(
        id: int,
        db: Db,
        offset: int = 0,
        limit: int | None = None,
        sort_by: str | None = None,
        reverse_sort: bool | None = None,
    ) -> Json:
        with db.snapshot_reader() as conn:
            require(conn, "workflow", id)
            return ok(relationships.list_page(conn, kind, id, offset, limit, sort_by, reverse_sort))

    handler.__name__ = f"list_{kind}"
    return handler


router.get("/workflows/{id}/job_dependencies", response_model=Page[JobDependencyModel])(
    _paged("job_dependencies")
)
router.get("/workflows/{id}/job_file_relationships", response_model=Page[JobFileRelationshipModel])(
    _paged("job_file_relationships")
)
router.get(
    "/workflows/{id}/job_user_data_relationships", response_model=Page[JobUserDataRelationshipModel]
)(_paged("job_user_data_relationships"))
router.get("/workflows/{id}/running_jobs", response_model=Page[RunningJobModel])(
    _paged("running_jobs")
)
router.get("/workflows/{id}/slurm_job_correlations", response_model=Page[SlurmJobCorrelationModel])(
    _paged("slurm_job_correlations")
)
