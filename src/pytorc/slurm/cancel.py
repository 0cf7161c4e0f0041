"""scancel a workflow's Slurm allocations when the workflow is canceled."""

from __future__ import annotations

from pytorc.client.api import TorcClient
from pytorc.slurm import commands
from pytorc.slurm.sync import live_allocations


def cancel_allocations(client: TorcClient, workflow_id: int) -> tuple[list[str], str | None]:
    """The Slurm job ids scancel'ed, and why not all could be (None when all were)."""
    job_ids = [str(s["scheduler_id"]) for s in live_allocations(client, workflow_id)]
    if not job_ids:
        return [], None
    try:
        commands.cancel(job_ids)
    except commands.SlurmError as exc:
        return [], f"the workflow's Slurm jobs {', '.join(job_ids)} were not canceled: {exc}"
    return job_ids, None
