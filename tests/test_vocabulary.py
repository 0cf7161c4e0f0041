"""The wire vocabulary: stored codes never move, names are the published client's."""

from __future__ import annotations

import subprocess
import sys

from torc.openapi_client.models.job_status import JobStatus as ClientJobStatus

from pytorc.models import JobModel
from pytorc.spec.model import WorkflowActionSpec
from pytorc.vocabulary import (
    ACTION_TYPES,
    DONE,
    FAILING,
    FINISHED,
    TRIGGER_TYPES,
    ActionType,
    JobStatus,
    TriggerType,
    codes,
)

# What every database written so far holds in job.status; changing one breaks them all.
STORED = {
    "uninitialized": 0,
    "blocked": 1,
    "ready": 2,
    "pending": 3,
    "running": 4,
    "completed": 5,
    "failed": 6,
    "canceled": 7,
    "terminated": 8,
    "disabled": 9,
    "pending_failed": 10,
}


def test_stored_codes_are_the_ones_in_every_database() -> None:
    assert {s.value: s.code for s in JobStatus} == STORED
    assert all(JobStatus.from_code(code) == name for name, code in STORED.items())


def test_status_names_are_the_published_clients() -> None:
    assert [s.value for s in JobStatus] == [s.value for s in ClientJobStatus]


def test_the_sets_the_rules_are_written_in() -> None:
    assert {"completed", "failed", "canceled", "terminated"} == FINISHED
    assert FINISHED | {"disabled"} == DONE
    assert FINISHED - {"completed"} == FAILING
    assert codes(JobStatus.PENDING, JobStatus.RUNNING) == "3, 4"


def test_every_layer_uses_the_same_statuses_and_triggers() -> None:
    assert JobModel.model_fields["status"].annotation == JobStatus | None
    # the spec takes the vocabulary's Literals, not restated ones
    assert WorkflowActionSpec.__annotations__["trigger_type"] is TriggerType
    assert WorkflowActionSpec.__annotations__["action_type"] is ActionType
    assert len(TRIGGER_TYPES) == 6 and ACTION_TYPES == ("run_commands", "schedule_nodes")


def test_the_vocabulary_imports_nothing_heavy() -> None:
    code = (
        "import sys, pytorc.vocabulary; "
        "heavy = [m for m in ('pydantic', 'fastapi', 'sqlite3', 'httpx') if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
