"""`reports check-resource-utilization`: which jobs used more than their resource requirements.

For each job's result, peak memory is compared with the requirement's `memory`, peak CPU % with
100 x `num_cpus`, and execution time with `runtime`. Failed and terminated jobs (with
include_failed) also get a diagnosis: likely_oom when peak memory passed the requirement, or
when the job was killed (137) before 80 % of its runtime; likely_timeout when it ran past 90 % of
its runtime, or exited 152 (Torc's timeout exit code).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pytorc.reports.formatting import format_bytes, format_seconds
from pytorc.units import UnitError, duration_seconds, memory_bytes

if TYPE_CHECKING:
    from pytorc.client.api import TorcClient

OOM_EXIT_CODE = 137  # 128 + SIGKILL
TIMEOUT_EXIT_CODE = 152  # 128 + SIGXCPU
OOM_BEFORE_RUNTIME_SHARE = 0.8  # a SIGKILL before this share of the runtime: memory, not time
TIMEOUT_RUNTIME_SHARE = 0.9
FAILED_STATUSES = ("failed", "terminated")


@dataclass
class Requirements:
    """A job's requirements, parsed; None where the value does not parse."""

    memory_text: str
    runtime_text: str
    num_cpus: int
    memory: int | None
    runtime: float | None

    @classmethod
    def from_record(cls, rr: dict[str, Any]) -> Requirements:
        memory_text, runtime_text = str(rr.get("memory") or ""), str(rr.get("runtime") or "")
        try:
            memory: int | None = memory_bytes(memory_text)
        except UnitError:
            memory = None
        try:
            runtime: float | None = duration_seconds(runtime_text)
        except UnitError:
            runtime = None
        cpus = int(rr.get("num_cpus") or 1)
        return cls(memory_text, runtime_text, cpus, memory or None, runtime or None)


def check_resource_utilization(
    client: TorcClient,
    workflow_id: int,
    run_id: int | None = None,
    show_all: bool = False,
    include_failed: bool = False,
    min_over_utilization: float = 1.0,
) -> dict[str, Any]:
    """The report for each job's latest result, or for every result of one run."""
    wanted = ("completed", *FAILED_STATUSES) if include_failed else ("completed",)
    # A run other than the latest is only in the full history (all_runs).
    found = client.iter_results(workflow_id, run_id=run_id, all_runs=run_id is not None or None)
    results = [r for r in found if r["status"] in wanted]
    jobs = {j["id"]: j for j in client.iter_jobs(workflow_id)} if results else {}
    rrs = {
        rr["id"]: Requirements.from_record(rr)
        for rr in (client.iter_resource_requirements(workflow_id) if results else [])
    }
    return analyze(
        workflow_id, run_id, results, jobs, rrs, show_all, include_failed, min_over_utilization
    )


def analyze(
    workflow_id: int,
    run_id: int | None,
    results: Iterable[dict[str, Any]],
    jobs: dict[int, dict[str, Any]],
    rrs: dict[int, Requirements],
    show_all: bool = False,
    include_failed: bool = False,
    min_over_utilization: float = 1.0,
) -> dict[str, Any]:
    """Compare results with requirements (no I/O): Torc's report, as a dict."""
    rows: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    total = 0
    for result in results:
        total += 1
        job = jobs.get(result["job_id"])
        rr = rrs.get(job.get("resource_requirements_id") or -1) if job else None
        if job is None or rr is None:
            continue  # no requirements to compare with
        if result["status"] in FAILED_STATUSES:
            failed.append(diagnose(result, job["name"], rr))
        for row in _compare(result, job["name"], rr):
            if row["over"] >= min_over_utilization or (show_all and row["over"] <= 0):
                rows.append(row)
    violations = [_render(row) for row in rows]
    report: dict[str, Any] = {
        "workflow_id": workflow_id,
        "run_id": run_id,
        "total_results": total,
        "over_utilization_count": sum(1 for row in rows if row["over"] > 0),
        "violations": violations,
    }
    if run_id is None:
        del report["run_id"]  # as Torc: absent when the latest results were analyzed
    if include_failed:
        report["failed_jobs_count"] = len(failed)
        report["failed_jobs"] = failed
    return report


