"""What a runner reports for a job that ended: its outcome, as the result record the server
stores."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, NamedTuple

from pytorc.runner.reporter import RunIds


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Outcome(NamedTuple):
    """How a job ended, as its result reports it."""

    status: str
    return_code: int
    seconds: float
    rusage: Any = None  # the kernel's accounting (os.wait4), if the job was reaped
    measured: dict[str, Any] | None = None  # the resource monitor's fields


def result_record(ids: RunIds, job_id: int, outcome: Outcome) -> dict[str, Any]:
    """The result a completion carries to the server."""
    result: dict[str, Any] = {
        "job_id": job_id,
        "workflow_id": ids.workflow_id,
        "run_id": ids.run_id,
        "compute_node_id": ids.compute_node_id,
        "return_code": outcome.return_code,
        "exec_time_minutes": outcome.seconds / 60.0,
        "completion_time": now_iso(),
        "status": outcome.status,
    }
    # CPU time comes from the kernel's accounting of the job; its ru_maxrss does not: a child
    # started by vfork carries the runner's own high-water mark across exec, so memory is
    # only reported when the resource monitor sampled the job.
    rusage = outcome.rusage
    if rusage is not None and outcome.seconds > 0:
        cpu = rusage.ru_utime + rusage.ru_stime
        result["avg_cpu_percent"] = round(100.0 * cpu / outcome.seconds, 2)
    if outcome.measured:
        result.update({k: v for k, v in outcome.measured.items() if v is not None})
    return result
