"""Initialize and reinitialize a workflow, rerunning only what changed (Torc's change detection).

`initialize` starts a workflow from scratch: check that its inputs exist, start a new run, make
every job uninitialized, record the files' modification times, then let the server set jobs
blocked or ready. `reinitialize` starts a new run of a workflow that already ran and resets only
the finished jobs whose work is stale, plus everything downstream of them:

- a file whose mtime differs from the stored `st_mtime` by more than 0.01 s, or that appeared or
  disappeared, resets the finished jobs that read it (and the stored mtime is updated);
- a completed job with a missing output file is reset;
- a canceled or terminated job whose upstream jobs all completed is reset (it never got to run);
- the server compares each job's stored input hash (command, edges, input user data) and resets
  the jobs whose hash changed (`process_changed_job_inputs`);
- `initialize_jobs(only_uninitialized=true)` then re-blocks everything downstream of a reset job
  and leaves untouched completed jobs done.

The runner reuses these functions, so they talk only through TorcClient and return plain reports.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from pytorc.client.api import TorcClient
from pytorc.client.graph import downstream
from pytorc.errors import InvalidInput
from pytorc.vocabulary import FINISHED, NEVER_RAN, JobStatus

MTIME_TOLERANCE = 0.01  # seconds; filesystems store timestamps with differing precision


@dataclass
class FileChange:
    """A file whose state on disk differs from what the server recorded."""

    id: int
    name: str
    path: str
    reason: str  # "modified", "appeared" or "disappeared"
    old_mtime: float | None
    new_mtime: float | None


@dataclass
class JobReset:
    """A finished job sent back to uninitialized, and why."""

    id: int
    name: str
    status: str  # its status before the reset
    reason: str


@dataclass
class ReinitReport:
    """What reinitialize found and did (or, with dry_run, would do)."""

    workflow_id: int
    run_id: int
    dry_run: bool
    changed_files: list[FileChange] = field(default_factory=list)
    reset_jobs: list[JobReset] = field(default_factory=list)
    changed_input_jobs: list[str] = field(default_factory=list)
    downstream_jobs: list[dict[str, Any]] = field(default_factory=list)
    missing_files: list[str] = field(default_factory=list)
    initialize: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class InitReport:
    """What initialize checked and did."""

    workflow_id: int
    run_id: int
    dry_run: bool
    missing_files: list[str] = field(default_factory=list)
    missing_user_data: list[int] = field(default_factory=list)
    existing_output_files: list[str] = field(default_factory=list)
    recorded_files: list[FileChange] = field(default_factory=list)
    initialize: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def mtime_of(path: str) -> float | None:
    """The file's modification time, or None when it does not exist."""
    try:
        return os.stat(path).st_mtime
    except OSError:
        return None


def file_change(file: dict[str, Any]) -> FileChange | None:
    """Compare one file record with the disk; None when nothing changed."""
    old = file.get("st_mtime")
    new = mtime_of(file["path"])
    if old is None and new is None:
        return None
    if old is None:
        reason = "appeared"
    elif new is None:
        reason = "disappeared"
    elif abs(old - new) > MTIME_TOLERANCE:
        reason = "modified"
    else:
        return None
    return FileChange(file["id"], file["name"], file["path"], reason, old, new)


def record_mtime(client: TorcClient, file: dict[str, Any], change: FileChange) -> None:
    client.update_file(file["id"], {**file, "st_mtime": change.new_mtime})


def _produced_file_ids(client: TorcClient, workflow_id: int) -> set[int]:
    return {
        r["file_id"]
        for r in client.iter_job_file_relationships(workflow_id)
        if r.get("producer_job_id") is not None
    }


def missing_input_files(
    client: TorcClient, workflow_id: int, produced: set[int] | None = None
) -> list[str]:
    """Required files that no job produces and that are not on disk ("name (path)").

    The server's list also holds outputs of completed jobs; a missing one of those is not an
    error here, since reinitialize reruns the job that makes it.
    """
    required = client.required_existing_files(workflow_id)
    if not required:
        return []
    if produced is None:
        produced = _produced_file_ids(client, workflow_id)
    missing = []
    for file_id in required:
        if file_id in produced:
            continue
        file = client.get_file(file_id)
        if not os.path.exists(file["path"]):
            missing.append(f"{file['name']} ({file['path']})")
    return missing


def _check_startable(client: TorcClient, workflow_id: int) -> dict[str, Any]:
    workflow = client.get_workflow(workflow_id)
    if workflow.get("is_archived"):
        raise InvalidInput(
            f"workflow {workflow_id} is archived; unarchive it first"
            f" (torc workflows archive false {workflow_id})"
        )
    return workflow


@dataclass(frozen=True)
class Created:
    """What the caller knows of a workflow it has just created: its record, and whether it
    has files and user data. initialize() then skips the look-ups these answer, and the job
    reset (new jobs are uninitialized): 4 of a one-job run's 6 requests."""

    workflow: dict[str, Any]
    has_files: bool
    has_user_data: bool


