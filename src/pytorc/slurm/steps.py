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
    """srun options for the job's step, sized to it: one task on this runner's node, or for a
    multi-node job one task on each of its nodes (wherever the allocation has room), which is
    how an MPI program started by srun expects to run."""
    nodes = max(needs.nodes, 1)
    placement = (
        ["--nodes=1", "--ntasks=1", f"--nodelist={node_name}"]
        if nodes == 1
        else [f"--nodes={nodes}", f"--ntasks={nodes}", "--ntasks-per-node=1"]
    )
    argv = [
        "srun",
        f"--jobid={slurm_job_id}",
        *placement,
        "--exact",  # only what the step asks for, so steps run side by side
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
