"""Planning a workflow's Slurm allocations from its jobs' resource requirements and an HPC
profile: which partition, how long, how many allocations, and the actions that submit them.

Jobs are grouped by resource requirements (or by the partition those map to) and by whether
they wait for other jobs. A group that waits gets its allocations from an on_jobs_ready action
(so nodes are not held while upstream jobs run); the others from on_workflow_start.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from pytorc.slurm.hpc import Partition, Profile
from pytorc.spec.model import JobSpec, ResourceRequirementsSpec, WorkflowSpec
from pytorc.units import duration_seconds, memory_bytes

GroupBy = Literal["resource-requirements", "partition"]
WalltimeStrategy = Literal["max-job-runtime", "max-partition-time"]
DEFAULT_REQUIREMENTS = ResourceRequirementsSpec(
    name="default", num_cpus=1, memory="1g", runtime="PT1H"
)


@dataclass(frozen=True)
class PlanOptions:
    account: str
    single_allocation: bool = False
    group_by: GroupBy = "resource-requirements"
    walltime_strategy: WalltimeStrategy = "max-job-runtime"
    walltime_multiplier: float = 1.5
    add_actions: bool = True


@dataclass(frozen=True)
class Size:
    """One job's needs, in the units partitions are described in."""

    cpus: int
    memory_mb: int
    runtime_secs: int
    gpus: int
    nodes: int

    @classmethod
    def of(cls, rr: ResourceRequirementsSpec) -> Size:
        return cls(
            max(rr.num_cpus, 1),
            math.ceil(memory_bytes(rr.memory) / 2**20),
            math.ceil(duration_seconds(rr.runtime)),
            rr.num_gpus,
            rr.num_nodes,
        )

    def union(self, other: Size) -> Size:
        return Size(
            max(self.cpus, other.cpus),
            max(self.memory_mb, other.memory_mb),
            max(self.runtime_secs, other.runtime_secs),
            max(self.gpus, other.gpus),
            max(self.nodes, other.nodes),
        )


@dataclass
class Group:
    label: str  # the resource requirements' name, or the partition's
    waits: bool  # its jobs depend on other jobs
    size: Size
    partition: Partition
    jobs: list[str] = field(default_factory=list)


@dataclass
class Plan:
    schedulers: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    assignments: dict[str, str] = field(default_factory=dict)  # job name -> scheduler name
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class JobItem:
    """What planning needs of one job."""

    name: str
    requirements: str  # the resource requirements' name
    size: Size
    waits: bool  # it depends on jobs not done yet


def plan(spec: WorkflowSpec, profile: Profile, options: PlanOptions) -> Plan:
    """The schedulers, actions and job assignments for `spec` (expanded) on `profile`."""
    return plan_items(spec_items(spec), profile, options)


def spec_items(spec: WorkflowSpec) -> list[JobItem]:
    requirements = {rr.name: rr for rr in spec.resource_requirements}
    produced = {name for job in spec.jobs for name in (*job.output_files, *job.output_user_data)}
    items = []
    for job in spec.jobs:
        rr = requirements.get(job.resource_requirements or "", DEFAULT_REQUIREMENTS)
        items.append(JobItem(job.name, rr.name, Size.of(rr), _waits(job, produced)))
    return items


def plan_items(
    items: list[JobItem], profile: Profile, options: PlanOptions, suffix: str = "scheduler"
) -> Plan:
    """The plan for these jobs; scheduler names end in `suffix`."""
    result = Plan()
    for group in _groups(items, profile, options.group_by, result.warnings):
        scheduler, action = _schedule(group, options, suffix)
        result.schedulers.append(scheduler)
        result.assignments.update({name: scheduler["name"] for name in group.jobs})
        if action is not None:
            result.actions.append(action)
    return result


