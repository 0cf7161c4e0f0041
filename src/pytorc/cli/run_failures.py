"""The failed jobs of a `torc run`, for its summary: which, why, and where their stderr is.

A run that ends with "1 failed" and nothing else sends the user hunting for
`job_stdio/job_wf<W>_j<J>_r<R>_a<A>.e`; the summary names each failed job, its return code, the
likely cause (client/diagnose.py) and its stderr file, and on a terminal its last lines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytorc.client.api import TorcClient
from pytorc.errors import ApiError

SHOWN = 10  # failed jobs described in a summary; the rest are counted
TAIL_LINES = 5
_BAD = ("failed", "terminated", "pending_failed")


def failed_jobs(
    client: TorcClient, workflow_id: int, statuses: dict[int, str], output_dir: Path
) -> list[dict[str, Any]]:
    """The jobs this run ended badly (`statuses`: job id -> status, as the runner recorded),
    the first SHOWN of them described: name, status, return code, cause, stderr path."""
    bad = [job_id for job_id, status in statuses.items() if status in _BAD]
    described = []
    for job_id in bad[:SHOWN]:
        try:
            described.append(_describe(client, workflow_id, job_id, output_dir))
        except ApiError as exc:
            described.append({"id": job_id, "name": f"job {job_id}", "error": str(exc)})
    return described + [{"id": job_id} for job_id in bad[SHOWN:]]


def _describe(
    client: TorcClient, workflow_id: int, job_id: int, output_dir: Path
) -> dict[str, Any]:
    from pytorc.client.diagnose import diagnose  # only for a run with failures
    from pytorc.client.job_logs import latest_result

    job = client.get_job(job_id)
    result = latest_result(client, job) or {}
    rr_id = job.get("resource_requirements_id")
    requirement = client.get_resource_requirements(rr_id) if rr_id else None
    found = diagnose(result, requirement) if result else None
    run_id, attempt = result.get("run_id", 0), result.get("attempt_id", 1)
    stderr = output_dir / "job_stdio" / f"job_wf{workflow_id}_j{job_id}_r{run_id}_a{attempt}.e"
    return {
        "id": job_id,
        "name": job["name"],
        "status": result.get("status", job["status"]),
        "return_code": result.get("return_code"),
        "cause": found.cause if found else None,
        "reason": found.reason if found else None,
        "stderr": str(stderr),
    }


def lines(
    workflow_id: int, failed: list[dict[str, Any]], show_tail: bool, torc: str = "torc"
) -> list[str]:
    """The summary's lines about `failed` (see failed_jobs); with `show_tail`, each stderr's
    last lines too. `torc`: the command that reaches the workflow's server."""
    if not failed:
        return []
    out = [f"jobs that did not succeed ({len(failed)}):"]
    for job in failed:
        if "name" not in job:
            continue
        if "error" in job:
            out.append(f"  {job['name']}: {job['error']}")
            continue
        out.append(
            f"  {job['name']} (job {job['id']}): {job['status']}, return code"
            f" {job['return_code']}: {job['reason'] or job['cause']}"
        )
        out.append(f"    stderr: {job['stderr']}")
        if show_tail:
            out += [f"    | {line}" for line in _tail(Path(job["stderr"]))]
    more = sum(1 for job in failed if "name" not in job)
    if more:
        out.append(f"  ... and {more} more: {torc} jobs list {workflow_id} -s failed")
    first = next(job for job in failed if "name" in job)
    out.append(f"a job's output: {torc} jobs logs {first['name']} -w {workflow_id} --stderr")
    return out


def _tail(path: Path) -> list[str]:
    from pytorc.client.job_logs import tail

    try:
        return tail(path, TAIL_LINES)
    except OSError:
        return []
