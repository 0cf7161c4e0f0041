"""Jobs, their results, claims and the runner's exchange."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictBool, StrictInt, StrictStr, model_validator

from pytorc.models.common import I64, Name, NonNeg, Number, Str, WireModel
from pytorc.vocabulary import JobStatus


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

    @model_validator(mode="after")
    def _startable(self) -> JobModel:
        """Only a job a runner can start: exec refuses NUL bytes in a command, its arguments
        and its environment, and an environment name must be non-empty and without '='."""
        for field in ("name", "command", "invocation_script"):
            value = getattr(self, field)
            if value is not None and "\x00" in value:
                raise ValueError(f"{field} contains a NUL byte, which no process can be given")
        for key, value in (self.env or {}).items():
            if not key or "=" in key or "\x00" in key:
                raise ValueError(f"env name {key!r} must be non-empty, without '=' or NUL bytes")
            if "\x00" in value:
                raise ValueError(f"env[{key!r}] contains a NUL byte, which no process can be given")
        return self


class JobsModel(WireModel):
    jobs: list[JobModel]


class CreateJobsResponse(WireModel):
    jobs: list[JobModel] | None = None


class CreatedJobIds(WireModel):
    """pytorc: `POST /bulk_jobs?brief=true` answers only the new ids, in request order (a big
    upload's client spent a fifth of its time decoding the full records it already knew)."""

    ids: list[I64]


class JobSweepModel(WireModel):
    """pytorc extension (`POST /workflows/{id}/job_sweeps`): one job template and the
    parameters it expands over, expanded by the server with the spec's rules.

    A million-job sweep sent as records costs the client and server about a minute; as a sweep
    it is a few hundred bytes and one set-wise insert."""

    job: JobModel = Field(
        description=(
            "The template: `{name}` / `{name:fmt}` in name, command and invocation_script are"
            " replaced per value set; depends_on_job_ids apply to every job of the sweep."
            " Files, user data and depends_on_job_names are not allowed here."
        )
    )
    parameters: dict[Name, list[StrictInt | float | StrictStr] | StrictInt | float | StrictStr]
    parameter_mode: Literal["product", "zip"] = "product"
    dependent_job_ids: list[I64] = Field(
        default_factory=list,
        description="Jobs (already created) that wait for every job of the sweep: a fan-in.",
    )


class JobSweepResponse(WireModel):
    """The sweep's jobs have the consecutive ids first_id .. last_id."""

    workflow_id: I64
    count: I64
    first_id: I64
    last_id: I64


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
    # Sent again after an exchange whose answer was lost: also answer with the jobs this node
    # has claimed and not started, which that lost answer carried.
    reclaim: StrictBool = False
    # Also answer with up to this many successor hints (services/successors.py).
    successors: Annotated[StrictInt, Field(ge=0, le=1_000)] = 0
    # The hints this node still holds: they count as held, and are not answered again.
    hinted: Annotated[list[I64], Field(max_length=1_000)] = []


class UnfitJob(WireModel):
    """A ready job too big for the node that asked, and what it needs beyond the node."""

    id: I64
    name: str
    beyond: str


class SuccessorHint(WireModel):
    """A blocked job that waits only for jobs the asking node holds (`after`)."""

    job: JobModel
    after: list[int]


class ExchangeJobsResponse(WireModel):
    started: list[int]
    completed: list[int]
    released: list[int] = []
    errors: list[JobCompletionError]
    jobs: list[JobModel]
    reason: str | None = None
    is_complete: bool
    is_canceled: bool
    # Unfinished, yet no job is ready, pending or running anywhere: what is left waits for a
    # person (pending_failed jobs to retry or fail, jobs to initialize), not for a runner.
    is_stalled: bool = False
    successors: list[SuccessorHint] = []
    # When a resource claim found nothing: ready jobs too big for the claiming node itself
    # ({id, name, beyond}), and whether any job is claimed or running anywhere (which could
    # make others ready); with none, this node can never run what is left.
    unfit: list[UnfitJob] = []
    others_active: bool = False


class ReleaseJobsRequest(WireModel):
    """Jobs a compute node claimed and will not start, to be made ready again."""

    run_id: I64
    compute_node_id: I64
    job_ids: list[I64]


class ReleaseJobsResponse(WireModel):
    released: list[int]
    errors: list[JobCompletionError]
