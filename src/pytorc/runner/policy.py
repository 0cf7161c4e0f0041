"""The claim policy: which claimed job fits now, what to ask the server for, when to send.

Pure functions of the runner's settings, what it holds and the clock the caller reads: no
threads, processes or HTTP, so tests/test_runner_policy.py checks each rule directly. The
runner decides in one of two modes: by count (`max_parallel_jobs`: that many jobs at once,
resource requirements ignored) or by resources (CPUs, memory and GPUs of each job).

Short jobs must never wait on a round trip, and long ones must not be hoarded from other
runners, so the runner holds claimed jobs beyond what it runs in proportion to the jobs' run
times: about QUEUE_HORIZON seconds of work per slot.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from pytorc.runner.resources import Resources
from pytorc.units import UnitError, duration_seconds, memory_bytes

GIB = 1024**3
MIB = 1024**2
STOP_CLAIMING_BEFORE_END = 60.0  # default seconds before the end time to stop claiming
REPORT_DELAY = 0.05  # longest a finished job's result waits for company before it is sent
MAX_SILENCE = 30.0  # longest an idle runner goes without a word to the server (its heartbeat)
QUEUE_HORIZON = 1.0  # seconds of work per slot a runner may hold claimed beyond what it runs
MOST_JOBS_PER_CLAIM = 10_000  # resource mode: the limit of one claim
LEAST_MEMORY_TO_CLAIM = 0.1 * GIB  # resource mode: with less free, claim nothing

JobRecord = dict[str, Any]  # a job as the server sends it


class Needs(NamedTuple):
    """What one job holds while it runs."""

    cpus: int
    memory: float  # bytes
    gpus: int
    nodes: int = 1  # a multi-node job (MPI, say) spans this many nodes of the allocation
    runtime: float | None = None  # seconds it may run (enforced only with limit_resources)


NO_REQUIREMENTS = Needs(1, float(MIB), 0)  # a job without resource requirements
NeedsOf = Callable[[JobRecord], Needs]


def parse_requirements(record: dict[str, Any]) -> Needs:
    """A resource_requirements record's needs; memory that does not parse counts as 1 MiB."""
    try:
        memory = float(memory_bytes(record["memory"]))
    except (UnitError, KeyError, TypeError):
        memory = float(MIB)
    try:
        runtime: float | None = duration_seconds(record["runtime"])
    except (UnitError, KeyError, TypeError, AttributeError):
        runtime = None
    return Needs(
        int(record.get("num_cpus") or 1),
        memory,
        int(record.get("num_gpus") or 0),
        int(record.get("num_nodes") or 1),
        runtime,
    )


class Holding(NamedTuple):
    """What the runner holds at the moment it decides."""

    running: Collection[JobRecord]
    queued: Collection[JobRecord]  # claimed, not started yet
    mean_job_seconds: float | None  # moving average of finished jobs' run times; None before one


class SendCheck(NamedTuple):
    """What the reporter knows when it asks whether to send now."""

    closing: bool  # the runner is stopping: send what is left
    running: bool  # some job is running
    since_contact: float  # seconds since the last answer from the server
    starving: bool  # a claim is wanted and the claimed queue is low (see is_starving)
    oldest_result_age: float | None  # seconds the oldest unsent result has waited