def initialize(
    client: TorcClient,
    workflow_id: int,
    *,
    force: bool = False,
    dry_run: bool = False,
    created: Created | None = None,
    first_run: bool = False,
) -> InitReport:
    """Start the workflow afresh: every job reruns. Missing inputs abort unless `force`.

    `first_run` (implied by `created`): only a workflow that never started, its run started
    and its jobs initialized in one request, so that two `torc run ID` starting together
    initialize it once; the report's `initialize` then says whether another had already."""
    workflow = created.workflow if created else _check_startable(client, workflow_id)
    report = InitReport(workflow_id, int(workflow.get("run_id") or 0), dry_run)
    files = list(client.iter_files(workflow_id)) if not created or created.has_files else []
    if files:  # without files there is nothing to check or record: two requests saved
        produced = _produced_file_ids(client, workflow_id)
        report.missing_files = missing_input_files(client, workflow_id, produced)
        report.existing_output_files = [
            f["path"] for f in files if f["id"] in produced and os.path.exists(f["path"])
        ]
    if not created or created.has_user_data:
        report.missing_user_data = client.missing_user_data(workflow_id)
    problems = _missing_summary(report.missing_files, report.missing_user_data)
    if problems and not force and not dry_run:
        raise InvalidInput(
            f"cannot initialize workflow {workflow_id}: {problems}; create them, or start it"
            f" anyway with `torc workflows initialize --force {workflow_id}`"
        )
    if dry_run:
        return report
    first_run = first_run or created is not None
    if not first_run:
        report.run_id = int(client.reset_workflow_status(workflow_id, force=force)["run_id"])
        client.reset_job_status(workflow_id, failed_only=False)
    for file in files:
        change = file_change(file)
        if change is not None:
            record_mtime(client, file, change)
            report.recorded_files.append(change)
    report.initialize = client.initialize_jobs(workflow_id, start_run=first_run)
    if first_run:
        report.run_id = int(report.initialize["run_id"])
    return report


def _missing_summary(files: list[str], user_data: list[int]) -> str:
    parts = []
    if files:
        parts.append("missing input files: " + ", ".join(files))
    if user_data:
        parts.append("user data never produced and empty: ids " + ", ".join(map(str, user_data)))
    return "; ".join(parts)


def reinitialize(
    client: TorcClient,
    workflow_id: int,
    *,
    force: bool = False,
    dry_run: bool = False,
    new_run: bool = True,
) -> ReinitReport:
    """Start a new run that reruns only stale jobs and what follows them.

    `new_run=False` skips the reset_status call, for callers that just started a run themselves
    (reset-status --reinitialize). `dry_run` reports without changing anything.
    """
    workflow = _check_startable(client, workflow_id)
    report = ReinitReport(workflow_id, int(workflow.get("run_id") or 0), dry_run)
    report.missing_files = missing_input_files(client, workflow_id)
    if report.missing_files and not force and not dry_run:
        raise InvalidInput(
            f"cannot reinitialize workflow {workflow_id}: missing input files: "
            + ", ".join(report.missing_files)
            + "; create them or pass --force"
        )
    if new_run and not dry_run:
        report.run_id = int(client.reset_workflow_status(workflow_id, force=force)["run_id"])
    jobs = {j["id"]: j for j in client.iter_jobs(workflow_id, include_relationships=True)}
    files = {f["id"]: f for f in client.iter_files(workflow_id)}
    resets = _stale_jobs(client, jobs, files, report)
    report.reset_jobs = list(resets.values())
    if not dry_run:
        for reset in report.reset_jobs:
            client.manage_status_change(reset.id, "uninitialized", report.run_id)
    report.changed_input_jobs = client.process_changed_job_inputs(workflow_id, dry_run=dry_run)
    by_name = {j["name"]: j["id"] for j in jobs.values()}
    roots = set(resets) | {by_name[n] for n in report.changed_input_jobs if n in by_name}
    report.downstream_jobs = [
        {"id": j, "name": jobs[j]["name"], "status": jobs[j]["status"]}
        for j in sorted(downstream(jobs, roots) - roots)
        if jobs[j]["status"] not in ("uninitialized", "disabled")
    ]
    if not dry_run:
        report.initialize = client.initialize_jobs(workflow_id, only_uninitialized=True)
    return report


def _stale_jobs(
    client: TorcClient,
    jobs: dict[int, dict[str, Any]],
    files: dict[int, dict[str, Any]],
    report: ReinitReport,
) -> dict[int, JobReset]:
    """Jobs to rerun: consumers of changed inputs, producers of missing outputs, jobs that never
    ran although their upstream completed. Records changed files in the report (and their new
    times on the server unless it is a dry run)."""
    resets: dict[int, JobReset] = {}
    for file in files.values():
        change = file_change(file)
        if change is None:
            continue
        report.changed_files.append(change)
        if not report.dry_run:
            record_mtime(client, file, change)
        for job in _consumers(jobs.values(), file["id"]):
            if job["status"] in FINISHED:
                _add(resets, job, f"input file {file['name']} {change.reason}")
    for job in jobs.values():
        if job["status"] == JobStatus.COMPLETED:
            gone = [
                files[f]["name"]
                for f in job.get("output_file_ids") or []
                if f in files and not os.path.exists(files[f]["path"])
            ]
            if gone:
                _add(resets, job, "output file " + ", ".join(gone) + " missing")
        elif job["status"] in NEVER_RAN and _upstream_completed(job, jobs):
            _add(resets, job, f"was {job['status']}")
    return resets


def _add(resets: dict[int, JobReset], job: dict[str, Any], reason: str) -> None:
    if job["id"] in resets:
        resets[job["id"]].reason += "; " + reason
    else:
        resets[job["id"]] = JobReset(job["id"], job["name"], job["status"], reason)


def _consumers(jobs: Iterable[dict[str, Any]], file_id: int) -> list[dict[str, Any]]:
    return [j for j in jobs if file_id in (j.get("input_file_ids") or [])]


def _upstream_completed(job: dict[str, Any], jobs: dict[int, dict[str, Any]]) -> bool:
    return all(
        jobs[u]["status"] == JobStatus.COMPLETED
        for u in job.get("depends_on_job_ids") or []
        if u in jobs
    )
