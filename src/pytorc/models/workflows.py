"""Workflows, their run settings, status summaries and background tasks."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StrictBool, StrictFloat, StrictStr

from pytorc.models.common import I64, Name, NonNeg, Str, WireModel


class MonitorGranularity(StrEnum):
    SUMMARY = "summary"  # one summary per job
    TIME_SERIES = "time_series"  # samples stored in a SQLite file


class JobMonitorConfig(WireModel):
    enabled: StrictBool | None = False
    granularity: MonitorGranularity | None = None


class ComputeNodeMonitorConfig(WireModel):
    enabled: StrictBool | None = False
    granularity: MonitorGranularity | None = None
    cpu: StrictBool | None = True
    memory: StrictBool | None = True


class ResourceMonitorConfig(WireModel):
    enabled: StrictBool | None = False
    granularity: MonitorGranularity | None = None
    # Whole seconds in Torc; pytorc also takes a fraction (tests, short jobs).
    sample_interval_seconds: NonNeg | Annotated[StrictFloat, Field(gt=0, le=1e9)] | None = 10
    flush_interval_seconds: NonNeg | None = 300
    generate_plots: StrictBool | None = False
    jobs: JobMonitorConfig | None = None
    compute_node: ComputeNodeMonitorConfig | None = None


class ExecutionMode(StrEnum):
    DIRECT = "direct"  # the runner spawns jobs itself
    SLURM = "slurm"  # each job is an srun step
    AUTO = "auto"  # slurm inside an allocation, else direct


class StdioMode(StrEnum):
    SEPARATE = "separate"
    COMBINED = "combined"
    NO_STDOUT = "no_stdout"
    NO_STDERR = "no_stderr"
    NONE = "none"


class StdioConfig(WireModel):
    model_config = ConfigDict(extra="allow")
    mode: StdioMode | None = None
    delete_on_success: StrictBool | None = None


class ExecutionConfig(WireModel):
    model_config = ConfigDict(extra="allow")
    mode: ExecutionMode | None = None
    limit_resources: StrictBool | None = None
    oom_exit_code: I64 | None = None
    timeout_exit_code: I64 | None = None
    termination_signal: Name | None = None
    sigterm_lead_seconds: I64 | None = None
    sigkill_headroom_seconds: I64 | None = None
    srun_termination_signal: Name | None = None
    srun_mpi: Name | None = None
    enable_cpu_bind: StrictBool | None = None
    staggered_start: StrictBool | None = None
    dead_runner_action: Literal["requeue", "fail"] | None = None  # pytorc
    stdio: StdioConfig | None = None
    job_stdio_overrides: dict[str, StdioConfig] | None = None


class DynamicJobsConfig(WireModel):
    model_config = ConfigDict(extra="allow")
    max_iterations: I64 | None = None


class WorkflowModel(WireModel):
    id: I64 | None = None
    name: Name
    user: Name
    description: Str | None = None
    timestamp: Name | None = None
    project: Name | None = None
    metadata: dict[str, Any] | None = None
    compute_node_expiration_buffer_seconds: I64 | None = None
    compute_node_wait_for_new_jobs_seconds: I64 | None = None
    compute_node_ignore_workflow_completion: StrictBool | None = None
    compute_node_wait_for_healthy_database_minutes: I64 | None = None
    compute_node_min_time_for_new_jobs_seconds: I64 | None = None
    resource_monitor_config: ResourceMonitorConfig | None = None
    slurm_defaults: dict[str, Any] | None = None
    use_pending_failed: StrictBool | None = None
    run_id: I64 | None = None
    is_canceled: StrictBool | None = None
    is_archived: StrictBool | None = None
    access_groups: list[Name] | None = None
    env: dict[str, StrictStr] | None = None
    execution_config: ExecutionConfig | None = None
    dynamic_jobs: DynamicJobsConfig | None = None
    enable_ro_crate: StrictBool | None = None
    submission_directory: Str | None = None


class ArchiveWorkflowRequest(WireModel):
    is_archived: StrictBool


class JobStatusCounts(WireModel):
    uninitialized: int
    blocked: int
    ready: int
    pending: int
    running: int
    completed: int
    failed: int
    canceled: int
    terminated: int
    disabled: int
    pending_failed: int


class WorkflowStatusResponse(WireModel):
    workflow_id: int
    workflow_name: str
    workflow_user: str
    is_complete: bool
    is_canceled: bool
    total_jobs: int
    jobs_by_status: JobStatusCounts
    total_exec_time_minutes: float
    active_compute_nodes: int
    active_scheduled_nodes: int
    pending_scheduled_nodes: int
    walltime_seconds: float | None = None


class IsCompleteResponse(WireModel):
    is_complete: bool
    is_canceled: bool


class IsUninitializedResponse(WireModel):
    is_uninitialized: bool


class ListJobIdsResponse(WireModel):
    job_ids: list[int]
    count: int


class ResetJobStatusResponse(WireModel):
    workflow_id: int
    updated_count: int
    status: str
    reset_type: str | None = None


class GetReadyJobRequirementsResponse(WireModel):
    num_jobs: int
    num_cpus: int
    num_gpus: int
    memory_gb: float
    max_num_nodes: int
    max_runtime: str


class ListRequiredExistingFilesResponse(WireModel):
    files: list[int]


class ListMissingUserDataResponse(WireModel):
    user_data: list[int]


class ProcessChangedJobInputsResponse(WireModel):
    reinitialized_jobs: list[str]


class TaskStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class TaskModel(WireModel):
    id: int
    workflow_id: int
    operation: str
    status: TaskStatus
    created_at_ms: int
    started_at_ms: int | None = None
    finished_at_ms: int | None = None
    error: str | None = None


class ActiveTaskResponse(WireModel):
    task: TaskModel | None = None


# --- jobs ---------------------------------------------------------------------------------


class IncompleteWorkflowsResponse(WireModel):
    """pytorc: workflows whose creation never finished."""

    workflow_ids: list[int]
