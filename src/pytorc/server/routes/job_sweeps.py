"""/workflows/{id}/job_sweeps (pytorc extension): a parameter sweep expanded by the server."""

from __future__ import annotations

from fastapi import APIRouter

from pytorc.models import JobSweepModel, JobSweepResponse
from pytorc.server.db.job_sweeps import Sweep
from pytorc.server.routes.common import Db, Json, ok

router = APIRouter(tags=["jobs"])


@router.post("/workflows/{workflow_id}/job_sweeps", response_model=JobSweepResponse)
async def create_job_sweep(workflow_id: int, body: JobSweepModel, db: Db) -> Json:
    """Create the jobs of one template over its parameters (ids consecutive, in the order the
    spec would expand them); see JobSweepModel."""
    sweep = Sweep.parse(workflow_id, body)
    try:
        while not sweep.done:  # a chunk per write transaction while the workflow is created
            await db.write_long(sweep.step)
    except BaseException:
        await db.write_long(sweep.undo)
        raise
    return ok(sweep.answer())
