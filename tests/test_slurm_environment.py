"""What a runner reads from Slurm's environment, and the srun step each job becomes."""

from __future__ import annotations

import pytest

from pytorc.runner.policy import Needs
from pytorc.slurm.environment import NotInAllocation, read_context
from pytorc.slurm.steps import srun_prefix, step_name

ALLOCATION = {
    "SLURM_JOB_ID": "812",
    "SLURM_NODEID": "1",
    "SLURMD_NODENAME": "node7",
    "SLURM_JOB_NUM_NODES": "2",
    "SLURM_CPUS_ON_NODE": "36",
    "SLURM_MEM_PER_NODE": "184000",
    "SLURM_JOB_GPUS": "0,1",
}


def test_the_context_comes_from_slurms_variables() -> None:
    context = read_context(ALLOCATION)
    assert (context.job_id, context.node_id, context.node_name) == ("812", 1, "node7")
    assert (context.cpus, context.memory_mb, context.gpus) == (36, 184000, 2)
    assert not context.is_head_node
    assert context.resources(whole_allocation=False).num_nodes == 1
    whole = context.resources(whole_allocation=True)
    assert (whole.num_cpus, whole.memory_gb, whole.num_gpus, whole.num_nodes) == (
        36,
        round(184000 / 1024, 3),
        2,
        2,
    )


def test_memory_per_cpu_and_per_node_lists_are_understood() -> None:
    env = {**ALLOCATION, "SLURM_CPUS_ON_NODE": "4(x2)", "SLURM_MEM_PER_CPU": "2000"}
    del env["SLURM_MEM_PER_NODE"]
    context = read_context(env)
    assert (context.cpus, context.memory_mb) == (4, 8000)


def test_outside_an_allocation_it_says_so() -> None:
    with pytest.raises(NotInAllocation, match="SLURM_JOB_ID"):
        read_context({"HOME": "/root"})


def test_a_job_step_is_named_and_sized_for_its_job() -> None:
    name = step_name(3, 41, 2, 1)
    assert name == "wf3_j41_r2_a1"
    argv = srun_prefix("812", "node7", name, Needs(cpus=4, memory=1.5 * 1024**3, gpus=1))
    assert argv[0] == "srun" and "--jobid=812" in argv and "--nodelist=node7" in argv
    assert {"--job-name=wf3_j41_r2_a1", "--cpus-per-task=4", "--mem=1536M", "--gpus=1"} <= set(argv)
    tiny = srun_prefix("812", "node7", name, Needs(cpus=0, memory=10.0, gpus=0))
    assert "--cpus-per-task=1" in tiny and "--mem=1M" in tiny
    assert not any(a.startswith("--gpus") for a in tiny)


def test_a_multi_node_job_gets_one_task_on_each_of_its_nodes() -> None:
    argv = srun_prefix("812", "node7", "wf3_j5_r1_a1", Needs(cpus=8, memory=2**30, gpus=0, nodes=2))
    assert {"--nodes=2", "--ntasks=2", "--ntasks-per-node=1", "--cpus-per-task=8"} <= set(argv)
    assert not any(a.startswith("--nodelist") for a in argv)
