"""Bringing the server's view in line with Slurm's: allocations that ended (finished, canceled,
killed at walltime) without their runners reporting leave jobs `running` or `pending` under
compute nodes that no longer exist. Slurm's queue is the truth about which allocations live."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pytorc.client.api import TorcClient
from pytorc.runner.outcome import now_iso
from pytorc.slurm import commands

ORPHANED_RETURN_CODE = -128  # Torc's code for a job whose allocation vanished under it
QueueStates = Callable[[list[str]], dict[str, str]]


@dataclass
class SyncReport:
    """What sync found (and, unless a dry run, did)."""

    gone_allocations: list[str] = field(default_factory=list)  # Slurm job ids
    failed_jobs: list[dict[str, Any]] = field(default_factory=list)  # id, name, slurm_job_id
    released_jobs: list[int] = field(default_factory=list)  # claimed, never started: ready again

    def as_dict(self) -> dict[str, Any]:
        return {
            "gone_allocations": self.gone_allocations,
            "failed_jobs": self.failed_jobs,
            "released_jobs": self.released_jobs,
        }


def live_allocations(client: TorcClient, workflow_id: int) -> list[dict[str, Any]]:
    """The workflow's Slurm allocations the server thinks pending or active."""
    return [
        s
        for s in client.iter_pages("/scheduled_compute_nodes", workflow_id=workflow_id)
        if s["scheduler_type"] == "slurm" and s["status"] in ("pending", "active")
    ]


def sync_status(
    client: TorcClient,
    workflow_id: int,
    dry_run: bool = False,
    queue_states: QueueStates = commands.queue_states,
) -> SyncReport:
    """Fail the running jobs of allocations Slurm no longer has, make their claimed jobs ready,
    mark their compute nodes inactive and the allocations complete."""
    report = SyncReport()
    allocations = live_allocations(client, workflow_id)
    queued = queue_states([str(s["scheduler_id"]) for s in allocations])
    gone = [s for s in allocations if str(s["scheduler_id"]) not in queued]
    if not gone:
        return report
    run_id = int(client.get_workflow(workflow_id)["run_id"])
    pending = [
        j["id"] for j in client.iter_pages("/jobs", workflow_id=workflow_id, status="pending")
    ]
    for allocation in gone:
        slurm_job_id = str(allocation["scheduler_id"])
        report.gone_allocations.append(slurm_job_id)
        nodes = client.iter_pages(
            "/compute_nodes", workflow_id=workflow_id, scheduled_compute_node_id=allocation["id"]
        )
        for node in nodes:
            _orphans(client, report, node, slurm_job_id, run_id, pending, dry_run)
        if not dry_run:
            client.put(
                f"/scheduled_compute_nodes/{allocation['id']}", {**allocation, "status": "complete"}
            )
    return report


def _orphans(
    client: TorcClient,
    report: SyncReport,
    node: dict[str, Any],
    slurm_job_id: str,
    run_id: int,
    pending: list[int],
    dry_run: bool,
) -> None:
    """One vanished compute node: fail what it ran, release what it held."""
    workflow_id = int(node["workflow_id"])
    running = list(
        client.iter_pages("/jobs", workflow_id=workflow_id, active_compute_node_id=node["id"])
    )
    for job in running:
        report.failed_jobs.append(
            {"id": job["id"], "name": job["name"], "slurm_job_id": slurm_job_id}
        )
        if not dry_run:
            client.post(
                f"/jobs/{job['id']}/complete_job/failed/{run_id}", _orphan_result(job, node, run_id)
            )
    if pending and not dry_run:
        answer = client.release_jobs(workflow_id, run_id, int(node["id"]), pending)
        report.released_jobs += answer["released"]
    if not dry_run and node.get("is_active"):
        client.put(f"/compute_nodes/{node['id']}", {**node, "is_active": False})


def _orphan_result(job: dict[str, Any], node: dict[str, Any], run_id: int) -> dict[str, Any]:
    return {
        "job_id": job["id"],
        "workflow_id": job["workflow_id"],
        "run_id": run_id,
        "attempt_id": job.get("attempt_id") or 1,
        "compute_node_id": node["id"],
        "return_code": ORPHANED_RETURN_CODE,
        "exec_time_minutes": 0.0,
        "completion_time": now_iso(),
        "status": "failed",
    }
