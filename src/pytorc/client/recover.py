"""`torc recover`: size the jobs that ran out of memory or time up, and send them back.

Each failed, terminated or pending_failed job of the current run is diagnosed (client/
diagnose.py). An OOM job gets memory x `memory_multiplier`, or 1.2 x the largest measured peak
of itself and of its completed siblings (jobs sharing its requirement, as in a parameter sweep)
if that is more: with no limit enforced, siblings that finished show what the job really needs,
where a blind multiplier may fall short again. A timeout gets runtime the same way.
Beyond Torc, which edits the shared requirement (so every job using it grows), the fixed jobs get
a requirement of their own (`<name>_recovered_<cause>`), so their siblings keep theirs. A job
lost with its runner, or stopped by it, is retried as it is; any other failure (`exit`,
`signal`) only with `retry_unknown`. Each retried job becomes its next attempt, ready, and its
dependents wait for it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from pytorc.client.api import TorcClient
from pytorc.client.diagnose import NODE_LOST, OOM, STOPPED, TIMEOUT, Diagnosis, diagnose
from pytorc.units import UnitError, duration_seconds, format_duration, memory_bytes

FAILED = ("failed", "terminated", "pending_failed")
MEASURED_MARGIN = 1.2  # over a measured peak, when sizing from it
RETRIED = frozenset({OOM, TIMEOUT, NODE_LOST, STOPPED})  # causes retried without being asked


@dataclass
class Fix:
    """What recovery does for one job."""

    job: dict[str, Any]
    diagnosis: Diagnosis
    retry: bool
    changes: dict[str, str] = field(default_factory=dict)  # requirement field -> new value
    before: dict[str, str] = field(default_factory=dict)
    basis: str = ""  # what the new value rests on

    def describe(self) -> str:
        what = ", ".join(f"{k} {self.before.get(k)} -> {v}" for k, v in self.changes.items())
        what += f" ({self.basis})" if self.basis else ""
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
            "basis": self.basis,
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
    siblings = _sibling_measures(client, workflow_id)
    requirements: dict[int, dict[str, Any]] = {}
    fixes = []
    for job in sorted(jobs, key=lambda j: int(j["id"])):
        rr_id = job.get("resource_requirements_id")
        if rr_id is not None and rr_id not in requirements:
            requirements[rr_id] = client.get(f"/resource_requirements/{rr_id}")
        requirement = requirements.get(rr_id) if rr_id is not None else None
        result = latest.get(int(job["id"]), {"return_code": 1})
        found = diagnose(result, requirement)
        fix = Fix(job, found, retry=found.cause in RETRIED or retry_unknown)
        measured = siblings.get(rr_id, _Measured()) if rr_id is not None else _Measured()
        if requirement is not None and found.cause == OOM:
            _grow_memory(fix, requirement, result, memory_multiplier, measured.peak)
        elif requirement is not None and found.cause == TIMEOUT:
            _grow_runtime(fix, requirement, result, runtime_multiplier, measured.seconds)
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


@dataclass
class _Measured:
    peak: int = 0  # bytes
    seconds: float = 0.0


def _sibling_measures(client: TorcClient, workflow_id: int) -> dict[int, _Measured]:
    """Per requirement, the largest peak memory and run time its completed jobs measured."""
    requirement_of = {
        int(j["id"]): j.get("resource_requirements_id")
        for j in client.iter_jobs(workflow_id, status="completed")
    }
    out: dict[int, _Measured] = {}
    for result in client.iter_results(workflow_id, status="completed"):
        rr_id = requirement_of.get(int(result["job_id"]))
        if rr_id is None:
            continue
        seen = out.setdefault(int(rr_id), _Measured())
        seen.peak = max(seen.peak, int(result.get("peak_memory_bytes") or 0))
        seen.seconds = max(seen.seconds, float(result.get("exec_time_minutes") or 0) * 60)
    return out


def _largest(candidates: dict[str, float]) -> tuple[float, str]:
    """The largest candidate value and the name of what gave it."""
    name = max(candidates, key=lambda k: candidates[k])
    return candidates[name], name


def _grow_memory(
    fix: Fix,
    requirement: dict[str, Any],
    result: dict[str, Any],
    multiplier: float,
    sibling_peak: int,
) -> None:
    try:
        current = memory_bytes(str(requirement["memory"]))
    except UnitError:
        return
    wanted, fix.basis = _largest(
        {
            f"x{multiplier:g}": current * multiplier,
            "1.2 x its measured peak": (result.get("peak_memory_bytes") or 0) * MEASURED_MARGIN,
            "1.2 x its completed siblings' peak": sibling_peak * MEASURED_MARGIN,
        }
    )
    fix.before["memory"] = str(requirement["memory"])
    fix.changes["memory"] = f"{math.ceil(wanted / 2**20)}m"


def _grow_runtime(
    fix: Fix,
    requirement: dict[str, Any],
    result: dict[str, Any],
    multiplier: float,
    sibling_seconds: float,
) -> None:
    try:
        current = duration_seconds(str(requirement["runtime"]))
    except UnitError:
        return
    ran = float(result.get("exec_time_minutes") or 0) * 60
    wanted, fix.basis = _largest(
        {
            f"x{multiplier:g}": current * multiplier,
            "1.2 x its run time": ran * MEASURED_MARGIN,
            "1.2 x its completed siblings' run time": sibling_seconds * MEASURED_MARGIN,
        }
    )
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
