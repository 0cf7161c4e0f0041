"""New allocations for what a workflow has left to do (after a failure, a walltime that was too
short, or canceled allocations): planned from the server's records, stored as recovery
schedulers and schedule_nodes actions that `torc submit` (or `--submit`) runs."""

from __future__ import annotations

import time
from typing import Any

from pytorc.client.api import TorcClient
from pytorc.errors import InvalidInput
from pytorc.slurm.hpc import Profile
from pytorc.slurm.plan import JobItem, Plan, PlanOptions, Size, plan_items
from pytorc.units import UnitError

LEFT = ("uninitialized", "ready", "blocked")  # jobs that still have to run


def left_items(client: TorcClient, workflow_id: int, include: set[int]) -> list[JobItem]:
    """The jobs still to run (and those in `include`), as planning items."""
    requirements = {
        r["id"]: r for r in client.iter_pages("/resource_requirements", workflow_id=workflow_id)
    }
    items = []
    for job in client.iter_pages("/jobs", workflow_id=workflow_id):
        if job["status"] not in LEFT and job["id"] not in include:
            continue
        record = requirements.get(job.get("resource_requirements_id"))
        try:
            size = _size(record)
        except UnitError as exc:
            raise InvalidInput(f"job {job['name']}: {exc}") from None
        name = record["name"] if record else "default"
        items.append(JobItem(job["name"], name, size, job["status"] == "blocked"))
    return items


def _size(record: dict[str, Any] | None) -> Size:
    from pytorc.spec.model import ResourceRequirementsSpec

    if record is None:
        from pytorc.slurm.plan import DEFAULT_REQUIREMENTS

        return Size.of(DEFAULT_REQUIREMENTS)
    fields = ("name", "num_cpus", "memory", "runtime", "num_gpus", "num_nodes")
    rr = ResourceRequirementsSpec.model_validate(
        {k: record[k] for k in fields if record.get(k) is not None}
    )
    return Size.of(rr)


def account_of(client: TorcClient, workflow_id: int) -> str | None:
    """The account the workflow's existing Slurm configs charge, if they agree on one."""
    accounts = {
        c["account"] for c in client.iter_pages("/slurm_schedulers", workflow_id=workflow_id)
    }
    return accounts.pop() if len(accounts) == 1 else None


def regenerate(
    client: TorcClient,
    workflow_id: int,
    profile: Profile,
    options: PlanOptions,
    include: set[int],
    dry_run: bool = False,
) -> Plan:
    """Plan and (unless a dry run) store recovery schedulers and actions for what is left."""
    items = left_items(client, workflow_id, include)
    if not items:
        raise InvalidInput(f"workflow {workflow_id} has no job left to run")
    stamp = time.strftime("regen_%Y%m%d_%H%M%S")
    planned = plan_items(items, profile, options, suffix=stamp)
    if dry_run:
        return planned
    ids = {}
    for scheduler in planned.schedulers:
        created = client.post("/slurm_schedulers", {"workflow_id": workflow_id, **scheduler})
        ids[scheduler["name"]] = int(created["id"])
    job_ids = {j["name"]: j["id"] for j in client.iter_pages("/jobs", workflow_id=workflow_id)}
    for action in planned.actions:
        config = {
            "scheduler_type": "slurm",
            "scheduler_id": ids[action["scheduler"]],
            "num_allocations": action["num_allocations"],
            "start_one_worker_per_node": action["start_one_worker_per_node"],
        }
        body: dict[str, Any] = {
            "workflow_id": workflow_id,
            "trigger_type": action["trigger_type"],
            "action_type": "schedule_nodes",
            "action_config": config,
            "is_recovery": True,
        }
        if action.get("jobs"):
            body["job_ids"] = [job_ids[name] for name in action["jobs"]]
        client.create_workflow_action(workflow_id, body)
    return planned
