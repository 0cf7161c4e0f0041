"""The workflow spec as one validated model, whatever format it was written in.

Keys are Torc's (its current spec, 0.12's, and the torc-client 0.35 models). Where Torc refuses
unknown keys (serde's deny_unknown_fields) so does every model here, so a typo fails at load time
instead of being silently ignored; the resource monitor sections, which Torc reads leniently,
drop unknown keys and name them (see spec.notices). Types are strict (a string where a number
belongs is an error, not a coercion); `null` for a key with a default means "not set". (No
`from __future__ import annotations`: pytorc.fields reads the annotations when each class is
made.)
"""

import json
import re
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pytorc.fields import (
    After,
    Before,
    Model,
    NonEmptyStr,
    Problem,
    ValidationError,
    field,
    ge,
    gt,
    min_length,
)
from pytorc.units import UnitError, duration_seconds, memory_bytes, slurm_time_seconds
from pytorc.vocabulary import JOB_TRIGGERS, ActionType, TriggerType

Name = NonEmptyStr
Mode = Literal["product", "zip"]

# sbatch options a scheduler sets itself; slurm_defaults may not override them.
SLURM_RESERVED = frozenset(
    {"partition", "nodes", "walltime", "time", "mem", "gres", "name", "job-name"}
)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_SRUN_MPI = re.compile(r"[A-Za-z0-9+_.-]+\Z")
# execution_config keys that only mean something in one mode (Torc refuses them in the other).
DIRECT_ONLY = ("limit_resources", "termination_signal", "sigterm_lead_seconds", "oom_exit_code")
SLURM_ONLY = ("srun_termination_signal", "enable_cpu_bind")


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def _check_parameters(value: Any) -> Any:
    """A parameter is "1:100", "0:1:0.1", "[1,5,10]", a scalar, or a list of scalars."""
    if value is None:
        return value
    if not isinstance(value, dict):
        raise ValueError(f"expected a mapping of parameter names to values, got {value!r}")
    for name, v in value.items():
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError(f"parameter name {name!r} is not an identifier")
        if not (_is_scalar(v) or (isinstance(v, list) and all(_is_scalar(x) for x in v))):
            raise ValueError(
                f"parameter {name!r}: expected a string such as '1:10' or '[a,b]', a number, "
                f"or a list of them, got {v!r}"
            )
    return value


Parameters = Annotated[dict[str, Any] | None, Before(_check_parameters)]


def _parses_as(parse: Callable[[str], object]) -> Callable[[str], str]:
    """A check that keeps the string (the server parses it again) if `parse` accepts it."""

    def check(value: str) -> str:
        try:
            parse(value)
        except UnitError as exc:
            raise ValueError(str(exc)) from None
        return value

    return check


def _memory(value: str) -> str:
    """A size with its unit: a bare number is refused, since `memory: 4096` means 4 KiB to the
    server (bytes), which is never what was meant."""
    if value.strip().isdigit():
        raise ValueError(
            f"memory {value!r} has no unit: write e.g. '{value}m' (MiB) or '{value}g' (GiB);"
            " units are k, m, g, t (powers of 1024)"
        )
    return _parses_as(memory_bytes)(value)


def _number_memory(value: Any) -> Any:
    """`memory: 4096` (a YAML number) gets the same answer as `memory: "4096"`."""
    return _memory(str(value)) if isinstance(value, int) and not isinstance(value, bool) else value


def _one_or_many(value: Any) -> Any:
    """A single name where a list is expected is a list of one (`depends_on: prepare`)."""
    return [value] if isinstance(value, str) else value


_runtime = _parses_as(duration_seconds)
Names = Annotated[list[Name], Before(_one_or_many)]


_walltime = _parses_as(slurm_time_seconds)


