"""What each allocation cost and how much of it did work: node-hours, the time its runners sat
with nothing to run, the wait before the first job and the tail after the last.

From three records: Slurm's accounting of the allocation (start, end, nodes), the runners'
compute nodes (when each ran) and the jobs' results (when each job ran, on which runner).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class AllocationUsage:
    slurm_job_id: str
    nodes: int
    seconds: float  # from Slurm's start to its end
    node_hours: float
    runners: int
    jobs: int
    job_seconds: float  # the jobs' own run time, summed
    idle_runner_seconds: float  # runner time with no job running
    first_job_after: float | None  # seconds from the allocation's start to its first job
    tail: float | None  # seconds from its last job's end to the allocation's end

    def as_dict(self) -> dict[str, Any]:
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in asdict(self).items()}


def epoch(text: str | None) -> float | None:
    """An ISO time (Slurm's local 'YYYY-MM-DDTHH:MM:SS' or our '...Z') as epoch seconds."""
    if not text or text in ("Unknown", "None"):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def usage(
    allocations: list[dict[str, str]],
    nodes: list[dict[str, Any]],
    results: list[dict[str, Any]],
) -> list[AllocationUsage]:
    """One row per allocation (sacct's allocation rows: JobID, Start, End, NNodes)."""
    runners_of: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for node in nodes:
        slurm_id = (node.get("scheduler") or {}).get("slurm_job_id")
        if slurm_id is not None:
            runners_of[str(slurm_id)].append(node)
    spans_of: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for result in results:
        end = epoch(result.get("completion_time"))
        if end is not None:
            span = (end - 60.0 * float(result.get("exec_time_minutes") or 0), end)
            spans_of[int(result["compute_node_id"])].append(span)
    return [_one(a, runners_of[a["JobID"]], spans_of) for a in allocations]


def _one(
    allocation: dict[str, str],
    runners: list[dict[str, Any]],
    spans_of: dict[int, list[tuple[float, float]]],
) -> AllocationUsage:
    start, end = epoch(allocation.get("Start")), epoch(allocation.get("End"))
    seconds = max(end - start, 0.0) if start is not None and end is not None else 0.0
    nodes = int(allocation.get("NNodes") or 1)
    spans = [s for r in runners for s in spans_of.get(int(r["id"]), [])]
    idle = sum(
        max(float(r.get("duration_seconds") or 0) - _covered(spans_of.get(int(r["id"]), [])), 0)
        for r in runners
    )
    first = min((s for s, _ in spans), default=None)
    last = max((e for _, e in spans), default=None)
    return AllocationUsage(
        slurm_job_id=allocation["JobID"],
        nodes=nodes,
        seconds=seconds,
        node_hours=seconds * nodes / 3600.0,
        runners=len(runners),
        jobs=len(spans),
        job_seconds=sum(e - s for s, e in spans),
        idle_runner_seconds=idle,
        first_job_after=None if first is None or start is None else max(first - start, 0.0),
        tail=None if last is None or end is None else max(end - last, 0.0),
    )


def _covered(spans: list[tuple[float, float]]) -> float:
    """Seconds during which at least one of the spans runs (their union)."""
    total, reach = 0.0, float("-inf")
    for start, end in sorted(spans):
        if end <= reach:
            continue
        total += end - max(start, reach)
        reach = end
    return total
