"""Wire models: the JSON shapes of the REST API (torc-client 0.35.0, API 0.21.0).

Field names are the contract and are spelled as the published client spells them. Request models
reject wrong JSON types (a string where an int belongs) so bad input is a 422, never a coercion.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr

I64 = Annotated[StrictInt, Field(ge=-(2**63), le=2**63 - 1)]
"""An integer SQLite can store; larger values are a 422, not an overflow."""
NonNeg = Annotated[StrictInt, Field(ge=0, le=2**63 - 1)]
Number = StrictFloat | I64
Str = Annotated[StrictStr, Field(max_length=1_000_000)]
Name = Annotated[StrictStr, Field(max_length=10_000)]


class JobStatus(StrEnum):
    """A job's state; `.code` is the integer Torc stores in the database."""

    UNINITIALIZED = "uninitialized"  # created; dependencies not evaluated yet
    BLOCKED = "blocked"  # waits for upstream jobs
    READY = "ready"  # may be claimed
    PENDING = "pending"  # claimed by a runner, not started
    RUNNING = "running"  # started by a runner
    COMPLETED = "completed"  # finished with return code 0
    FAILED = "failed"  # finished with a non-zero code or missing outputs
    CANCELED = "canceled"  # never ran, or the workflow was canceled
    TERMINATED = "terminated"  # killed by the runner (walltime, SIGTERM)
    DISABLED = "disabled"  # excluded from the run; counts as done
    PENDING_FAILED = "pending_failed"  # failed, awaiting classification (retry or fail)

    @property
    def code(self) -> int:
        return _STATUS_CODES[self]

    @classmethod
    def from_code(cls, code: int) -> JobStatus:
        return _STATUS_BY_CODE[code]


_STATUS_CODES = {s: i for i, s in enumerate(JobStatus)}
_STATUS_BY_CODE = dict(enumerate(JobStatus))

FINISHED = frozenset(
    {JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELED, JobStatus.TERMINATED}
)
"""Statuses that release dependents (Torc's "complete")."""
DONE = FINISHED | {JobStatus.DISABLED}
"""Statuses that count toward workflow completion."""
FAILING = frozenset({JobStatus.FAILED, JobStatus.CANCELED, JobStatus.TERMINATED})
"""Finished statuses that cancel dependents with cancel_on_blocking_job_failure."""


