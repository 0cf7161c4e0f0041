"""Workflow actions: creation rules, pending evaluation as jobs move, and atomic claims."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from torc.openapi_client.exceptions import ApiException
from torc.openapi_client.models import (
    ClaimActionRequest,
    ComputeNodeModel,
    JobModel,
    JobsModel,
    ResultModel,
    WorkflowActionModel,
    WorkflowModel,
)

from helpers import ServerProcess, compute_node, published_api

MISSING = 10**12
RUN = {"commands": ["echo hi"]}


def api_error(call: Callable[[], Any]) -> tuple[int, str]:
    with pytest.raises(ApiException) as info:
        call()
    return info.value.status, str(info.value.body)


def action(wf: int, trigger: str, job_ids: list[int] | None = None, **kwargs: Any) -> Any:
    fields: dict[str, Any] = dict(
        workflow_id=wf,
        trigger_type=trigger,
        action_type="run_commands",
        action_config=RUN,
        job_ids=job_ids,
    )
    return WorkflowActionModel(**{**fields, **kwargs})


def node(api: Any, wf: int) -> int:
    return int(api.create_compute_node(ComputeNodeModel(**compute_node(wf, memory_gb=4.0))).id)


def jobs(api: Any, wf: int, *names: str) -> list[int]:
    created = api.create_jobs(
        JobsModel(jobs=[JobModel(workflow_id=wf, name=n, command="true") for n in names])
    ).jobs
    return [int(j.id) for j in created]


def pending(api: Any, wf: int, *triggers: str) -> list[int]:
    return [a.id for a in api.get_pending_actions(wf, trigger_type=list(triggers) or None)]


def test_create_sets_required_triggers_and_lists_actions(api: Any, workflow: Any) -> None:
    wf = workflow.id
    a, b = jobs(api, wf, "a", "b")
    on_jobs = api.create_workflow_action(wf, action(wf, "on_jobs_complete", [a, b, a]))
    on_start = api.create_workflow_action(
        wf,
        action(
            wf,
            "on_workflow_start",
            action_type="schedule_nodes",
            action_config={"scheduler_id": 1, "scheduler_type": "slurm", "num_allocations": 2},
        ),
    )
    assert (on_jobs.required_triggers, on_jobs.trigger_count, on_jobs.job_ids) == (2, 0, [a, b])
    assert (on_start.required_triggers, on_start.executed, on_start.persistent) == (1, False, False)
    listed = api.get_workflow_actions(wf)
    assert [(x.id, x.action_config) for x in listed] == [
        (on_jobs.id, RUN),
        (on_start.id, on_start.action_config),
    ]


@pytest.mark.parametrize(
    "changes",
    [
        {"trigger_type": "on_tuesday"},
        {"action_type": "send_email"},
        {"action_config": {"commands": []}},
        {"action_config": {"commands": "echo"}},
        {"action_config": {"commands": ["ok"], "extra": 1}},
        {"action_type": "schedule_nodes", "action_config": {"num_allocations": "two"}},
        {"action_type": "schedule_nodes", "action_config": {"nodes": 2}},
        {"trigger_type": "on_jobs_ready", "job_ids": None},
        {"trigger_type": "on_jobs_ready", "job_ids": [MISSING]},
    ],
)
def test_invalid_actions_are_422_and_not_stored(
    api: Any, workflow: Any, changes: dict[str, Any]
) -> None:
    body = action(workflow.id, "on_workflow_start").model_copy(update=changes)
    status, body_text = api_error(lambda: api.create_workflow_action(workflow.id, body))
    assert status == 422, body_text
    assert api.get_workflow_actions(workflow.id) == []


def test_action_errors_for_missing_or_foreign_workflows(api: Any, workflow: Any) -> None:
    other = int(api.create_workflow(WorkflowModel(name="o", user="tester")).id)
    (foreign_job,) = jobs(api, other, "x")
    status, _ = api_error(
        lambda: api.create_workflow_action(
            workflow.id, action(workflow.id, "on_jobs_complete", [foreign_job])
        )
    )
    assert status == 422
    status, _ = api_error(
        lambda: api.create_workflow_action(workflow.id, action(other, "on_workflow_start"))
    )
    assert status == 422
    status, _ = api_error(
        lambda: api.create_workflow_action(MISSING, action(MISSING, "on_workflow_start"))
    )
    assert status == 404
    for call in (
        lambda: api.get_workflow_actions(MISSING),
        lambda: api.get_pending_actions(MISSING),
    ):
        status, _ = api_error(call)
        assert status == 404


def test_pending_follows_the_jobs(api: Any, workflow: Any) -> None:
    wf = workflow.id
    a, b = jobs(api, wf, "a", "b")
    start = api.create_workflow_action(wf, action(wf, "on_workflow_start")).id
    worker = api.create_workflow_action(wf, action(wf, "on_worker_start", persistent=True)).id
    ready = api.create_workflow_action(wf, action(wf, "on_jobs_ready", [a, b])).id
    done_a = api.create_workflow_action(wf, action(wf, "on_jobs_complete", [a])).id
    done_ab = api.create_workflow_action(wf, action(wf, "on_jobs_complete", [a, b])).id
    finish = api.create_workflow_action(wf, action(wf, "on_workflow_complete")).id

    assert pending(api, wf) == []  # nothing holds before initialization
    api.initialize_jobs(wf)
    assert pending(api, wf) == [start, worker, ready]
    assert pending(api, wf, "on_jobs_ready", "on_worker_start") == [worker, ready]
    assert pending(api, wf, "on_workflow_complete") == []

    compute_node = node(api, wf)
    run_id = api.get_workflow(wf).run_id
    claimed = sorted(j.id for j in api.claim_next_jobs(wf, limit=10).jobs)
    assert claimed == [a, b]
    for job_id in (a, b):
        api.start_job(job_id, run_id, compute_node)
    _complete(api, wf, a, run_id, compute_node)
    assert pending(api, wf, "on_jobs_complete") == [done_a]
    counts = {x.id: x.trigger_count for x in api.get_workflow_actions(wf)}
    assert counts[done_ab] == 1  # the partial count is stored
    _complete(api, wf, b, run_id, compute_node)
    assert pending(api, wf, "on_jobs_complete", "on_workflow_complete") == [done_a, done_ab, finish]


def _complete(api: Any, wf: int, job_id: int, run_id: int, compute_node: int) -> None:
    api.complete_job(
        job_id,
        "completed",
        run_id,
        ResultModel(
            job_id=job_id,
            workflow_id=wf,
            run_id=run_id,
            compute_node_id=compute_node,
            return_code=0,
            exec_time_minutes=0.1,
            completion_time=datetime.now(UTC).isoformat(),
            status="completed",
        ),
    )


def test_claim_once_unless_persistent(api: Any, workflow: Any) -> None:
    wf = workflow.id
    jobs(api, wf, "a")
    api.initialize_jobs(wf)
    compute_node = node(api, wf)
    once = api.create_workflow_action(wf, action(wf, "on_workflow_start")).id
    every = api.create_workflow_action(wf, action(wf, "on_worker_start", persistent=True)).id

    first = api.claim_action(wf, once, ClaimActionRequest(compute_node_id=compute_node))
    second = api.claim_action(wf, once, ClaimActionRequest(compute_node_id=compute_node))
    assert (first.action_id, first.success, second.success) == (once, True, False)
    claimed = {x.id: x for x in api.get_workflow_actions(wf)}[once]
    assert (claimed.executed, claimed.executed_by) == (True, compute_node)
    assert claimed.executed_at is not None
    assert pending(api, wf) == [every]

    for _ in range(3):
        assert api.claim_action(wf, every, ClaimActionRequest(compute_node_id=None)).success
    persistent = {x.id: x for x in api.get_workflow_actions(wf)}[every]
    assert (persistent.executed, persistent.executed_at is not None) == (False, True)
    assert pending(api, wf) == [every]


def test_concurrent_claims_have_one_winner(api: Any, server: ServerProcess, workflow: Any) -> None:
    wf = workflow.id
    target = api.create_workflow_action(wf, action(wf, "on_workflow_start")).id
    results: list[bool] = []
    lock = threading.Lock()

    def claim() -> None:
        with published_api(server.url) as client:  # one per thread, as separate runners have
            ok = client.claim_action(wf, target, ClaimActionRequest()).success
        with lock:
            results.append(bool(ok))

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 7 + [True]


def test_claim_errors(api: Any, server: ServerProcess, workflow: Any) -> None:
    wf = workflow.id
    other = int(api.create_workflow(WorkflowModel(name="o", user="tester")).id)
    mine = api.create_workflow_action(wf, action(wf, "on_workflow_start")).id
    theirs = api.create_workflow_action(other, action(other, "on_workflow_start")).id
    status, body = api_error(lambda: api.claim_action(wf, theirs, ClaimActionRequest()))
    assert status == 404 and str(theirs) in body
    status, _ = api_error(lambda: api.claim_action(wf, MISSING, ClaimActionRequest()))
    assert status == 404
    foreign_node = node(api, other)
    status, _ = api_error(
        lambda: api.claim_action(wf, mine, ClaimActionRequest(compute_node_id=foreign_node))
    )
    assert status == 422
    assert {x.id: x for x in api.get_workflow_actions(wf)}[mine].executed is False
    resp = httpx.post(
        f"{server.url}/workflows/{wf}/actions/{mine}/claim", json={"compute_node_id": "one"}
    )
    assert resp.status_code == 422
