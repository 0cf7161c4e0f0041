"""Spec -> workflow on the server: the plan (what would be created) and the upload.

The upload goes through TorcClient's bulk endpoints: files and user data 1,000 per request, jobs
1,000 per request level by level (a job's depends_on ids must exist when it is sent). Anything
that fails after POST /workflows deletes the workflow again (the server cascades the delete to
every record), so a failed create leaves nothing behind.
"""

from __future__ import annotations

import getpass
import json
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pytorc.client.api import TorcClient
from pytorc.errors import ApiError
from pytorc.spec.errors import SpecError
from pytorc.spec.load import load_for_upload, load_spec
from pytorc.spec.model import JobSpec, ResourceMonitorSpec, WorkflowActionSpec, WorkflowSpec
from pytorc.spec.notices import spec_warnings
from pytorc.spec.references import edges, levels
from pytorc.spec.sweeps import Sweep

BATCH = 1000
"""Records per bulk request."""
WAIT_FOR_NEW_JOBS_SECONDS = 90
"""Torc's spec default for compute_node_wait_for_new_jobs_seconds (the database's is 0)."""
_SHOWN_NAMES = 5
_SHOWN_LEVELS = 20

T = TypeVar("T")


# --- the plan -----------------------------------------------------------------------------


@dataclass
class CreationPlan:
    """What creating a loaded spec makes: record counts and the jobs in run order."""

    workflow_name: str
    description: str | None
    counts: dict[str, int]
    levels: list[list[str]]
    job_requests: int
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "workflow_name": self.workflow_name,
            "description": self.description,
            **{f"num_{key}": value for key, value in self.counts.items()},
            "num_levels": len(self.levels),
            "bulk_job_requests": self.job_requests,
            "job_names_by_level": self.levels,
            "warnings": self.warnings,
        }

    def describe(self) -> str:
        """A few readable lines: counts, then each level with its first job names."""
        lines = [f"workflow {self.workflow_name!r} would be created with:"]
        width = max(len(key) for key in self.counts)
        lines += [f"  {key:<{width}}  {value}" for key, value in self.counts.items()]
        lines.append(f"jobs in {len(self.levels)} levels (a level waits for the ones above it):")
        for i, names in enumerate(self.levels[:_SHOWN_LEVELS]):
            shown = ", ".join(names[:_SHOWN_NAMES])
            more = f", ... ({len(names) - _SHOWN_NAMES} more)" if len(names) > _SHOWN_NAMES else ""
            jobs = f"{len(names)} job" + ("s" if len(names) != 1 else "")
            lines.append(f"  level {i}: {jobs}: {shown}{more}")
        if len(self.levels) > _SHOWN_LEVELS:
            lines.append(f"  ... {len(self.levels) - _SHOWN_LEVELS} more levels")
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def plan(spec: WorkflowSpec) -> CreationPlan:
    """The creation plan of a spec returned by load_spec."""
    run_levels, _ = levels(edges(spec.jobs))
    return CreationPlan(
        workflow_name=spec.name,
        description=spec.description,
        counts={
            "jobs": len(spec.jobs),
            "files": len(spec.files),
            "user_data": len(spec.user_data),
            "resource_requirements": len(spec.resource_requirements),
            "slurm_schedulers": len(spec.slurm_schedulers),
            "failure_handlers": len(spec.failure_handlers),
            "actions": len(spec.actions),
        },
        levels=run_levels,
        job_requests=-(-len(spec.jobs) // BATCH),
        warnings=spec_warnings(spec),
    )


def _upload_levels(jobs: Sequence[JobSpec]) -> list[list[str]]:
    """Levels by explicit depends_on only: the order jobs are uploaded in, each after the jobs
    it names (the server resolves names against jobs it already has)."""
    return levels(edges(jobs, implied=False))[0]


# --- the upload ---------------------------------------------------------------------------


def create_workflow_from_spec(
    client: TorcClient, path: Path, *, user: str | None = None, dry_run: bool = False
) -> dict[str, Any]:
    """Create the workflow a spec file describes; the created WorkflowModel as a dict.

    With dry_run nothing is sent to the server and the plan's dict is returned. The spec's own
    `user` is ignored (as in Torc): the workflow belongs to `user`, else $USER. Raises SpecError
    for a bad spec and for a server refusal, after deleting the half-made workflow."""
    if dry_run:
        return plan(load_spec(Path(path))).to_dict()
    spec, sweeps = load_for_upload(Path(path))
    return create_workflow(client, spec, str(path), user=user, sweeps=sweeps)


def create_workflow(
    client: TorcClient,
    spec: WorkflowSpec,
    file: str,
    *,
    user: str | None = None,
    sweeps: Sequence[Sweep] = (),
) -> dict[str, Any]:
    """Create the workflow of a loaded spec (see create_workflow_from_spec), and the sweeps
    load_for_upload kept whole; `file` names it in errors."""
    owner = user or os.environ.get("USER") or getpass.getuser()
    try:
        workflow = client.create_workflow(workflow_body(spec, owner), creating=True)
    except ApiError as exc:
        if exc.status == 0:  # no server to talk to: not the spec's fault, and nothing to undo
            raise
        raise SpecError(file, "(workflow)", f"server answered {exc.status}: {exc}") from None
    workflow_id = int(workflow["id"])
    try:
        _Upload(client, spec, workflow_id, file, sweeps).run()
        client.finish_creation(workflow_id)  # until here it cannot be initialized or run
    except BaseException as exc:  # Ctrl-C included: never leave a half-written workflow
        note = _rollback(client, workflow_id)
        if isinstance(exc, SpecError):
            raise SpecError(exc.file, exc.key, f"{exc.problem}; {note}") from None
        raise
    return workflow


def _rollback(client: TorcClient, workflow_id: int) -> str:
    try:
        client.delete_workflow(workflow_id)
    except ApiError as exc:
        return f"could not delete the half-made workflow {workflow_id}: {exc}"
    return f"nothing was kept (workflow {workflow_id} was deleted)"


@contextmanager
def _refusal(file: str, key: str, batch: Sequence[str] = ()) -> Iterator[None]:
    """Turn a server refusal into a SpecError naming the record that was being created.

    For a bulk request (`batch`: the names sent), the record the server's message points at
    (`jobs.<index>.`) is named instead of the first one.
    """
    try:
        yield
    except ApiError as exc:
        answer = f"server answered {exc.status}" if exc.status else "request failed"
        found = re.search(r"\bjobs\.(\d+)\b", str(exc))
        if found and int(found[1]) < len(batch):
            key = f"jobs.{batch[int(found[1])]}"
        raise SpecError(file, key, f"{answer}: {exc}") from None


def workflow_body(spec: WorkflowSpec, user: str) -> dict[str, Any]:
    """The POST /workflows body: every spec key the server's WorkflowModel can hold."""
    wait = spec.compute_node_wait_for_new_jobs_seconds
    min_time = spec.compute_node_min_time_for_new_jobs_seconds
    body: dict[str, Any] = {
        "name": spec.name,
        "user": user,
        "description": spec.description,
        "project": spec.project,
        "metadata": spec.metadata,
        "compute_node_expiration_buffer_seconds": spec.compute_node_expiration_buffer_seconds,
        "compute_node_wait_for_new_jobs_seconds": WAIT_FOR_NEW_JOBS_SECONDS
        if wait is None
        else wait,
        "compute_node_ignore_workflow_completion": spec.compute_node_ignore_workflow_completion,
        "compute_node_wait_for_healthy_database_minutes": (
            spec.compute_node_wait_for_healthy_database_minutes
        ),
        "compute_node_min_time_for_new_jobs_seconds": min_time,
        "resource_monitor_config": monitor_config(spec.resource_monitor),
        "slurm_defaults": spec.slurm_defaults,
        "use_pending_failed": spec.use_pending_failed,
        "env": spec.env,
        "execution_config": execution_config(spec),
        "enable_ro_crate": spec.enable_ro_crate,
        "access_groups": spec.access_groups,
        "dynamic_jobs": spec.dynamic_jobs.model_dump(exclude_none=True)
        if spec.dynamic_jobs
        else None,
    }
    return {key: value for key, value in body.items() if value is not None}


def monitor_config(monitor: ResourceMonitorSpec | None) -> dict[str, Any]:
    """The workflow's resource_monitor_config; with `jobs` given, the top-level `enabled` and
    `granularity` (which older readers use) say the same as `jobs`."""
    config = (monitor or ResourceMonitorSpec()).model_dump(exclude_none=True)
    jobs = config.get("jobs")
    if jobs is not None:
        config.update(enabled=jobs["enabled"], granularity=jobs["granularity"])
    return config


def execution_config(spec: WorkflowSpec) -> dict[str, Any] | None:
    """The workflow's execution_config, with the jobs' own `stdio` as job_stdio_overrides (as
    Torc stores them)."""
    config = spec.execution_config
    # Only the keys the spec set: an unset `mode` lets each runner choose (srun steps inside a
    # Slurm allocation, plain processes elsewhere).
    body = config.model_dump(include=config.model_fields_set, exclude_none=True) if config else {}
    overrides = {job.name: job.stdio.model_dump() for job in spec.jobs if job.stdio is not None}
    if overrides:
        body["job_stdio_overrides"] = {**body.get("job_stdio_overrides", {}), **overrides}
    return body if config is not None or overrides else None


def _chunks(items: Sequence[T], size: int = BATCH) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _Upload:
    """The records of one spec, created in dependency order; name -> id maps as it goes."""

    def __init__(
        self,
        client: TorcClient,
        spec: WorkflowSpec,
        workflow_id: int,
        file: str,
        sweeps: Sequence[Sweep] = (),
    ):
        self.client, self.spec, self.wf, self.file = client, spec, workflow_id, file
        self.ids: dict[str, dict[str, int]] = {}
        self.sweeps = sweeps

    def run(self) -> None:
        self.resource_requirements()
        self.bulk("files", self.client.create_files, self.file_bodies())
        self.bulk("user_data", self.client.create_user_data, self.user_data_bodies())
        self.schedulers()
        self.failure_handlers()
        self.jobs()
        self.job_sweeps()
        self.actions()

    def resource_requirements(self) -> None:
        ids = self.ids["resource_requirements"] = {}
        for rr in self.spec.resource_requirements:
            body = {"workflow_id": self.wf, **rr.model_dump()}
            with _refusal(self.file, f"resource_requirements.{rr.name}"):
                if rr.name == "default":  # the server made it; the spec redefines its amounts
                    (current,) = self.client.iter_resource_requirements(self.wf, name="default")
                    made = self.client.update_resource_requirements(current["id"], body)
                else:
                    made = self.client.create_resource_requirements(body)
            ids[rr.name] = int(made["id"])

    def file_bodies(self) -> list[dict[str, Any]]:
        return [
            {"workflow_id": self.wf, **f.model_dump(include={"name", "path", "st_mtime"})}
            for f in self.spec.files
        ]

    def user_data_bodies(self) -> list[dict[str, Any]]:
        return [
            {"workflow_id": self.wf, "name": u.name, "data": u.data, "is_ephemeral": u.is_ephemeral}
            for u in self.spec.user_data
        ]

    def bulk(self, kind: str, create: Any, bodies: list[dict[str, Any]]) -> None:
        ids = self.ids.setdefault(kind, {})
        for i, chunk in enumerate(_chunks(bodies)):
            with _refusal(self.file, f"{kind}[{i * BATCH}:{i * BATCH + len(chunk)}]"):
                made = create(list(chunk))
            ids.update({item["name"]: int(item["id"]) for item in made})

    def schedulers(self) -> None:
        ids = self.ids["slurm_schedulers"] = {}
        for s in self.spec.slurm_schedulers:
            body = {"workflow_id": self.wf, **s.model_dump(exclude_none=True)}
            with _refusal(self.file, f"slurm_schedulers.{s.name}"):
                ids[s.name] = int(self.client.create_slurm_scheduler(body)["id"])

    def failure_handlers(self) -> None:
        ids = self.ids["failure_handlers"] = {}
        for h in self.spec.failure_handlers:
            rules = json.dumps([r.model_dump(exclude_none=True) for r in h.rules])
            body = {"workflow_id": self.wf, "name": h.name, "rules": rules}
            with _refusal(self.file, f"failure_handlers.{h.name}"):
                ids[h.name] = int(self.client.create_failure_handler(body)["id"])

    def jobs(self) -> None:
        """All jobs in dependency order, BATCH per request; upstream jobs are named, not ids
        (pytorc's depends_on_job_names), so a deep chain takes one request, not one per level."""
        by_name = {job.name: job for job in self.spec.jobs}
        order = [name for level in _upload_levels(self.spec.jobs) for name in level]
        ids = self.ids["jobs"] = {}
        for chunk in _chunks(order):
            bodies = [self.job_body(by_name[name]) for name in chunk]
            with _refusal(self.file, f"jobs.{chunk[0]}", chunk):
                made = self.client.create_jobs_brief(bodies)
            item: Any
            for body, item in zip(bodies, made, strict=True):
                if isinstance(item, int):  # pytorc: ids only; it resolves depends_on_job_names
                    ids[body["name"]] = item
                    continue
                if len(item.get("depends_on_job_ids") or []) != len(body["depends_on_job_names"]):
                    raise SpecError(
                        self.file,
                        f"jobs.{body['name']}",
                        f"the server at {self.client.base_url} dropped its dependencies: it"
                        " does not understand depends_on_job_names (is it a pytorc torc-server?)",
                    )
                ids[item["name"]] = int(item["id"])

    def job_sweeps(self) -> None:
        """Each sweep kept whole, expanded by the server (after the jobs it waits for and the
        fan-in jobs that wait for it exist)."""
        for sweep in self.sweeps:
            body = self.job_body(sweep.template)
            del body["depends_on_job_names"]
            body["depends_on_job_ids"] = sorted(
                {self.ids["jobs"][n] for n in sweep.template.depends_on}
            )
            request = {
                "job": body,
                "parameters": sweep.raw_parameters,
                "parameter_mode": sweep.template.parameter_mode,
                "dependent_job_ids": [self.ids["jobs"][n] for n in sweep.fan_ins],
            }
            with _refusal(self.file, f"jobs.{sweep.template.name}"):
                self.client.post(f"/workflows/{self.wf}/job_sweeps", request)

    def job_body(self, job: JobSpec) -> dict[str, Any]:
        ids = self.ids
        cancel = job.cancel_on_blocking_job_failure
        body: dict[str, Any] = {
            "workflow_id": self.wf,
            "name": job.name,
            "command": job.command,
            "invocation_script": job.invocation_script,
            "cancel_on_blocking_job_failure": (
                self.spec.cancel_on_blocking_job_failure if cancel is None else cancel
            ),
            "supports_termination": job.supports_termination,
            "priority": job.priority,
            "depends_on_job_names": sorted(set(job.depends_on)),
            "input_file_ids": [ids["files"][n] for n in job.input_files],
            "output_file_ids": [ids["files"][n] for n in job.output_files],
            "input_user_data_ids": [ids["user_data"][n] for n in job.input_user_data],
            "output_user_data_ids": [ids["user_data"][n] for n in job.output_user_data],
        }
        if self.spec.env or job.env:  # the effective environment is stored on the job, as Torc
            body["env"] = {**(self.spec.env or {}), **(job.env or {})}
        for key, kind in (
            ("resource_requirements", "resource_requirements"),
            ("scheduler", "slurm_schedulers"),
            ("failure_handler", "failure_handlers"),
        ):
            name = getattr(job, key)
            # A job naming "default" without redefining it means the server's default.
            if name is not None and name in ids[kind]:
                body[f"{key}_id"] = ids[kind][name]
        return body

    def actions(self) -> None:
        for i, action in enumerate(self.spec.actions):
            with _refusal(self.file, f"actions[{i}]"):
                self.client.create_workflow_action(self.wf, self.action_body(action))

    def action_body(self, action: WorkflowActionSpec) -> dict[str, Any]:
        config: dict[str, Any]
        if action.action_type == "run_commands":
            config = {"commands": action.commands}
        else:
            config = {
                "scheduler_type": action.scheduler_type,
                "num_allocations": action.num_allocations,
                "start_one_worker_per_node": action.start_one_worker_per_node,
            }
            if action.scheduler in self.ids["slurm_schedulers"]:
                config["scheduler_id"] = self.ids["slurm_schedulers"][action.scheduler]
            if action.max_parallel_jobs is not None:
                config["max_parallel_jobs"] = action.max_parallel_jobs
        body: dict[str, Any] = {
            "workflow_id": self.wf,
            "trigger_type": action.trigger_type,
            "action_type": action.action_type,
            "action_config": config,
            "persistent": action.persistent,
        }
        if action.jobs:
            body["job_ids"] = [self.ids["jobs"][name] for name in action.jobs]
        return body
