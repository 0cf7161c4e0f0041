"""Compute nodes, schedulers, failure handlers, Slurm statistics, remote workers, actions."""

from __future__ import annotations

from typing import Any

from pydantic import StrictBool

from pytorc.models.common import I64, Name, Number, Str, WireModel


class ComputeNodeModel(WireModel):
    id: I64 | None = None
    workflow_id: I64
    hostname: Name
    pid: I64
    start_time: Name
    duration_seconds: Number | None = None
    is_active: StrictBool | None = None
    num_cpus: I64
    memory_gb: Number
    num_gpus: I64
    num_nodes: I64
    time_limit: Name | None = None
    scheduler_config_id: I64 | None = None
    compute_node_type: Name
    scheduler: Any = None
    peak_memory_bytes: I64 | None = None
    avg_memory_bytes: I64 | None = None
    peak_cpu_percent: Number | None = None
    avg_cpu_percent: Number | None = None
    sample_count: I64 | None = None


class LocalSchedulerModel(WireModel):
    id: I64 | None = None
    workflow_id: I64
    name: Name | None = None
    memory: Name | None = None
    num_cpus: I64 | None = None


class SlurmSchedulerModel(WireModel):
    id: I64 | None = None
    workflow_id: I64
    name: Name | None = None
    account: Name
    gres: Name | None = None
    mem: Name | None = None
    nodes: I64
    ntasks_per_node: I64 | None = None
    partition: Name | None = None
    qos: Name | None = None
    tmp: Name | None = None
    walltime: Name
    extra: Str | None = None


class ScheduledComputeNodesModel(WireModel):
    id: I64 | None = None
    workflow_id: I64
    scheduler_id: I64
    scheduler_config_id: I64
    scheduler_type: Name
    status: Name


class FailureHandlerModel(WireModel):
    id: I64 | None = None
    workflow_id: I64
    name: Name
    rules: Str


class SlurmStatsModel(WireModel):
    id: I64 | None = None
    workflow_id: I64
    job_id: I64
    run_id: I64
    attempt_id: I64
    slurm_job_id: Name | None = None
    max_rss_bytes: I64 | None = None
    max_vm_size_bytes: I64 | None = None
    max_disk_read_bytes: I64 | None = None
    max_disk_write_bytes: I64 | None = None
    ave_cpu_seconds: Number | None = None
    node_list: Str | None = None


class RemoteWorkerModel(WireModel):
    worker: str
    workflow_id: int


# --- actions ------------------------------------------------------------------------------


class WorkflowActionModel(WireModel):
    id: I64 | None = None
    workflow_id: I64
    trigger_type: Name
    action_type: Name
    action_config: Any
    job_ids: list[I64] | None = None
    trigger_count: I64 | None = 0
    required_triggers: I64 | None = 1
    executed: StrictBool | None = False
    executed_at: Name | None = None
    executed_by: I64 | None = None
    persistent: StrictBool | None = False
    is_recovery: StrictBool | None = False


class ClaimActionRequest(WireModel):
    compute_node_id: I64 | None = None


class ClaimActionResponse(WireModel):
    action_id: int
    success: bool = False


# --- access control -----------------------------------------------------------------------


class DeclareDeadRequest(WireModel):
    """pytorc: why the node's runner is known to be gone (for the event it writes)."""

    reason: str | None = None


class DeclareDeadResponse(WireModel):
    compute_node_id: int
    requeued_job_ids: list[int]
    was_active: bool