class WireModel(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


# --- system -------------------------------------------------------------------------------


class PingResponse(WireModel):
    status: str


class VersionResponse(WireModel):
    version: str
    api_version: str
    git_hash: str | None = None


class ErrorResponse(WireModel):
    error: Any
    errorNum: int | None = None
    errorMessage: str | None = None
    code: int | None = None


class MessageResponse(WireModel):
    message: str


class DeleteCountResponse(WireModel):
    count: int


T = TypeVar("T")


class Page(WireModel, Generic[T]):
    """One page of a list endpoint."""

    items: list[T]
    offset: int
    max_limit: int
    count: int
    total_count: int
    has_more: bool


# --- workflows ----------------------------------------------------------------------------


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


class ComputeNodeSchedule(WireModel):
    scheduler_id: I64
    num_jobs: I64
    max_parallel_jobs: I64 | None = None
    start_one_worker_per_node: StrictBool | None = None


class JobModel(WireModel):
    id: I64 | None = None
    workflow_id: I64
    name: Name
    command: Str
    status: JobStatus | None = None
    invocation_script: Str | None = None
    cancel_on_blocking_job_failure: StrictBool | None = None
    supports_termination: StrictBool | None = None
    depends_on_job_ids: list[I64] | None = None
    input_file_ids: list[I64] | None = None
    output_file_ids: list[I64] | None = None
    input_user_data_ids: list[I64] | None = None
    output_user_data_ids: list[I64] | None = None
    resource_requirements_id: I64 | None = None
    scheduler_id: I64 | None = None
    failure_handler_id: I64 | None = None
    attempt_id: I64 | None = None
    schedule_compute_nodes: ComputeNodeSchedule | None = None
    priority: NonNeg | None = 0
    env: dict[str, StrictStr] | None = None
    origin: Name | None = None
    compute_node_id: I64 | None = None
    start_time: Name | None = None
    depends_on_job_names: list[Name] | None = Field(
        default=None,
        description=(
            "pytorc extension, creation only: upstream jobs by name (jobs created in the same"
            " request, or already in the workflow), added to depends_on_job_ids. Lets a client"
            " create a whole DAG in one bulk_jobs request. Never returned."
        ),
    )


class JobsModel(WireModel):
    jobs: list[JobModel]


class CreateJobsResponse(WireModel):
    jobs: list[JobModel] | None = None


class ClaimJobsBasedOnResources(WireModel):
    jobs: list[JobModel] | None = None
    reason: str | None = None


class ClaimNextJobsResponse(WireModel):
    jobs: list[JobModel] | None = None


class ComputeNodesResources(WireModel):
    id: I64 | None = None
    num_cpus: I64
    memory_gb: Number
    num_gpus: I64
    num_nodes: I64
    time_limit: Name | None = None
    scheduler_config_id: I64 | None = None


class ResultModel(WireModel):
    id: I64 | None = None
    job_id: I64
    workflow_id: I64
    run_id: I64
    attempt_id: I64 | None = None
    compute_node_id: I64
    return_code: I64
    exec_time_minutes: Number
    completion_time: Name
    status: JobStatus
    peak_memory_bytes: I64 | None = None
    avg_memory_bytes: I64 | None = None
    peak_cpu_percent: Number | None = None
    avg_cpu_percent: Number | None = None
    job_name: Name | None = None


class JobCompletionEntry(WireModel):
    job_id: I64
    run_id: I64
    status: JobStatus
    result: ResultModel


class BatchCompleteJobsRequest(WireModel):
    completions: list[JobCompletionEntry]


class JobCompletionError(WireModel):
    job_id: int
    message: str


class BatchCompleteJobsResponse(WireModel):
    completed: list[int]
    errors: list[JobCompletionError]


class SpawnJobModel(WireModel):
    model_config = ConfigDict(extra="allow")
    name: Name
    command: Str
    depends_on: list[Name] | None = None
    resource_requirements: Name | None = None
    priority: NonNeg | None = None
    cancel_on_blocking_job_failure: StrictBool | None = None


class SpawnJobsRequest(WireModel):
    model_config = ConfigDict(extra="allow")
    jobs: list[SpawnJobModel]
    lineage: Name | None = None
    state: Any = None


class SpawnJobsResponse(WireModel):
    spawned_job_ids: list[int]
    iteration: int


class JobDependencyModel(WireModel):
    job_id: int
    job_name: str
    depends_on_job_id: int
    depends_on_job_name: str
    workflow_id: int


class JobFileRelationshipModel(WireModel):
    file_id: int
    file_name: str
    file_path: str
    producer_job_id: int | None = None
    producer_job_name: str | None = None
    consumer_job_id: int | None = None
    consumer_job_name: str | None = None
    workflow_id: int


class JobUserDataRelationshipModel(WireModel):
    user_data_id: int
    user_data_name: str
    producer_job_id: int | None = None
    producer_job_name: str | None = None
    consumer_job_id: int | None = None
    consumer_job_name: str | None = None
    workflow_id: int


class RunningJobModel(WireModel):
    job_id: int
    job_name: str
    compute_node_name: str
    scheduler_type: str
    scheduler_job_id: str | None = None
    start_time: str | None = None


class SlurmJobCorrelationModel(WireModel):
    job_id: int
    job_name: str
    slurm_job_id: str


# --- files, user data, resource requirements ---------------------------------------------


class FileModel(WireModel):
    id: I64 | None = None
    workflow_id: I64
    name: Name
    path: Str
    st_mtime: Number | None = None


class FilesModel(WireModel):
    files: list[FileModel]


class CreateFilesResponse(WireModel):
    files: list[FileModel] | None = None


class UserDataModel(WireModel):
    id: I64 | None = None
    workflow_id: I64
    name: Name
    is_ephemeral: StrictBool | None = None
    data: Any = None


class UserDataListModel(WireModel):
    user_data: list[UserDataModel]


class CreateUserDataListResponse(WireModel):
    user_data: list[UserDataModel] | None = None


class ResourceRequirementsModel(WireModel):
    id: I64 | None = None
    workflow_id: I64
    name: Name
    num_cpus: NonNeg | None = 1
    num_gpus: NonNeg | None = 0
    num_nodes: NonNeg | None = 1
    memory: Name | None = "1m"
    runtime: Name | None = "PT1M"


# --- results, events, compute nodes, schedulers --------------------------------------------


class EventModel(WireModel):
    id: I64 | None = None
    workflow_id: I64
    timestamp: I64
    data: Any


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


class AccessGroupModel(WireModel):
    id: I64 | None = None
    name: Name
    description: Str | None = None
    created_at: Name | None = None


class UserGroupMembershipModel(WireModel):
    id: I64 | None = None
    user_name: Name
    group_id: I64
    role: Name
    created_at: Name | None = None


class WorkflowAccessGroupModel(WireModel):
    workflow_id: int
    group_id: int
    created_at: str | None = None


class AccessCheckResponse(WireModel):
    has_access: bool
    user_name: str
    workflow_id: int
    reason: str | None = None


class ReloadAuthResponse(WireModel):
    message: str
    user_count: int


class ListAccessGroupsResponse(WireModel):
    items: list[AccessGroupModel]
    offset: int
    limit: int
    total_count: int
    has_more: bool


class ListUserGroupMembershipsResponse(WireModel):
    items: list[UserGroupMembershipModel]
    offset: int
    limit: int
    total_count: int
    has_more: bool


# --- RO-Crate -----------------------------------------------------------------------------


class RoCrateEntityModel(WireModel):
    id: I64 | None = None
    workflow_id: I64
    file_id: I64 | None = None
    entity_id: Name
    entity_type: Name
    metadata: dict[str, Any]


class DeleteRoCrateEntitiesResponse(WireModel):
    deleted_count: int
    message: str


# --- pytorc extensions (same base path; documented in the OpenAPI schema) -------------------


class JobStart(WireModel):
    job_id: I64
    start_time: Name | None = None


class ClaimRequest(WireModel):
    """What to claim after the reports: up to `limit` jobs, by count or fitting `resources`."""

    limit: Annotated[StrictInt, Field(ge=0, le=10_000)]
    resources: ComputeNodesResources | None = None
    strict_scheduler_match: StrictBool = False
    # The whole node, when `resources` is a budget larger than what is free now (a runner
    # queueing short jobs): only jobs that fit the node are claimed.
    capacity: ComputeNodesResources | None = None


class ExchangeJobsRequest(WireModel):
    """One runner round trip: report starts and completions, hand back jobs, then claim more."""

    run_id: I64
    compute_node_id: I64
    started: list[JobStart] = []
    completions: list[JobCompletionEntry] = []
    # Jobs this compute node claimed and will not start (its runner is stopping): ready again.
    release: list[I64] = []
    claim: ClaimRequest | None = None


class ExchangeJobsResponse(WireModel):
    started: list[int]
    completed: list[int]
    released: list[int] = []
    errors: list[JobCompletionError]
    jobs: list[JobModel]
    reason: str | None = None
    is_complete: bool
    is_canceled: bool


class ReleaseJobsRequest(WireModel):
    """Jobs a compute node claimed and will not start, to be made ready again."""

    run_id: I64
    compute_node_id: I64
    job_ids: list[I64]


class ReleaseJobsResponse(WireModel):
    released: list[int]
    errors: list[JobCompletionError]
