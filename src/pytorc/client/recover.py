"""`torc recover`: size the jobs that ran out of memory or time up, and send them back.

Each failed, terminated or pending_failed job of the current run is diagnosed (client/
diagnose.py). An OOM job gets memory x `memory_multiplier`, or 1.2 x its own measured peak if
that is more; a timeout gets runtime x `runtime_multiplier`, or 1.2 x its measured run time.
Beyond Torc, which edits the shared requirement (so every job using it grows), the fixed jobs get
a requirement of their own (`<name>_recovered_<cause>`), so their siblings keep theirs. A job
lost with its runner is retried as it is; any other failure (`exit`, `signal`) only with
`retry_unknown`. Each retried job becomes its next attempt, ready, and its dependents wait for it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from pytorc.client.api import TorcClient
from pytorc.client.diagnose import NODE_LOST, OOM, TIMEOUT, Diagnosis, diagnose
from pytorc.units import UnitError, duration_seconds, format_duration, memory_bytes

FAILED = ("failed", "terminated", "pending_failed")
MEASURED_MARGIN = 1.2  # over a measured peak, when sizing from it


@dataclass
class Fix:
    """What recovery does for one job."""

    job: dict[str, Any]
    diagnosis: Diagnosis
    retry: bool
    changes: dict[str, str] = field(default_factory=dict)  # requirement field -> new value
    before: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        what = ", ".join(f"{k} {self.before.get(k)} -> {v}" for k, v in self.changes.items())
        action = what or ("retried as it is" if self.retry else "left failed")
        return (
            f"job {self.job['id']} ({self.job['name']}): {self.diagnosis.cause},"
            f" {self.diagnosis.reason}; {action}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job["id"],
            "job_name": self.job["name"],
            **self.diagnosis.as_dict(),
            "retry": self.retry,
            "changes": self.changes,
            "before": self.before,
        }


def plan(
    client: TorcClient,
    workflow_id: int,
    memory_multiplier: float = 1.5,
    runtime_multiplier: float = 1.4,
    retry_unknown: bool = False,
) -> list[Fix]:
    """The fix for each failed job of the workflow's current run."""
    jobs = [j for status in FAILED for j in client.iter_jobs(workflow_id, status=status)]
    if not jobs:
        return []
    latest = _latest_results(client, workflow_id, {int(j["id"]) for j in jobs})
    requirements: dict[int, dict[str, Any]] = {}
    fixes = []
    for job in sorted(jobs, key=lambda j: int(j["id"])):
        rr_id = job.get("resource_requirements_id")
        if rr_id is not None and rr_id not in requirements:
            requirements[rr_id] = client.get(f"/resource_requirements/{rr_id}")
        requirement = requirements.get(rr_id) if rr_id is not None else None
        result = latest.get(int(job["id"]), {"return_code": 1})
        found = diagnose(result, requirement)
        fix = Fix(job, found, retry=found.cause in (OOM, TIMEOUT, NODE_LOST) or retry_unknown)
        if requirement is not None and found.cause == OOM:
            _grow_memory(fix, requirement, result, memory_multiplier)
        elif requirement is not None and found.cause == TIMEOUT:
            _grow_runtime(fix, requirement, result, runtime_multiplier)
        fixes.append(fix)
    return fixes


def _latest_results(
    client: TorcClient, workflow_id: int, job_ids: set[int]
) -> dict[int, dict[str, Any]]:
    latest: dict[int, dict[str, Any]] = {}
    for result in client.iter_results(workflow_id):
        job_id = int(result["job_id"])
        if job_id in job_ids and (
            job_id not in latest or result["attempt_id"] >= latest[job_id]["attempt_id"]
        ):
            latest[job_id] = result
    return latest


def _grow_memory(
    fix: Fix, requirement: dict[str, Any], result: dict[str, Any], multiplier: float
) -> None:
    try:
        current = memory_bytes(str(requirement["memory"]))
    except UnitError:
        return
    wanted = current * multiplier
    peak = result.get("peak_memory_bytes")
    if peak:
        wanted = max(wanted, peak * MEASURED_MARGIN)
    fix.before["memory"] = str(requirement["memory"])
    fix.changes["memory"] = f"{math.ceil(wanted / 2**20)}m"


def _grow_runtime(
    fix: Fix, requirement: dict[str, Any], result: dict[str, Any], multiplier: float
) -> None:
    try:
        current = duration_seconds(str(requirement["runtime"]))
    except UnitError:
        return
    ran = float(result.get("exec_time_minutes") or 0) * 60
    wanted = max(current * multiplier, ran * MEASURED_MARGIN)
    fix.before["runtime"] = str(requirement["runtime"])
    fix.changes["runtime"] = format_duration(math.ceil(wanted))


def apply(client: TorcClient, workflow_id: int, fixes: list[Fix]) -> list[int]:
    """Give the fixed jobs their new requirements and send every retried job back to ready;
    the ids retried."""
    run_id = int(client.get_workflow(workflow_id)["run_id"])
    new_requirements: dict[tuple[int, str, str], int] = {}
    retried = []
    for fix in fixes:
        if not fix.retry:
            continue
        job_id = int(fix.job["id"])
        attempts = int(fix.job.get("attempt_id") or 1) + 1
        client.post(f"/jobs/{job_id}/retry/{run_id}", max_retries=attempts)
        if fix.changes:
            key = (int(fix.job["resource_requirements_id"]), fix.diagnosis.cause, repr(fix.changes))
            if key not in new_requirements:
                new_requirements[key] = _new_requirement(client, fix)
            _move_to(client, job_id, run_id, new_requirements[key])
        retried.append(job_id)
    return retried


def _new_requirement(client: TorcClient, fix: Fix) -> int:
    old = client.get(f"/resource_requirements/{fix.job['resource_requirements_id']}")
    record = {k: v for k, v in old.items() if k != "id"}
    record.update(fix.changes)
    record["name"] = f"{old['name']}_recovered_{fix.diagnosis.cause}"
    return int(client.post("/resource_requirements", record)["id"])


def _move_to(client: TorcClient, job_id: int, run_id: int, rr_id: int) -> None:
    """Point a ready job at another requirement: jobs are edited only while uninitialized."""
    client.put(f"/jobs/{job_id}/manage_status_change/uninitialized/{run_id}")
    job = client.get(f"/jobs/{job_id}")
    client.put(f"/jobs/{job_id}", {**job, "resource_requirements_id": rr_id})
    client.put(f"/jobs/{job_id}/manage_status_change/ready/{run_id}")