def apply(spec: WorkflowSpec, planned: Plan) -> WorkflowSpec:
    """`spec` with the planned schedulers and actions in place of its own Slurm settings."""
    from pytorc.spec.model import SlurmSchedulerSpec, WorkflowActionSpec

    jobs = [
        job.model_copy(update={"scheduler": planned.assignments[job.name]})
        if job.name in planned.assignments
        else job
        for job in spec.jobs
    ]
    kept = [a for a in spec.actions if a.action_type != "schedule_nodes"]
    return spec.model_copy(
        update={
            "jobs": jobs,
            "slurm_schedulers": [SlurmSchedulerSpec.model_validate(s) for s in planned.schedulers],
            "actions": kept + [WorkflowActionSpec.model_validate(a) for a in planned.actions],
        }
    )


def _waits(job: JobSpec, produced: set[str]) -> bool:
    return bool(
        job.depends_on
        or job.depends_on_regexes
        or any(f in produced for f in job.input_files)
        or any(d in produced for d in job.input_user_data)
    )


def _groups(
    items: list[JobItem], profile: Profile, group_by: GroupBy, warnings: list[str]
) -> list[Group]:
    groups: dict[tuple[str, bool], Group] = {}
    unplaced: dict[str, int] = {}
    for item in items:
        size = item.size
        partition = profile.best(size.cpus, size.memory_mb, size.runtime_secs, size.gpus)
        if partition is None:
            unplaced[item.requirements] = unplaced.get(item.requirements, 0) + 1
            continue
        label = partition.name if group_by == "partition" else item.requirements
        key = (label, item.waits)
        group = groups.setdefault(key, Group(label, key[1], size, partition))
        group.size = group.size.union(size)
        group.jobs.append(item.name)
    warnings += [
        f"no partition of {profile.name} fits resource requirements {name!r}: its {n} job(s)"
        " get no scheduler"
        for name, n in unplaced.items()
    ]
    return list(groups.values())


def _schedule(
    group: Group, options: PlanOptions, suffix: str
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    part, size = group.partition, group.size
    walltime = part.max_walltime_secs
    if options.walltime_strategy == "max-job-runtime":
        walltime = min(math.ceil(size.runtime_secs * options.walltime_multiplier), walltime)
    per_node = max(
        1,
        min(
            part.cpus_per_node // size.cpus,
            part.memory_mb // max(size.memory_mb, 1),
            part.gpus_per_node // size.gpus if size.gpus else len(group.jobs),
        ),
    )
    batches = max(1, walltime // max(size.runtime_secs, 1))  # one after another in the walltime
    nodes_needed = math.ceil(len(group.jobs) / (per_node * batches)) * size.nodes
    allocations, nodes = (1, nodes_needed) if options.single_allocation else (nodes_needed, 1)
    if size.nodes > 1 and not options.single_allocation:
        allocations, nodes = max(1, nodes_needed // size.nodes), size.nodes
    name = f"{group.label}{'_deferred' if group.waits else ''}_{suffix}"
    scheduler: dict[str, Any] = {
        "name": name,
        "account": options.account,
        "partition": part.name,
        "nodes": nodes,
        "walltime": _walltime(walltime),
        "mem": f"{part.memory_mb}M",
    }
    if size.gpus:
        scheduler["gres"] = f"gpu:{part.gpus_per_node}"
    if part.default_qos:
        scheduler["qos"] = part.default_qos
    if not part.shared:
        scheduler["extra"] = "--exclusive"  # the whole node, so the runner sees every CPU
    if not options.add_actions:
        return scheduler, None
    action: dict[str, Any] = {
        "trigger_type": "on_jobs_ready" if group.waits else "on_workflow_start",
        "action_type": "schedule_nodes",
        "scheduler": name,
        "num_allocations": allocations,
        "start_one_worker_per_node": nodes > 1 and size.nodes == 1,
    }
    if group.waits:
        action["jobs"] = list(group.jobs)
    return scheduler, action


def _walltime(seconds: int) -> str:
    days, rest = divmod(int(seconds), 86400)
    clock = f"{rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}"
    return f"{days}-{clock}" if days else clock
