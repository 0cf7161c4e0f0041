"""Slurm's accounting of a workflow's allocations (sacct), and the per-job statistics kept from it.

Each job ran as a step named wf<W>_j<J>_r<R>_a<A> (slurm/steps.py), so a step row names the
job, run and attempt it measured; those rows become slurm_stats records on the server.
"""

from __future__ import annotations

import re
from typing import Any

from pytorc.client.api import TorcClient
from pytorc.slurm import commands

FIELDS = (
    "JobID",
    "JobName",
    "State",
    "Start",
    "End",
    "Elapsed",
    "ExitCode",
    "MaxRSS",
    "MaxVMSize",
    "MaxDiskRead",
    "MaxDiskWrite",
    "AveCPU",
    "NodeList",
    "NNodes",
)
_STEP = re.compile(r"wf(\d+)_j(\d+)_r(\d+)_a(\d+)")
_SIZE = re.compile(r"([0-9.]+)([KMGTP]?)")
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4, "P": 1024**5}


def sacct(job_ids: list[str]) -> list[dict[str, str]]:
    """Every row (allocation, batch step, job steps) sacct has for the jobs."""
    if not job_ids:
        return []
    out = commands.run_command(
        ["sacct", "-n", "-P", "-j", ",".join(job_ids), "-o", ",".join(FIELDS)]
    )
    return [dict(zip(FIELDS, line.split("|"), strict=False)) for line in out.splitlines() if line]


def step_ids(name: str) -> tuple[int, int, int, int] | None:
    """(workflow, job, run, attempt) from a step name pytorc gave, else None."""
    match = _STEP.fullmatch(name)
    return None if match is None else (int(match[1]), int(match[2]), int(match[3]), int(match[4]))


def size_bytes(text: str) -> int | None:
    """sacct's '1234K' / '5.50M' / '0' -> bytes; None when empty."""
    match = _SIZE.fullmatch(text.strip())
    return None if match is None else int(float(match[1]) * _UNITS[match[2]])


def cpu_seconds(text: str) -> float | None:
    """sacct's [D-]HH:MM:SS[.fff] or MM:SS.fff -> seconds; None when empty."""
    text = text.strip()
    if not text:
        return None
    days, _, clock = text.rpartition("-")
    seconds = 0.0
    for part in clock.split(":"):
        seconds = seconds * 60 + float(part)
    return seconds + (int(days) * 86400 if days else 0)


def stats_record(row: dict[str, str], workflow_id: int) -> dict[str, Any] | None:
    """The slurm_stats record of one of this workflow's job steps; None for other rows."""
    ids = step_ids(row.get("JobName", ""))
    if ids is None or ids[0] != workflow_id:
        return None
    _, job_id, run_id, attempt_id = ids
    return {
        "workflow_id": workflow_id,
        "job_id": job_id,
        "run_id": run_id,
        "attempt_id": attempt_id,
        "slurm_job_id": row["JobID"],
        "max_rss_bytes": size_bytes(row.get("MaxRSS", "")),
        "max_vm_size_bytes": size_bytes(row.get("MaxVMSize", "")),
        "max_disk_read_bytes": size_bytes(row.get("MaxDiskRead", "")),
        "max_disk_write_bytes": size_bytes(row.get("MaxDiskWrite", "")),
        "ave_cpu_seconds": cpu_seconds(row.get("AveCPU", "")),
        "node_list": row.get("NodeList") or None,
    }


def store(client: TorcClient, workflow_id: int, rows: list[dict[str, str]]) -> int:
    """Store the stats of steps not stored before (by job, run and attempt); how many."""
    have = {
        (s["job_id"], s["run_id"], s["attempt_id"])
        for s in client.iter_pages("/slurm_stats", workflow_id=workflow_id)
    }
    stored = 0
    for row in rows:
        record = stats_record(row, workflow_id)
        if record is None:
            continue
        key = (record["job_id"], record["run_id"], record["attempt_id"])
        if key not in have:
            client.post("/slurm_stats", record)
            have.add(key)
            stored += 1
    return stored


def allocation_ids(client: TorcClient, workflow_id: int) -> list[str]:
    """The Slurm job ids of every allocation submitted for the workflow."""
    return [
        str(s["scheduler_id"])
        for s in client.iter_pages("/scheduled_compute_nodes", workflow_id=workflow_id)
        if s["scheduler_type"] == "slurm"
    ]
