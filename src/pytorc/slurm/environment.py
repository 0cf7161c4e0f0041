"""What a runner inside a Slurm allocation learns from the environment Slurm gives it."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass

from pytorc.runner.resources import Resources, total_memory_bytes


class NotInAllocation(RuntimeError):
    """The process is not running inside a Slurm job (no SLURM_JOB_ID)."""


@dataclass(frozen=True)
class SlurmContext:
    """This runner's place in its allocation."""

    job_id: str
    node_id: int  # SLURM_NODEID: 0 is the allocation's head node
    node_name: str  # Slurm's name for this node (what `hostname` says on a real cluster)
    num_nodes: int
    cpus: int
    memory_mb: int
    gpus: int

    @property
    def is_head_node(self) -> bool:
        return self.node_id == 0

    def resources(self, whole_allocation: bool) -> Resources:
        """What the runner may hand out: this node's share, or (one runner for the whole
        allocation) every node, for jobs that span nodes."""
        nodes = self.num_nodes if whole_allocation else 1
        return Resources(
            num_cpus=self.cpus,
            memory_gb=round(self.memory_mb / 1024, 3),
            num_gpus=self.gpus,
            num_nodes=nodes,
        )


def read_context(environ: Mapping[str, str] | None = None) -> SlurmContext:
    """The allocation as Slurm describes it; NotInAllocation outside one."""
    env = os.environ if environ is None else environ
    job_id = env.get("SLURM_JOB_ID") or env.get("SLURM_JOBID")
    if not job_id:
        raise NotInAllocation("SLURM_JOB_ID is not set: this is not a Slurm allocation")
    cpus = _first_int(env.get("SLURM_CPUS_ON_NODE")) or os.cpu_count() or 1
    return SlurmContext(
        job_id=job_id,
        node_id=_first_int(env.get("SLURM_NODEID")) or 0,
        node_name=env.get("SLURMD_NODENAME") or socket.gethostname(),
        num_nodes=_first_int(env.get("SLURM_JOB_NUM_NODES") or env.get("SLURM_NNODES")) or 1,
        cpus=cpus,
        memory_mb=_memory_mb(env, cpus),
        gpus=_gpus(env),
    )


def _first_int(text: str | None) -> int | None:
    """'4' or '4(x2)' (Slurm's per-node lists) -> 4; None when absent or not a number."""
    if not text:
        return None
    head = text.split("(")[0].split(",")[0].strip()
    return int(head) if head.isdigit() else None


def _memory_mb(env: Mapping[str, str], cpus: int) -> int:
    """The allocation's memory on this node: --mem, else --mem-per-cpu times CPUs, else the
    machine's (an allocation without a memory request may use all of it)."""
    per_node = _first_int(env.get("SLURM_MEM_PER_NODE"))
    if per_node:
        return per_node
    per_cpu = _first_int(env.get("SLURM_MEM_PER_CPU"))
    if per_cpu:
        return per_cpu * cpus
    return total_memory_bytes() // (1024 * 1024)


def _gpus(env: Mapping[str, str]) -> int:
    """GPUs on this node: SLURM_GPUS_ON_NODE, else the count of SLURM_JOB_GPUS' ids."""
    on_node = _first_int(env.get("SLURM_GPUS_ON_NODE"))
    if on_node is not None:
        return on_node
    ids = env.get("SLURM_JOB_GPUS", "")
    return len([g for g in ids.split(",") if g.strip()])
