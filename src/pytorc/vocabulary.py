"""The wire vocabulary every layer shares: job statuses and their stored codes, the status sets
the rules are written in, action triggers and result measures.

Stdlib only, so the CLI, the runner and the spec loader can import it without pydantic. SQL
binds statuses by name: `codes(JobStatus.PENDING, JobStatus.RUNNING)` renders "3, 4" once, at
import, so no statement spells a bare number.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal, get_args


class JobStatus(StrEnum):
    """A job's state; `.code` is the integer stored in the database (Torc's numbering)."""

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
        return STORED_CODES[self]

    @classmethod
    def from_code(cls, code: int) -> JobStatus:
        return _BY_CODE[code]


# Stored in every job row of every database: never renumber, only add.
STORED_CODES: dict[JobStatus, int] = {
    JobStatus.UNINITIALIZED: 0,
    JobStatus.BLOCKED: 1,
    JobStatus.READY: 2,
    JobStatus.PENDING: 3,
    JobStatus.RUNNING: 4,
    JobStatus.COMPLETED: 5,
    JobStatus.FAILED: 6,
    JobStatus.CANCELED: 7,
    JobStatus.TERMINATED: 8,
    JobStatus.DISABLED: 9,
    JobStatus.PENDING_FAILED: 10,
}
_BY_CODE = {code: status for status, code in STORED_CODES.items()}

FINISHED = frozenset(
    {JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELED, JobStatus.TERMINATED}
)
"""Statuses that release dependents (Torc's "complete")."""
DONE = FINISHED | {JobStatus.DISABLED}
"""Statuses that count toward workflow completion."""
FAILING = frozenset({JobStatus.FAILED, JobStatus.CANCELED, JobStatus.TERMINATED})
"""Finished statuses that cancel dependents with cancel_on_blocking_job_failure."""
NEVER_RAN = frozenset({JobStatus.CANCELED, JobStatus.TERMINATED})
"""Finished without a full run of the command: a rerun should pick them up."""
HELD = frozenset({JobStatus.PENDING, JobStatus.RUNNING})
"""Held by a runner: claimed, or started."""


def codes(*statuses: JobStatus) -> str:
    """The stored codes as an SQL list ("3, 4"), for statements built once at import."""
    return ", ".join(str(s.code) for s in statuses)


TriggerType = Literal[
    "on_workflow_start",
    "on_workflow_complete",
    "on_jobs_ready",
    "on_jobs_complete",
    "on_worker_start",
    "on_worker_complete",
]
TRIGGER_TYPES: tuple[str, ...] = get_args(TriggerType)
JOB_TRIGGERS = ("on_jobs_ready", "on_jobs_complete")
"""Triggers that watch a set of jobs."""
ActionType = Literal["run_commands", "schedule_nodes"]
ACTION_TYPES: tuple[str, ...] = get_args(ActionType)

RESULT_MEASURES = (
    "compute_node_id",
    "return_code",
    "exec_time_minutes",
    "completion_time",
    "peak_memory_bytes",
    "avg_memory_bytes",
    "peak_cpu_percent",
    "avg_cpu_percent",
)
"""What a result records about one run of a job, beside whose run it was."""