@dataclass(frozen=True)
class ClaimPolicy:
    """The runner's claiming rules, given its resources and options."""

    resources: Resources
    max_parallel_jobs: int | None = None  # count mode when set
    end_time: float | None = None  # epoch seconds
    scheduler_config_id: int | None = None
    heartbeat: float = 1.0  # at most this long between server contacts while jobs run
    poll_interval: float = 5.0  # between contacts while nothing runs
    min_time_for_new_jobs: float = STOP_CLAIMING_BEFORE_END  # s before end_time: claim no more
    slots: int = field(init=False)  # jobs at once (count mode), or CPUs
    most_spare: int = field(init=False)  # most claimed jobs (or CPUs' worth) held beyond slots

    def __post_init__(self) -> None:
        slots = self.max_parallel_jobs or max(self.resources.num_cpus, 1)
        object.__setattr__(self, "slots", slots)
        object.__setattr__(self, "most_spare", min(max(8 * slots, 64), 512))

    @property
    def by_count(self) -> bool:
        return self.max_parallel_jobs is not None

    def free(self, held: Iterable[JobRecord], needs_of: NeedsOf) -> Needs:
        """The resources left once the `held` jobs have theirs (may be negative)."""
        res = self.resources
        cpus, memory, gpus = res.num_cpus, res.memory_gb * GIB, res.num_gpus
        for job in held:
            need = needs_of(job)
            cpus, memory, gpus = cpus - need.cpus, memory - need.memory, gpus - need.gpus
        return Needs(cpus, memory, gpus)

    def has_room(self, job: JobRecord, running: Collection[JobRecord], needs_of: NeedsOf) -> bool:
        """Whether `job` can start beside the `running` ones."""
        if self.max_parallel_jobs is not None:
            return len(running) < self.max_parallel_jobs
        free = self.free(running, needs_of)
        need = needs_of(job)
        return need.cpus <= free.cpus and need.memory <= free.memory and need.gpus <= free.gpus

    def spare_jobs(self, mean_job_seconds: float | None) -> int:
        """Count mode: claimed jobs to hold beyond the slots; one per slot until a job ends."""
        if mean_job_seconds is None:
            return self.slots
        per_slot = QUEUE_HORIZON / max(mean_job_seconds, 1e-4)
        return min(self.most_spare, int(self.slots * per_slot))

    def spare_node_fulls(self, mean_job_seconds: float | None) -> int:
        """Resource mode: whole node-fulls of claimed work to hold beyond the node.

        0 until a job has ended, so jobs of unknown length are claimed only as they fit."""
        if mean_job_seconds is None or self.max_parallel_jobs is not None:
            return 0
        cpus = max(self.resources.num_cpus, 1)
        fulls = int(QUEUE_HORIZON / max(mean_job_seconds, 1e-4))
        return min(fulls, self.most_spare // cpus)

    def is_starving(self, holding: Holding, needs_of: NeedsOf) -> bool:
        """Whether the claimed queue is low enough to ask for more now: below half its depth,
        so the answer lands before the slots run dry (or empty, when it has no depth)."""
        queued = holding.queued
        if self.max_parallel_jobs is not None:
            return len(queued) < max(self.slots, self.spare_jobs(holding.mean_job_seconds) // 2)
        fulls = self.spare_node_fulls(holding.mean_job_seconds)
        if not queued or not fulls:
            return not queued
        queued_cpus = sum(needs_of(job).cpus for job in queued)
        return 2 * queued_cpus < fulls * self.resources.num_cpus

    def claim(self, holding: Holding, needs_of: NeedsOf, now: float) -> dict[str, Any] | None:
        """The exchange's `claim` field: what to ask for now (None: nothing). `now`: epoch s."""
        if self.end_time is not None and now >= self.end_time - self.min_time_for_new_jobs:
            return None
        if self.max_parallel_jobs is not None:
            held = len(holding.running) + len(holding.queued)
            limit = self.slots + self.spare_jobs(holding.mean_job_seconds) - held
            return {"limit": limit} if limit > 0 else None
        res = self.resources
        free = self.free([*holding.running, *holding.queued], needs_of)
        fulls = self.spare_node_fulls(holding.mean_job_seconds)
        cpus = free.cpus + res.num_cpus * fulls
        memory = free.memory + res.memory_gb * GIB * fulls
        gpus = free.gpus + res.num_gpus * fulls
        if cpus <= 0 or memory < LEAST_MEMORY_TO_CLAIM:
            return None
        offer = self.offer(cpus, memory / GIB, gpus, now)
        claim: dict[str, Any] = {"limit": min(cpus, MOST_JOBS_PER_CLAIM), "resources": offer}
        # The whole node: the server hands out only jobs that fit it (the budget may be larger,
        # `fulls`, or smaller, what is free now), and names ready jobs that never could.
        claim["capacity"] = self.offer(res.num_cpus, res.memory_gb, res.num_gpus, now)
        return claim

    def offer(self, cpus: int, memory_gb: float, gpus: int, now: float) -> dict[str, Any]:
        """A claim's `resources` (or `capacity`) object; with an end time, the time left."""
        offer: dict[str, Any] = {
            "num_cpus": cpus,
            "memory_gb": memory_gb,
            "num_gpus": gpus,
            "num_nodes": self.resources.num_nodes,
            "scheduler_config_id": self.scheduler_config_id,
        }
        if self.end_time is not None:
            minutes = max(1, int((self.end_time - now) // 60))
            offer["time_limit"] = f"PT{minutes}M"
        return offer

    def should_send(self, check: SendCheck) -> bool:
        """Send now, or let more results gather so one round trip carries several jobs."""
        if check.closing:
            return True
        idle = min(self.poll_interval, MAX_SILENCE)
        if check.since_contact >= (self.heartbeat if check.running else idle):
            return True
        if check.starving:
            return True
        return check.oldest_result_age is not None and check.oldest_result_age >= REPORT_DELAY
