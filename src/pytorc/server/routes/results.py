"""/results."""

from __future__ import annotations

from fastapi import APIRouter

from pytorc.models import DeleteCountResponse, Page, ResultModel
from pytorc.server.db import results
from pytorc.server.db.common import delete_where_workflow, require
from pytorc.server.routes.common import Db, Json, ok
from pytorc.vocabulary import JobStatus

router = APIRouter(tags=["results"])


@router.post("/results", response_model=ResultModel)
def create_result(body: ResultModel, db: Db) -> Json:
    with db.transaction() as conn:
        return ok(results.create(conn, body))


@router.get("/results", response_model=Page[ResultModel])
def list_results(
    db: Db,
    workflow_id: int,
    job_id: int | None = None,
    run_id: int | None = None,
    return_code: int | None = None,
    status: JobStatus | None = None,
    compute_node_id: int | None = None,
    offset: int = 0,
    limit: int | None = None,
    sort_by: str | None = None,
    reverse_sort: bool | None = None,
    all_runs: bool = False,
) -> Json:
    with db.snapshot_reader() as conn:
        require(conn, "workflow", workflow_id)
        return ok(
            results.list_page(
                conn,
                workflow_id,
                job_id=job_id,
                run_id=run_id,
                return_code=return_code,
                status=status,
                compute_node_id=compute_node_id,
                all_runs=all_runs,
                offset=offset,
                limit=limit,
                sort_by=sort_by,
                reverse_sort=reverse_sort,
            )
        )


@router.delete("/results", response_model=DeleteCountResponse)
def delete_results(workflow_id: int, db: Db) -> Json:
    with db.transaction() as conn:
        require(conn, "workflow", workflow_id)
        return ok({"count": delete_where_workflow(conn, "result", workflow_id)})


@router.get("/results/{id}", response_model=ResultModel)
def get_result(id: int, db: Db) -> Json:
    with db.reader() as conn:
        return ok(results.get(conn, id))


@router.put("/results/{id}", response_model=ResultModel)
def update_result(id: int, body: ResultModel, db: Db) -> Json:
    with db.transaction() as conn:
        return ok(results.update(conn, id, body))


@router.delete("/results/{id}", response_model=ResultModel)
def delete_result(id: int, db: Db) -> Json:
    with db.transaction() as conn:
        return ok(results.delete(conn, id))
