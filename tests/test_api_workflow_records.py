"""Failure handlers, remote workers, RO-Crate entities and tasks, driven by torc-client 0.35.0."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from contextlib import closing
from typing import Any

import httpx
import pytest
from torc.openapi_client import TasksApi
from torc.openapi_client.exceptions import ApiException
from torc.openapi_client.models import (
    FailureHandlerModel,
    FileModel,
    JobModel,
    RoCrateEntityModel,
    WorkflowModel,
)

from helpers import ServerProcess

MISSING = 10**12
RULES = json.dumps([{"exit_codes": [137], "max_retries": 2, "recovery_script": "echo retry"}])


def api_error(call: Callable[[], Any]) -> tuple[int, str]:
    with pytest.raises(ApiException) as info:
        call()
    return info.value.status, str(info.value.body)


def new_workflow(api: Any) -> int:
    return int(api.create_workflow(WorkflowModel(name="other", user="tester")).id)


# --- failure handlers ---------------------------------------------------------------------


def test_failure_handler_round_trip(api: Any, workflow: Any) -> None:
    wf = workflow.id
    handler = api.create_failure_handler(
        FailureHandlerModel(workflow_id=wf, name="oom", rules=RULES)
    )
    got = api.get_failure_handler(handler.id)
    assert (got.name, json.loads(got.rules)) == ("oom", json.loads(RULES))
    api.create_failure_handler(FailureHandlerModel(workflow_id=wf, name="other", rules="[]"))
    page = api.list_failure_handlers(wf, limit=1)
    assert (page.items[0].name, page.total_count, page.has_more) == ("oom", 2, True)
    assert api.delete_failure_handler(handler.id).id == handler.id
    status, body = api_error(lambda: api.get_failure_handler(handler.id))
    assert status == 404 and f"failure handler {handler.id} does not exist" in body


@pytest.mark.parametrize("rules", ["not json", '{"exit_codes": [1]}', "[1, 2]", ""])
def test_failure_handler_rules_must_be_a_json_array_of_objects(
    api: Any, workflow: Any, rules: str
) -> None:
    status, _ = api_error(
        lambda: api.create_failure_handler(
            FailureHandlerModel(workflow_id=workflow.id, name="bad", rules=rules)
        )
    )
    assert status == 422
    assert api.list_failure_handlers(workflow.id).total_count == 0


def test_failure_handler_used_by_a_job_cannot_be_deleted(api: Any, workflow: Any) -> None:
    handler = api.create_failure_handler(
        FailureHandlerModel(workflow_id=workflow.id, name="h", rules=RULES)
    )
    api.create_job(
        JobModel(workflow_id=workflow.id, name="j", command="true", failure_handler_id=handler.id)
    )
    status, body = api_error(lambda: api.delete_failure_handler(handler.id))
    assert status == 409 and "1 job" in body
    assert api.get_failure_handler(handler.id).id == handler.id


def test_failure_handlers_of_a_missing_workflow_are_404(api: Any) -> None:
    status, _ = api_error(lambda: api.list_failure_handlers(MISSING))
    assert status == 404
    status, _ = api_error(
        lambda: api.create_failure_handler(
            FailureHandlerModel(workflow_id=MISSING, name="h", rules="[]")
        )
    )
    assert status == 404


# --- remote workers -----------------------------------------------------------------------


def test_remote_workers_add_list_delete(api: Any, workflow: Any) -> None:
    wf = workflow.id
    added = api.create_remote_workers(wf, ["user@node2", "node1", "node1"])
    assert [(w.worker, w.workflow_id) for w in added] == [("user@node2", wf), ("node1", wf)]
    api.create_remote_workers(wf, ["node1", "host:/scratch/dir"])  # already listed: kept once
    assert [w.worker for w in api.list_remote_workers(wf)] == [
        "host:/scratch/dir",
        "node1",
        "user@node2",
    ]
    assert api.delete_remote_worker(wf, "host:/scratch/dir").worker == "host:/scratch/dir"
    assert api.delete_remote_worker(wf, "user@node2").worker == "user@node2"
    assert [w.worker for w in api.list_remote_workers(wf)] == ["node1"]
    status, body = api_error(lambda: api.delete_remote_worker(wf, "nobody"))
    assert status == 404 and "nobody" in body


def test_remote_workers_bad_input(api: Any, workflow: Any, server: ServerProcess) -> None:
    status, _ = api_error(lambda: api.create_remote_workers(workflow.id, ["ok", " "]))
    assert status == 422
    assert api.list_remote_workers(workflow.id) == []
    status, _ = api_error(lambda: api.create_remote_workers(MISSING, ["a"]))
    assert status == 404
    resp = httpx.post(f"{server.url}/workflows/{workflow.id}/remote_workers", json={"a": 1})
    assert resp.status_code == 422


# --- RO-Crate entities --------------------------------------------------------------------


def test_ro_crate_entity_round_trip(api: Any, workflow: Any) -> None:
    wf = workflow.id
    file = api.create_file(FileModel(workflow_id=wf, name="out", path="out.csv"))
    entity = api.create_ro_crate_entity(
        RoCrateEntityModel(
            workflow_id=wf,
            file_id=file.id,
            entity_id="out.csv",
            entity_type="File",
            metadata={"@id": "out.csv", "encodingFormat": "text/csv"},
        )
    )
    got = api.get_ro_crate_entity(entity.id)
    assert (got.file_id, got.entity_type, got.metadata["encodingFormat"]) == (
        file.id,
        "File",
        "text/csv",
    )
    got.metadata = {"@id": "out.csv", "contentSize": 10}
    assert api.update_ro_crate_entity(entity.id, got).metadata["contentSize"] == 10
    api.create_ro_crate_entity(
        RoCrateEntityModel(
            workflow_id=wf, entity_id="#run", entity_type="CreateAction", metadata={}
        )
    )

    assert [e.id for e in api.list_ro_crate_entities(wf, file_id=file.id).items] == [entity.id]
    assert [e.entity_id for e in api.list_ro_crate_entities(wf, entity_id="#run").items] == ["#run"]
    ordered = api.list_ro_crate_entities(wf, sort_by="entity_id", reverse_sort=True).items
    assert [e.entity_id for e in ordered] == ["out.csv", "#run"]

    assert "deleted" in api.delete_ro_crate_entity(entity.id).message
    status, _ = api_error(lambda: api.get_ro_crate_entity(entity.id))
    assert status == 404
    assert api.delete_ro_crate_entities(wf).deleted_count == 1
    assert api.list_ro_crate_entities(wf).total_count == 0


def test_ro_crate_entity_file_must_belong_to_the_workflow(api: Any, workflow: Any) -> None:
    other = new_workflow(api)
    file = api.create_file(FileModel(workflow_id=other, name="f", path="f"))
    for file_id in (file.id, MISSING):
        status, _ = api_error(
            lambda f=file_id: api.create_ro_crate_entity(
                RoCrateEntityModel(
                    workflow_id=workflow.id,
                    file_id=f,
                    entity_id="f",
                    entity_type="File",
                    metadata={},
                )
            )
        )
        assert status == 422
    assert api.list_ro_crate_entities(workflow.id).total_count == 0


# --- tasks --------------------------------------------------------------------------------


def test_task_lookup_and_active_task(api: Any, workflow: Any, server: ServerProcess) -> None:
    tasks = TasksApi(api.api_client)
    assert api.get_active_task_for_workflow(workflow.id).task is None
    status, body = api_error(lambda: tasks.get_task(MISSING))
    assert status == 404 and f"task {MISSING} does not exist" in body
    status, _ = api_error(lambda: api.get_active_task_for_workflow(MISSING))
    assert status == 404

    api.create_job(JobModel(workflow_id=workflow.id, name="j", command="true"))
    resp = httpx.post(
        f"{server.url}/workflows/{workflow.id}/initialize_jobs", params={"async": "true"}
    )
    assert resp.status_code == 202, resp.text
    task = tasks.get_task(resp.json()["id"])
    assert (task.workflow_id, task.operation, task.status) == (
        workflow.id,
        "initialize_jobs",
        "succeeded",
    )
    assert api.get_active_task_for_workflow(workflow.id).task is None  # finished: not active


def test_active_task_is_the_newest_queued_or_running_one(
    api: Any, workflow: Any, server: ServerProcess
) -> None:
    # No endpoint leaves a task running long enough to observe, so write the rows directly.
    with closing(sqlite3.connect(server.db_path)) as db, db:  # the inner `with` commits
        for status in ("failed", "running", "succeeded"):
            db.execute(
                "INSERT INTO task (workflow_id, operation, status, created_at_ms)"
                " VALUES (?, 'initialize_jobs', ?, 1)",
                (workflow.id, status),
            )
    active = api.get_active_task_for_workflow(workflow.id).task
    assert (active.status, active.operation, active.workflow_id) == (
        "running",
        "initialize_jobs",
        workflow.id,
    )
