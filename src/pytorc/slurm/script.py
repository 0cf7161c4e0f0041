"""The sbatch script of one allocation: its #SBATCH lines from a scheduler config, and the
command that starts torc-slurm-job-runner (once, or on every node) with its startup window."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

# Scheduler-config fields written as `#SBATCH --<name>=<value>` when set, in this order.
_OPTIONS = (
    ("nodes", "nodes"),
    ("partition", "partition"),
    ("qos", "qos"),
    ("mem", "mem"),
    ("gres", "gres"),
    ("tmp", "tmp"),
    ("ntasks_per_node", "ntasks-per-node"),
)


@dataclass(frozen=True)
class Allocation:
    """What one sbatch script needs to know."""

    config: dict[str, Any]  # a SlurmSchedulerModel as JSON
    job_name: str
    api_url: str
    workflow_id: int
    output_dir: str
    poll_interval: float
    startup_window: float = 0.0
    max_parallel_jobs: int | None = None
    one_worker_per_node: bool = False
    runner_program: str = "torc-slurm-job-runner"  # a path when the runner is not on PATH
    defaults: dict[str, Any] | None = None  # the workflow's slurm_defaults: more sbatch options
    credentials_file: str | None = None  # where the runner finds its user and password
    ca_cert: str | None = None  # the certificate authorities the runner trusts (https)


def sbatch_script(allocation: Allocation) -> str:
    """The script's text; every value is shell-quoted, so names and paths cannot inject."""
    config, out = allocation.config, allocation.output_dir
    log = f"{out}/slurm_output_wf{allocation.workflow_id}_sl%j"
    lines = [
        "#!/bin/bash",
        f"#SBATCH --account={shlex.quote(str(config['account']))}",
        f"#SBATCH --job-name={shlex.quote(allocation.job_name)}",
        f"#SBATCH --time={shlex.quote(str(config['walltime']))}",
        f"#SBATCH --output={shlex.quote(log + '.o')}",
        f"#SBATCH --error={shlex.quote(log + '.e')}",
    ]
    lines += [
        f"#SBATCH --{option}={shlex.quote(str(config[key]))}"
        for key, option in _OPTIONS
        if config.get(key) is not None
    ]
    written = {"account", "job_name", "time", "walltime", "output", "error"}
    written |= {key for key, _ in _OPTIONS if config.get(key) is not None}
    lines += [
        f"#SBATCH --{key.replace('_', '-')}={shlex.quote(str(value))}"
        for key, value in (allocation.defaults or {}).items()
        if key not in written and value is not None
    ]
    if config.get("extra"):
        lines.append(f"#SBATCH {config['extra']}")
    lines += ["", f"export TORC_API_URL={shlex.quote(allocation.api_url)}"]
    if allocation.ca_cert:
        lines.append(f"export TORC_CA_CERT={shlex.quote(allocation.ca_cert)}")
    if allocation.credentials_file:  # the file's name, never the password
        lines.append(f"export TORC_CREDENTIALS_FILE={shlex.quote(allocation.credentials_file)}")
    lines.append("")
    lines.append(" ".join(_launch(allocation)))
    return "\n".join(lines) + "\n"


def _launch(allocation: Allocation) -> list[str]:
    runner = [
        shlex.quote(allocation.runner_program),
        '"$TORC_API_URL"',
        str(allocation.workflow_id),
        shlex.quote(allocation.output_dir),
        "--poll-interval",
        f"{allocation.poll_interval:g}",
    ]
    if allocation.max_parallel_jobs is not None:
        runner += ["--max-parallel-jobs", str(allocation.max_parallel_jobs)]
    if allocation.startup_window > 0:
        runner += ["--startup-delay-seconds", f"{allocation.startup_window:g}"]
    if not allocation.one_worker_per_node:
        return runner
    # One task per node; a runner that ends must not take the other nodes' runners with it.
    srun = [
        "srun",
        "--ntasks-per-node=1",
        "--nodes=$SLURM_JOB_NUM_NODES",
        "--wait=0",
        "--kill-on-bad-exit=0",
        "--overlap",  # the runner's step leaves the node's CPUs and memory to the jobs' steps
    ]
    return [*srun, *runner, "--is-subtask"]
