"""`torc workflows correct-resources`: requirements set from what their jobs measured.

A requirement some job outgrew (measured peak memory, or run time, above it) is raised to the
largest measurement times a margin; with `downsize`, a requirement whose jobs all completed
well inside it is lowered the same way (a sweep that asked for 64g and peaked at 2g). The
measurements are each job's latest result (memory needs the resource monitor on).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from pytorc.client.api import TorcClient
from pytorc.units import UnitError, duration_seconds, format_duration, memory_bytes


@dataclass
class Correction:
    requirement: dict[str, Any]
    field: str  # "memory" or "runtime"
    old: str
    new: str
    basis: str  # the measurement, in words

    def describe(self) -> str:
        name = self.requirement["name"]
        return f"{name}: {self.field} {self.old} -> {self.new} ({self.basis})"

    def as_dict(self) -> dict[str, Any]:
        return {
            "resource_requirements_id": self.requirement["id"],
            "name": self.requirement["name"],
            "field": self.field,
            "old": self.old,
            "new": self.new,
            "basis": self.basis,
        }


@dataclass
class _Measured:
    peak_memory: int = 0
    seconds: float = 0.0
    jobs: int = 0
    all_completed: bool = True


def corrections(
    client: TorcClient,
    workflow_id: int,
    memory_multiplier: float = 1.2,
    runtime_multiplier: float = 1.2,
    job_ids: set[int] | None = None,
    downsize: bool = False,
) -> list[Correction]:
    measured = _measurements(client, workflow_id, job_ids)
    out: list[Correction] = []
    for record in client.iter_resource_requirements(workflow_id):
        seen = measured.get(int(record["id"]))
        if seen is None:
            continue
        shrink = downsize and seen.all_completed
        out += _memory(record, seen, memory_multiplier, shrink)
        out += _runtime(record, seen, runtime_multiplier, shrink)
    return out


def _measurements(
    client: TorcClient, workflow_id: int, job_ids: set[int] | None
) -> dict[int, _Measured]:
    requirement_of = {
        int(j["id"]): j.get("resource_requirements_id")
        for j in client.iter_jobs(workflow_id)
        if job_ids is None or int(j["id"]) in job_ids
    }
    latest: dict[int, dict[str, Any]] = {}
    for result in client.iter_results(workflow_id):
        job = int(result["job_id"])
        if job in requirement_of and (
            job not in latest or result["attempt_id"] >= latest[job]["attempt_id"]
        ):
            latest[job] = result
    measured: dict[int, _Measured] = {}
    for job, result in latest.items():
        rr_id = requirement_of[job]
        if rr_id is None:
            continue
        seen = measured.setdefault(int(rr_id), _Measured())
        seen.peak_memory = max(seen.peak_memory, int(result.get("peak_memory_bytes") or 0))
        seen.seconds = max(seen.seconds, float(result.get("exec_time_minutes") or 0) * 60)
        seen.jobs += 1
        seen.all_completed &= result.get("status") == "completed"
    return measured


def _memory(
    record: dict[str, Any], seen: _Measured, multiplier: float, shrink: bool
) -> list[Correction]:
    try:
        current = memory_bytes(str(record["memory"]))
    except UnitError:
        return []
    if not seen.peak_memory:
        return []
    wanted = seen.peak_memory * multiplier
    if seen.peak_memory <= current and not (shrink and wanted < current):
        return []
    new = f"{math.ceil(wanted / 2**20)}m"
    basis = f"peak {seen.peak_memory / 2**20:.0f} MiB over {seen.jobs} jobs"
    return [Correction(record, "memory", str(record["memory"]), new, basis)]


def _runtime(
    record: dict[str, Any], seen: _Measured, multiplier: float, shrink: bool
) -> list[Correction]:
    try:
        current = duration_seconds(str(record["runtime"]))
    except UnitError:
        return []
    if not seen.seconds:
        return []
    wanted = max(1.0, seen.seconds * multiplier)
    if seen.seconds <= current and not (shrink and wanted < current):
        return []
    new = format_duration(math.ceil(wanted))
    basis = f"longest run {seen.seconds:.0f} s over {seen.jobs} jobs"
    return [Correction(record, "runtime", str(record["runtime"]), new, basis)]


def apply(client: TorcClient, found: list[Correction]) -> None:
    for correction in found:
        record = correction.requirement
        record[correction.field] = correction.new
        client.put(f"/resource_requirements/{record['id']}", record)
