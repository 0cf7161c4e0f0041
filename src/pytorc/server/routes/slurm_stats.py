"""/slurm_stats."""

from __future__ import annotations

from fastapi import APIRouter

from pytorc.models import Page, SlurmStatsModel
from pytorc.server.db import slurm_stats
from pytorc.server.db.common import require
from pytorc.server.routes.common import Db, Json, ok

router = APIRouter(tags=["slurm_stats"])


@router.post("/slurm_stats", response_model=SlurmStatsModel)
def create_slurm_stats(body: SlurmStatsModel, db: Db) -> Json:
    with db.transaction() as conn:
        return ok(slurm_stats.create(conn, body))


@router.get("/slurm_stats", response_model=Page[SlurmStatsModel])
def list_slurm_stats(
    db: Db,
    workflow_id: int,
    job_id: int | None = None,
    run_id: int | None = None,
    attempt_id: int | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> Json:
    with db.snapshot_reader() as conn:
        require(conn, "workflow", workflow_id)
        return ok(
            slurm_stats.list_page(
                conn,
                workflow_id,
                job_id=job_id,
                run_id=run_id,
                attempt_id=attempt_id,
                offset=offset,
                limit=limit,
            )
        )