def _metadata(value: Any) -> Any:
    """Torc 0.12 stored metadata as a JSON string; 0.35 as an object. Accept both."""
    if not isinstance(value, str):
        return value
    try:
        parsed = json.loads(value)
    except ValueError as exc:
        raise ValueError(f"metadata string is not JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise ValueError("metadata must be an object (or a JSON string holding one)")
    return parsed


def _env(value: dict[str, str] | None) -> dict[str, str] | None:
    for name in value or {}:
        if not _IDENTIFIER.match(name):
            raise ValueError(
                f"invalid environment variable name {name!r}: expected [A-Za-z_][A-Za-z0-9_]*"
            )
    return value


Env = Annotated[dict[str, str] | None, After(_env)]


def _srun_mpi(value: str) -> str:
    if not _SRUN_MPI.match(value):
        raise ValueError(
            f"srun_mpi {value!r} must be one token of [A-Za-z0-9+_.-] such as 'none' or 'pmix'"
        )
    return value


def _slurm_defaults(value: dict[str, Any] | None) -> dict[str, Any] | None:
    for key, option in (value or {}).items():
        if key.lower() in SLURM_RESERVED:
            raise ValueError(
                f"{key!r} is set by each slurm_scheduler and may not be a slurm default"
            )
        if not isinstance(option, str | int | float):
            raise ValueError(f"{key!r}: expected a string, number or boolean, got {option!r}")
    return value


class Parameterized(Model):
    """Keys shared by the records that parameters expand (jobs, files, user data)."""

    parameters: Parameters = None
    parameter_mode: Mode = "product"
    use_parameters: list[Name] | None = None


class StdioSpec(Model):
    mode: Literal["separate", "combined", "no_stdout", "no_stderr", "none"] = "separate"
    delete_on_success: bool | None = None


class JobSpec(Parameterized):
    name: Name
    command: Name
    invocation_script: str | None = None
    env: Env = None  # over the workflow's env; stored on the job, exported by the runner
    depends_on: Names = field(default_factory=list)
    depends_on_regexes: Names = field(default_factory=list)
    input_files: Names = field(default_factory=list)
    input_file_regexes: Names = field(default_factory=list)
    output_files: Names = field(default_factory=list)
    output_file_regexes: Names = field(default_factory=list)
    input_user_data: Names = field(default_factory=list)
    input_user_data_regexes: Names = field(default_factory=list)
    output_user_data: Names = field(default_factory=list)
    output_user_data_regexes: Names = field(default_factory=list)
    resource_requirements: Name | None = None
    scheduler: Name | None = None
    failure_handler: Name | None = None
    priority: Annotated[int, ge(0)] = 0
    # None: the workflow-level default, which is true unless the spec says otherwise.
    cancel_on_blocking_job_failure: bool | None = None
    supports_termination: bool = False
    stdio: StdioSpec | None = None  # stored in execution_config.job_stdio_overrides


class FileSpec(Parameterized):
    name: Name
    path: Name
    identifier: str | None = None  # Torc's RO-Crate @id; nowhere to store it yet
    st_mtime: float | None = None


class UserDataSpec(Parameterized):
    name: Name
    data: Any = None
    is_ephemeral: bool = False


class ResourceRequirementsSpec(Model):
    name: Name
    num_cpus: Annotated[int, ge(0)]
    memory: Annotated[str, Before(_number_memory), After(_memory)]
    num_gpus: Annotated[int, ge(0)] = 0
    num_nodes: Annotated[int, ge(1)] = 1
    runtime: Annotated[str, After(_runtime)] = "PT1H"


class FailureRuleSpec(Model):
    exit_codes: list[int] = field(default_factory=list)
    match_all_exit_codes: bool = False
    recovery_script: str | None = None
    max_retries: Annotated[int, ge(0)] = 3

    def check_model(self) -> None:
        if not self.exit_codes and not self.match_all_exit_codes:
            raise ValueError("a rule needs exit_codes or match_all_exit_codes: true")


class FailureHandlerSpec(Model):
    name: Name
    rules: Annotated[list[FailureRuleSpec], min_length(1)]


class SlurmSchedulerSpec(Model):
    name: Name
    account: Name
    partition: str | None = None
    nodes: Annotated[int, ge(1)] = 1
    walltime: Annotated[str, After(_walltime)] = "01:00:00"
    mem: str | None = None
    gres: str | None = None
    qos: str | None = None
    ntasks_per_node: Annotated[int, ge(1)] | None = None
    tmp: str | None = None
    extra: str | None = None
    serialize_allocations: bool = False  # Torc's; no field for it in the 0.35 models


class WorkflowActionSpec(Model):
    trigger_type: TriggerType
    action_type: ActionType
    jobs: list[Name] = field(default_factory=list)
    job_name_regexes: list[Name] = field(default_factory=list)
    commands: list[Name] = field(default_factory=list)
    scheduler: Name | None = None
    scheduler_type: Literal["slurm", "local"] = "slurm"
    num_allocations: Annotated[int, ge(1)] = 1
    start_one_worker_per_node: bool = False
    max_parallel_jobs: Annotated[int, ge(1)] | None = None
    persistent: bool = False

    def check_model(self) -> None:
        if self.action_type == "run_commands" and not self.commands:
            raise ValueError("a run_commands action needs at least one command in commands")
        if self.action_type == "schedule_nodes" and self.scheduler is None:
            raise ValueError("a schedule_nodes action needs a scheduler")
        if self.trigger_type in JOB_TRIGGERS and not (self.jobs or self.job_name_regexes):
            raise ValueError(f"trigger {self.trigger_type} needs jobs or job_name_regexes")


Granularity = Literal["summary", "time_series"]


class JobMonitorSpec(Model):
    unknown_keys = "ignore"
    enabled: bool = False
    granularity: Granularity = "summary"


class ComputeNodeMonitorSpec(Model):
    unknown_keys = "ignore"
    enabled: bool = False
    granularity: Granularity = "summary"
    cpu: bool = True
    memory: bool = True


class ResourceMonitorSpec(Model):
    unknown_keys = "ignore"  # as Torc's ResourceMonitorConfig: e.g. `metrics` is ignored
    enabled: bool = True
    granularity: Granularity = "summary"
    # Seconds; a fraction (e.g. 0.2) is a pytorc extension, Torc takes whole seconds.
    sample_interval_seconds: Annotated[int | float, gt(0)] = 5
    flush_interval_seconds: Annotated[int, ge(0)] | None = None
    generate_plots: bool = False
    jobs: JobMonitorSpec | None = None  # Torc's newer form of enabled/granularity
    compute_node: ComputeNodeMonitorSpec | None = None


class ExecutionConfigSpec(Model):
    mode: Literal["direct", "slurm", "auto"] = "direct"
    sigkill_headroom_seconds: int | None = None
    timeout_exit_code: int | None = None
    staggered_start: bool | None = None
    # pytorc: what the server does with the running jobs of a runner it declares dead
    # (requeue: run them again elsewhere; fail: fail them, for jobs that must not run twice).
    dead_runner_action: Literal["requeue", "fail"] | None = None
    limit_resources: bool | None = None
    termination_signal: str | None = None
    sigterm_lead_seconds: int | None = None
    oom_exit_code: int | None = None
    srun_termination_signal: str | None = None
    srun_mpi: Annotated[str, After(_srun_mpi)] | None = None
    enable_cpu_bind: bool | None = None
    stdio: StdioSpec | None = None
    job_stdio_overrides: dict[str, StdioSpec] | None = None

    def check_model(self) -> None:
        if self.mode != "auto":  # auto depends on the spec's schedulers: WorkflowSpec checks it
            self.check_mode(self.mode)

    def check_mode(self, effective: str) -> None:
        """Refuse the keys of the other mode, as Torc does (a ValidationError naming each)."""
        other, own = (SLURM_ONLY, "slurm") if effective == "direct" else (DIRECT_ONLY, "direct")
        given = [key for key in other if key in self.model_fields_set]
        if not given:
            return
        mode = effective if self.mode == effective else f"auto, which is {effective} here"
        problems = [Problem((key,), f"applies only in {own} mode; mode is {mode}") for key in given]
        raise ValidationError("ExecutionConfigSpec", problems)


class DynamicJobsSpec(Model):
    max_iterations: Annotated[int, ge(1)] | None = None


class WorkflowSpec(Model):
    replaced_keys = {"slurm_config": "execution_config"}
    name: Name
    user: str | None = None  # ignored on create, as in Torc: the caller's user owns it
    description: str | None = None
    project: str | None = None
    metadata: Annotated[dict[str, Any] | None, Before(_metadata)] = None
    parameters: Parameters = None
    variables: dict[str, str] | None = None  # already substituted (spec.variables)
    env: Env = None
    jobs: Annotated[list[JobSpec], min_length(1, "a workflow needs at least one job")]
    files: list[FileSpec] = field(default_factory=list)
    user_data: list[UserDataSpec] = field(default_factory=list)
    resource_requirements: list[ResourceRequirementsSpec] = field(default_factory=list)
    failure_handlers: list[FailureHandlerSpec] = field(default_factory=list)
    slurm_schedulers: list[SlurmSchedulerSpec] = field(default_factory=list)
    slurm_defaults: Annotated[dict[str, Any] | None, After(_slurm_defaults)] = None
    resource_monitor: ResourceMonitorSpec | None = None
    actions: list[WorkflowActionSpec] = field(default_factory=list)
    cancel_on_blocking_job_failure: bool = True
    use_pending_failed: bool = False
    compute_node_expiration_buffer_seconds: Annotated[int, ge(0)] | None = None
    compute_node_wait_for_new_jobs_seconds: Annotated[int, ge(0)] | None = None
    compute_node_ignore_workflow_completion: bool | None = None
    compute_node_wait_for_healthy_database_minutes: Annotated[int, ge(0)] | None = None
    compute_node_min_time_for_new_jobs_seconds: Annotated[int, ge(0)] | None = None
    jobs_sort_method: Literal["gpus_runtime_memory", "gpus_memory_runtime", "none"] | None = None
    execution_config: ExecutionConfigSpec | None = None
    enable_ro_crate: bool | None = None
    access_groups: list[Name] | None = None
    dynamic_jobs: DynamicJobsSpec | None = None

    def check_model(self) -> None:
        config = self.execution_config
        if config is not None and config.mode == "auto":
            try:
                config.check_mode("slurm" if self.slurm_schedulers else "direct")
            except ValidationError as exc:
                located = [p._replace(loc=("execution_config", *p.loc)) for p in exc.problems]
                raise ValidationError("WorkflowSpec", located) from None
