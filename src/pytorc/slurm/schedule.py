"""Submitting a workflow's allocations: one sbatch script each, submitted, and recorded as a
scheduled compute node (pending until its runner starts)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytorc.client.api import TorcClient
from pytorc.errors import InvalidInput
from pytorc.slurm import commands, jitter
from pytorc.slurm.script import Allocation, sbatch_script


@dataclass(frozen=True)
class ScheduleRequest:
    """What `torc slurm schedule-nodes` (or a schedule_nodes action) asks for."""

    workflow_id: int
    scheduler_config_id: int | None = None
    num_allocations: int = 1
    output_dir: Path = Path("output")
    poll_interval: float = 60.0
    max_parallel_jobs: int | None = None
    one_worker_per_node: bool = False
    keep_scripts: bool = False
    job_prefix: str = ""


@dataclass(frozen=True)
class Submitted:
    slurm_job_id: str
    scheduled_compute_node_id: int
    script: Path


@dataclass(frozen=True)
class Plan:
    """What will be submitted: the config, and the runners' startup window."""

    config: dict[str, Any]
    runners: int
    startup_window: float
    defaults: dict[str, Any]  # the workflow's slurm_defaults


def plan(client: TorcClient, request: ScheduleRequest) -> Plan:
    """The scheduler config to use and the startup window (0 with staggered_start: false)."""
    config = _scheduler_config(client, request)
    runners = jitter.runner_count(
        request.num_allocations, int(config.get("nodes") or 1), request.one_worker_per_node
    )
    workflow = client.get_workflow(request.workflow_id)
    staggered = (workflow.get("execution_config") or {}).get("staggered_start", True)
    window = jitter.delay_window(runners) if staggered is not False else 0.0
    return Plan(config, runners, window, workflow.get("slurm_defaults") or {})


def submit(client: TorcClient, request: ScheduleRequest, chosen: Plan) -> list[Submitted]:
    """Write, submit and record each allocation; SlurmError if sbatch refuses one (those
    submitted before it stay submitted and recorded)."""
    out = request.output_dir
    out.mkdir(parents=True, exist_ok=True)
    credentials = write_credentials(out, client.auth) if client.auth else None
    done = []
    for number in range(1, request.num_allocations + 1):
        name = f"{request.job_prefix}wf{request.workflow_id}_{os.getpid()}_{number}"
        script = out / f"{name}.sh"
        allocation = Allocation(
            config=chosen.config,
            job_name=name,
            api_url=client.base_url,
            workflow_id=request.workflow_id,
            output_dir=str(out.resolve()),
            poll_interval=request.poll_interval,
            startup_window=chosen.startup_window,
            max_parallel_jobs=request.max_parallel_jobs,
            one_worker_per_node=request.one_worker_per_node,
            runner_program=runner_program(),
            defaults=chosen.defaults,
            credentials_file=credentials,
            ca_cert=str(Path(client.ca_cert).resolve()) if client.ca_cert else None,
        )
        script.write_text(sbatch_script(allocation))
        try:
            job_id = commands.submit(script, hold=True)
        finally:
            if not request.keep_scripts:
                script.unlink(missing_ok=True)
        record = _record(client, request.workflow_id, job_id, int(chosen.config["id"]))
        commands.release(job_id)  # only now: its runners find their record at once
        done.append(Submitted(job_id, int(record["id"]), script))
    return done


def _record(client: TorcClient, workflow_id: int, job_id: str, config_id: int) -> dict[str, Any]:
    """The scheduled compute node of a held allocation; the allocation is canceled when it
    cannot be recorded, so no runner starts untracked."""
    body = {
        "workflow_id": workflow_id,
        "scheduler_id": int(job_id),
        "scheduler_config_id": config_id,
        "scheduler_type": "slurm",
        "status": "pending",
    }
    try:
        record: dict[str, Any] = client.post("/scheduled_compute_nodes", body)
    except BaseException:
        commands.cancel([job_id])
        raise
    return record


def write_credentials(folder: Path, auth: tuple[str, str]) -> str:
    """A file only its owner can read holding the user and password the runners use; its path.
    (The password never goes into the script, the runner's arguments or its environment.)"""
    path = folder.resolve() / ".torc_credentials"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an existing file keeps its mode on open
    with os.fdopen(fd, "w") as out:
        out.write(f"{auth[0]}\n{auth[1]}\n")
    return str(path)


def read_credentials(path: str) -> tuple[str, str]:
    """What write_credentials wrote."""
    user, password = Path(path).read_text().split("\n")[:2]
    return user, password


def runner_program() -> str:
    """torc-slurm-job-runner beside the Python running this (a virtualenv need not be on the
    compute node's PATH), else the bare name."""
    beside = Path(sys.executable).parent / "torc-slurm-job-runner"
    return str(beside) if beside.is_file() else "torc-slurm-job-runner"


def _scheduler_config(client: TorcClient, request: ScheduleRequest) -> dict[str, Any]:
    """The config asked for, or the workflow's only one."""
    if request.scheduler_config_id is not None:
        config: dict[str, Any] = client.get(f"/slurm_schedulers/{request.scheduler_config_id}")
        if int(config["workflow_id"]) != request.workflow_id:
            raise InvalidInput(
                f"Slurm config {request.scheduler_config_id} belongs to workflow"
                f" {config['workflow_id']}, not {request.workflow_id}"
            )
        return config
    configs = list(client.iter_pages("/slurm_schedulers", workflow_id=request.workflow_id))
    if len(configs) == 1:
        return configs[0]
    if not configs:
        raise InvalidInput(
            f"workflow {request.workflow_id} has no Slurm config: add one with `torc slurm"
            " create` (or slurm_schedulers in the spec)"
        )
    names = ", ".join(f"{c['id']} ({c['name']})" for c in configs)
    raise InvalidInput(
        f"workflow {request.workflow_id} has several Slurm configs ({names}):"
        " choose one with --scheduler-config-id"
    )
