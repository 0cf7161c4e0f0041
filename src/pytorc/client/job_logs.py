"""Where a job's stdout and stderr are, found through what its runner recorded.

A runner names each attempt's files `job_stdio/job_wf<W>_j<J>_r<R>_a<A>.o|.e` under its output
directory, and records that directory on its compute node (`scheduler.output_dir`). The job's
latest result (or, while it runs, the job itself) names the compute node, run and attempt, so
the files are found wherever the output directory was, without the user knowing it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytorc.client.api import TorcClient
from pytorc.errors import InvalidInput

TAIL_CHUNK = 64 * 1024


@dataclass(frozen=True)
class JobStdio:
    job: dict[str, Any]
    run_id: int
    attempt_id: int
    stdout: Path | None  # None: the runner's output directory is not known
    stderr: Path | None


def resolve_job(client: TorcClient, job: str, workflow_id: int | None) -> dict[str, Any]:
    """A job by id, or by name within `workflow_id`."""
    if job.isdigit():
        return client.get_job(int(job))
    if workflow_id is None:
        raise InvalidInput(f"job {job!r} is a name: say which workflow (-w/--workflow)")
    found = list(client.iter_jobs(workflow_id, name=job))
    exact = [j for j in found if j["name"] == job]
    if not exact:
        raise InvalidInput(f"workflow {workflow_id} has no job named {job!r}")
    return exact[0]


def latest_result(client: TorcClient, job: dict[str, Any]) -> dict[str, Any] | None:
    results = list(
        client.iter_results(int(job["workflow_id"]), job_id=int(job["id"]), all_runs=True)
    )
    if not results:
        return None
    return max(results, key=lambda r: (r["run_id"], r["attempt_id"], r["id"]))


def stdio_of(client: TorcClient, job: dict[str, Any]) -> JobStdio:
    """The files of the job's running attempt, else of its latest result."""
    workflow_id = int(job["workflow_id"])
    node_id = job.get("compute_node_id")
    if job.get("status") in ("running", "pending") and node_id is not None:
        run_id = int(client.get_workflow(workflow_id)["run_id"])
        attempt = int(job.get("attempt_id") or 1)
    else:
        result = latest_result(client, job)
        if result is None:
            return JobStdio(job, 0, 0, None, None)
        node_id, run_id, attempt = (
            result.get("compute_node_id"),
            int(result["run_id"]),
            int(result["attempt_id"]),
        )
    directory = output_dir_of(client, node_id)
    if directory is None:
        return JobStdio(job, run_id, attempt, None, None)
    stem = directory / "job_stdio" / f"job_wf{workflow_id}_j{job['id']}_r{run_id}_a{attempt}"
    return JobStdio(job, run_id, attempt, stem.with_suffix(".o"), stem.with_suffix(".e"))


def output_dir_of(client: TorcClient, node_id: int | None) -> Path | None:
    if node_id is None:
        return None
    node = client.get(f"/compute_nodes/{node_id}")
    scheduler = node.get("scheduler") or {}
    directory = scheduler.get("output_dir") if isinstance(scheduler, dict) else None
    return Path(directory) if directory else None


def tail(path: Path, lines: int) -> list[str]:
    """The last `lines` lines of a file, reading only its end."""
    if lines <= 0:
        return []
    with open(path, "rb") as f:
        size = f.seek(0, os.SEEK_END)
        data = b""
        while size > 0 and data.count(b"\n") <= lines:
            step = min(TAIL_CHUNK, size)
            size -= step
            f.seek(size)
            data = f.read(step) + data
    text = data.decode("utf-8", errors="replace").splitlines()
    return text[-lines:]
