"""`reports results` and `reports summary`: each job's result with its log files; the totals."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytorc.reports.formatting import format_seconds

if TYPE_CHECKING:
    from pytorc.client.api import TorcClient


def stdio_paths(
    output_dir: Path, workflow_id: int, job_id: int, run_id: int, attempt_id: int
) -> tuple[Path, Path]:
    """Where the runner wrote a job's stdout and stderr."""
    stem = f"job_wf{workflow_id}_j{job_id}_r{run_id}_a{attempt_id}"
    return output_dir / "job_stdio" / f"{stem}.o", output_dir / "job_stdio" / f"{stem}.e"


def results_report(
    client: TorcClient,
    workflow_id: int,
    output_dir: Path,
    all_runs: bool = False,
    job_ids: Iterable[int] = (),
) -> tuple[dict[str, Any], list[str]]:
    """Every (latest, or every stored) result with the paths of its log files.

    Returns the report and warnings about log files that are not where they should be.
    """
    wf = client.get_workflow(workflow_id)
    wanted = set(job_ids)
    results = [
        r
        for r in client.iter_results(workflow_id, all_runs=all_runs or None)
        if not wanted or r["job_id"] in wanted
    ]
    names = {j["id"]: j["name"] for j in client.iter_jobs(workflow_id)} if results else {}
    nodes: dict[int, dict[str, Any] | None] = {}
    records, warnings = [], []
    for result in results:
        job_id = result["job_id"]
        stdout, stderr = stdio_paths(
            output_dir, workflow_id, job_id, result["run_id"], result.get("attempt_id") or 1
        )
        record = {
            **result,
            "job_name": names.get(job_id, result.get("job_name")),
            "job_stdout": str(stdout),
            "job_stderr": str(stderr),
        }
        node_id = result["compute_node_id"]
        if node_id not in nodes:
            nodes[node_id] = _compute_node(client, node_id)
        record.update(_runner_logs(nodes[node_id], output_dir, workflow_id, result["run_id"]))
        for key in ("job_stdout", "job_stderr", "job_runner_log", "slurm_stdout", "slurm_stderr"):
            if key in record and not Path(record[key]).exists():
                warnings.append(f"job {job_id}: {key} {record[key]} does not exist")
        records.append(record)
    report = {
        "workflow_id": workflow_id,
        "workflow_name": wf["name"],
        "workflow_user": wf["user"],
        "all_runs": all_runs,
        "total_results": len(records),
        "results": records,
    }
    return report, warnings


def _compute_node(client: TorcClient, node_id: int) -> dict[str, Any] | None:
    from pytorc.errors import ApiError

    try:
        return dict(client.get(f"/compute_nodes/{node_id}"))
    except ApiError:
        return None  # deleted since: the result still stands


def _runner_logs(
    node: dict[str, Any] | None, output_dir: Path, workflow_id: int, run_id: int
) -> dict[str, Any]:
    """The compute node's type and the runner's own log files (Torc's layout)."""
    if node is None:
        return {}
    kind = node.get("compute_node_type")
    out: dict[str, Any] = {"compute_node_type": kind}
    if kind == "local":
        log = output_dir / f"job_runner_{node['hostname']}_wf{workflow_id}_r{run_id}.log"
        if log.exists():  # written by Torc's runner; pytorc's logs to the terminal
            out["job_runner_log"] = str(log)
    elif kind == "slurm":
        slurm_job = str((node.get("scheduler") or {}).get("slurm_job_id") or "")
        if slurm_job:
            stem = f"slurm_output_wf{workflow_id}_sl{slurm_job}"
            out["slurm_job_id"] = slurm_job
            out["job_runner_log"] = str(
                output_dir / f"job_runner_slurm_wf{workflow_id}_sl{slurm_job}"
                f"_n{node['hostname']}_pid{node['pid']}.log"
            )
            out["slurm_stdout"] = str(output_dir / f"{stem}.o")
            out["slurm_stderr"] = str(output_dir / f"{stem}.e")
    return out


def summary_report(client: TorcClient, workflow_id: int) -> dict[str, Any]:
    """Jobs by status, total and average execution time, and the run's wall time."""
    status = dict(client.workflow_status(workflow_id))
    results = list(client.iter_results(workflow_id))  # each job's latest
    minutes = [float(r["exec_time_minutes"]) for r in results]
    walltime = _walltime(results)
    total = sum(minutes)
    return {
        **status,
        "total_exec_time_minutes": total,
        "total_exec_time_formatted": format_seconds(total * 60.0),
        "num_results": len(minutes),
        "avg_exec_time_minutes": total / len(minutes) if minutes else None,
        "walltime_seconds": walltime,
        "walltime_formatted": format_seconds(walltime) if walltime is not None else None,
    }


def _walltime(results: Iterable[dict[str, Any]]) -> float | None:
    """Seconds from the first job's start (completion - exec time) to the last completion."""
    first: datetime | None = None
    last: datetime | None = None
    for r in results:
        try:
            end = datetime.fromisoformat(str(r["completion_time"]).replace("Z", "+00:00"))
        except ValueError:
            continue
        if end.tzinfo is None:
            end = end.replace(tzinfo=UTC)
        start = end - timedelta(minutes=float(r["exec_time_minutes"]))
        first = start if first is None or start < first else first
        last = end if last is None or end > last else last
    return (last - first).total_seconds() if first and last else None
