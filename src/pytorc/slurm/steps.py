"""Each job as its own Slurm job step, so Slurm confines it to what it asked for (cgroups where
the cluster has them) and `sacct` accounts for it under the name wf<W>_j<J>_r<R>_a<A>."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from pytorc.runner.policy import Needs

MIB = 1024 * 1024


def step_name(workflow_id: int, job_id: int, run_id: int, attempt: int) -> str:
    return f"wf{workflow_id}_j{job_id}_r{run_id}_a{attempt}"


def srun_prefix(slurm_job_id: str, node_name: str, name: str, needs: Needs) -> list[str]:
    """srun options for one single-task step on this runner's node, sized to the job."""
    argv = [
        "srun",
        f"--jobid={slurm_job_id}",
        "--nodes=1",
        "--ntasks=1",
        "--exact",  # only what the step asks for, so steps run side by side
        f"--nodelist={node_name}",
        f"--job-name={name}",
        f"--cpus-per-task={max(needs.cpus, 1)}",
        f"--mem={max(math.ceil(needs.memory / MIB), 1)}M",
        "--quiet",
    ]
    if needs.gpus:
        argv.append(f"--gpus={needs.gpus}")
    return argv


def step_wrapper(
    slurm_job_id: str,
    node_name: str,
    workflow_id: int,
    run_id: int,
    needs: Callable[[dict[str, Any]], Needs],
) -> Callable[[dict[str, Any], int, list[str]], list[str]]:
    """The runner's StepCommand: the job's argv behind its srun prefix."""

    def wrap(job: dict[str, Any], attempt: int, argv: list[str]) -> list[str]:
        name = step_name(workflow_id, int(job["id"]), run_id, attempt)
        return [*srun_prefix(slurm_job_id, node_name, name, needs(job)), *argv]

    return wrap