def _compare(result: dict[str, Any], name: str, rr: Requirements) -> list[dict[str, Any]]:
    """One row per resource that can be compared: how far above (+) or below (-) it was."""
    rows = []
    base = {"job_id": result["job_id"], "job_name": name}
    peak_memory = result.get("peak_memory_bytes")
    if peak_memory is not None and rr.memory:
        rows.append(
            {
                **base,
                "resource_type": "Memory",
                "specified": rr.memory,
                "peak_used": peak_memory,
                "over": _over(peak_memory, rr.memory),
            }
        )
    peak_cpu = result.get("peak_cpu_percent")
    if peak_cpu is not None:
        allowed = 100.0 * rr.num_cpus
        rows.append(
            {
                **base,
                "resource_type": "CPU",
                "specified": allowed,
                "cpus": rr.num_cpus,
                "peak_used": peak_cpu,
                "over": _over(peak_cpu, allowed),
            }
        )
    seconds = float(result.get("exec_time_minutes") or 0.0) * 60.0
    if rr.runtime:
        rows.append(
            {
                **base,
                "resource_type": "Runtime",
                "specified": rr.runtime,
                "peak_used": seconds,
                "over": _over(seconds, rr.runtime),
            }
        )
    return rows


def _over(used: float, allowed: float) -> float:
    """Percent above the allowance (negative: below it)."""
    return (used / allowed - 1.0) * 100.0


def _render(row: dict[str, Any]) -> dict[str, Any]:
    kind, specified, used = row["resource_type"], row["specified"], row["peak_used"]
    if kind == "Memory":
        spec_text, used_text = format_bytes(specified), format_bytes(used)
    elif kind == "CPU":
        spec_text, used_text = f"{specified:.0f}% ({row['cpus']} cores)", f"{used:.1f}%"
    else:
        spec_text, used_text = format_seconds(specified), format_seconds(used)
    over = row["over"]
    return {
        "job_id": row["job_id"],
        "job_name": row["job_name"],
        "resource_type": kind,
        "specified": spec_text,
        "peak_used": used_text,
        "over_utilization": f"+{over:.1f}%" if over > 0 else f"-{-over:.1f}%",
    }


def diagnose(result: dict[str, Any], name: str, rr: Requirements) -> dict[str, Any]:
    """Why a failed or terminated job probably failed: memory, time, or CPU."""
    rc = int(result["return_code"])
    seconds = float(result.get("exec_time_minutes") or 0.0) * 60.0
    peak_memory = result.get("peak_memory_bytes")
    peak_cpu = result.get("peak_cpu_percent")
    info: dict[str, Any] = {
        "job_id": result["job_id"],
        "job_name": name,
        "return_code": rc,
        "exec_time_minutes": result.get("exec_time_minutes"),
        "configured_memory": rr.memory_text,
        "configured_runtime": rr.runtime_text,
        "configured_cpus": rr.num_cpus,
        "peak_memory_bytes": peak_memory,
        "peak_memory_formatted": format_bytes(peak_memory) if peak_memory is not None else None,
        "likely_oom": False,
        "oom_reason": None,
        "memory_over_utilization": None,
        "likely_timeout": False,
        "timeout_reason": None,
        "runtime_utilization": None,
        "likely_cpu_violation": peak_cpu is not None and peak_cpu > 100.0 * rr.num_cpus,
        "peak_cpu_percent": peak_cpu,
    }
    if peak_memory is not None and rr.memory and peak_memory > rr.memory:
        info.update(
            likely_oom=True,
            oom_reason="memory_exceeded",
            memory_over_utilization=f"+{_over(peak_memory, rr.memory):.1f}%",
        )
    share = seconds / rr.runtime if rr.runtime else None
    if share is not None:
        info["runtime_utilization"] = f"{100.0 * share:.1f}%"
        if share > TIMEOUT_RUNTIME_SHARE:
            info.update(likely_timeout=True, timeout_reason="runtime_exceeded_90_percent")
    if rc == TIMEOUT_EXIT_CODE:
        info.update(likely_timeout=True, timeout_reason="sigxcpu_152")
    killed_early = share is None or share < OOM_BEFORE_RUNTIME_SHARE
    if not info["likely_oom"] and rc == OOM_EXIT_CODE and killed_early:
        info.update(likely_oom=True, oom_reason="sigkill_137")
    return {k: v for k, v in info.items() if v is not None}
