"""Resuming a workflow the way people expect after Ctrl-C: `torc run ID` runs the interrupted
jobs again, and `torc run SPEC` points at the unfinished workflow made from the same spec.

A stop signal leaves the jobs that were running `terminated` and their dependents `canceled`,
which makes the workflow "complete" to the server; without this, running it again ran nothing.
Failed jobs, and jobs terminated at their runtime limit, stay as they are: they ended for a
reason of their own (`torc recover` and `torc jobs retry` are for those).
"""

from __future__ import annotations

from typing import Any

from pytorc.client.api import TorcClient


def interrupted(client: TorcClient, workflow_id: int) -> list[dict[str, Any]]:
    """The workflow's jobs a stop killed (terminated, and not by their own runtime limit),
    unless the workflow itself was canceled."""
    if client.get_workflow(workflow_id).get("is_canceled"):
        return []
    jobs = list(client.iter_jobs(workflow_id, status="terminated"))
    if not jobs:
        return []
    from pytorc.client.diagnose import STOPPED, diagnose  # only with terminated jobs

    latest: dict[int, dict[str, Any]] = {}
    for result in client.iter_results(workflow_id, status="terminated"):
        latest[int(result["job_id"])] = result  # the current attempt's, newest last
    return [
        job
        for job in jobs
        if job["id"] not in latest or diagnose(latest[job["id"]], None).cause == STOPPED
    ]


def resume(client: TorcClient, workflow_id: int, jobs: list[dict[str, Any]]) -> list[int]:
    """Send each interrupted job back to ready as its next attempt (its canceled dependents
    wait for it again); the ids resumed."""
    run_id = int(client.get_workflow(workflow_id)["run_id"])
    resumed = []
    for job in jobs:
        attempts = int(job.get("attempt_id") or 1) + 1
        client.post(f"/jobs/{job['id']}/retry/{run_id}", max_retries=attempts)
        resumed.append(int(job["id"]))
    return resumed


def unfinished_from(client: TorcClient, name: str, user: str) -> dict[str, Any] | None:
    """The newest workflow of `user` named `name` that has work left or interrupted jobs."""
    for workflow in sorted(
        client.iter_workflows(name=name, user=user), key=lambda w: -int(w["id"])
    ):
        if workflow.get("is_canceled") or workflow.get("is_archived"):
            continue
        status = client.workflow_status(int(workflow["id"]))
        counts = status["jobs_by_status"]
        if not status["is_complete"] or counts.get("terminated"):
            return workflow
        return None  # the newest one finished: a new run is what is meant
    return None
