"""The job state machine driven end to end by torc-client 0.35.0, unchanged, over real HTTP."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from torc.api import iter_documents, make_api
from torc.openapi_client.exceptions import ApiException
from torc.openapi_client.models import (
    BatchCompleteJobsRequest,
    ComputeNodeModel,
    ComputeNodesResources,
    FileModel,
    JobCompletionEntry,
    JobModel,
    JobsModel,
    ResourceRequirementsModel,
    ResultModel,
    UserDataModel,
    WorkflowModel,
)

from helpers import ServerProcess, start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    # An hour between sweeps: anything that unblocks here did so inside the completion itself.
    srv = start_server(
        tmp_path_factory.mktemp("lifecycle"), "--completion-check-interval-secs", "3600"
    )
    yield srv
    srv.stop()


def _node(api: Any, wf: int) -> int:
    node = api.create_compute_node(
        ComputeNodeModel(
            workflow_id=wf,
            hostname="testhost",
            pid=1,
            start_time=datetime.now(UTC).isoformat(),
            num_cpus=8,
            memory_gb=16.0,
            num_gpus=0,
            num_nodes=1,
            compute_node_type="local",
            is_active=True,
        )
    )
    return int(node.id)


def _result(
    wf: int, job: int, run_id: int, node: int, rc: int = 0, status: str = "completed"
) -> ResultModel:
    return ResultModel(
        job_id=job,
        workflow_id=wf,
        run_id=run_id,
        compute_node_id=node,
        return_code=rc,
        exec_time_minutes=0.01,
        completion_time=datetime.now(UTC).isoformat(),
        status=status,
    )


def _statuses(api: Any, wf: int) -> dict[str, str]:
    return {j.name: j.status for j in iter_documents(api.list_jobs, wf)}


def _run_one(api: Any, wf: int, job: Any, node: int, rc: int = 0) -> Any:
    run_id = api.get_workflow(wf).run_id
    api.start_job(job.id, run_id, node)
    status = "completed" if rc == 0 else "failed"
    return api.complete_job(job.id, status, run_id, _result(wf, job.id, run_id, node, rc, status))


def _new_wf(api: Any, name: str, **kw: Any) -> int:
    return int(api.create_workflow(WorkflowModel(name=name, user="tester", **kw)).id)


def test_whole_workflow_with_files_user_data_and_resources(api: Any) -> None:
    wf = _new_wf(api, "diamond")
    node = _node(api, wf)
    raw = api.create_file(FileModel(workflow_id=wf, name="raw", path="raw.txt"))
    mid = api.create_files(
        {
            "files": [
                FileModel(workflow_id=wf, name="a", path="a.txt"),
                FileModel(workflow_id=wf, name="b", path="b.txt"),
            ]
        }
    ).files
    big = api.create_resource_requirements(
        ResourceRequirementsModel(
            workflow_id=wf, name="big", num_cpus=4, memory="8g", runtime="PT2H"
        )
    )
    cfg = api.create_user_data(UserDataModel(workflow_id=wf, name="cfg", data={"alpha": 1}))
    created = api.create_jobs(
        JobsModel(
            jobs=[
                JobModel(
                    workflow_id=wf,
                    name="prep",
                    command="prep",
                    output_file_ids=[raw.id],
                    output_user_data_ids=[cfg.id],
                ),
                JobModel(
                    workflow_id=wf,
                    name="left",
                    command="left",
                    input_file_ids=[raw.id],
                    output_file_ids=[mid[0].id],
                    resource_requirements_id=big.id,
                ),
                JobModel(
                    workflow_id=wf,
                    name="right",
                    command="right",
                    input_file_ids=[raw.id],
                    input_user_data_ids=[cfg.id],
                    output_file_ids=[mid[1].id],
                    priority=5,
                ),
                JobModel(
                    workflow_id=wf,
                    name="join",
                    command="join",
                    input_file_ids=[mid[0].id, mid[1].id],
                ),
            ]
        )
    ).jobs
    ids = {j.name: j.id for j in created}
    assert all(j.status == "uninitialized" for j in created)
    assert api.is_workflow_uninitialized(wf).is_uninitialized

    api.initialize_jobs(wf)
    assert _statuses(api, wf) == {
        "prep": "ready",
        "left": "blocked",
        "right": "blocked",
        "join": "blocked",
    }
    deps = {(d.job_name, d.depends_on_job_name) for d in api.list_job_dependencies(wf).items}
    assert deps == {("left", "prep"), ("right", "prep"), ("join", "left"), ("join", "right")}
    assert api.list_required_existing_files(wf).files == []

    prep = api.claim_next_jobs(wf, limit=10).jobs
    assert [j.name for j in prep] == ["prep"] and prep[0].status == "pending"
    assert prep[0].output_file_ids == [raw.id]
    done = _run_one(api, wf, prep[0], node)
    assert done.status == "completed"
    # Both branches became ready inside that completion: no sweep runs on this server.
    assert _statuses(api, wf)["left"] == "ready" and _statuses(api, wf)["right"] == "ready"

    small = ComputeNodesResources(num_cpus=2, memory_gb=4.0, num_gpus=0, num_nodes=1)
    claimed = api.claim_jobs_based_on_resources(wf, 10, small)
    assert [j.name for j in claimed.jobs] == ["right"]  # left needs 4 CPUs and 8 GiB
    roomy = ComputeNodesResources(
        num_cpus=8, memory_gb=16.0, num_gpus=0, num_nodes=1, time_limit="PT1H"
    )
    refused = api.claim_jobs_based_on_resources(wf, 10, roomy)
    assert refused.jobs == [] and "fits" in refused.reason  # left needs 2 h, only 1 h left
    roomy.time_limit = "PT3H"
    assert [j.name for j in api.claim_jobs_based_on_resources(wf, 10, roomy).jobs] == ["left"]

    for job in (claimed.jobs[0], api.get_job(ids["left"])):
        _run_one(api, wf, job, node)
    assert _statuses(api, wf)["join"] == "ready"
    assert not api.is_workflow_complete(wf).is_complete
    _run_one(api, wf, api.claim_next_jobs(wf, limit=1).jobs[0], node)

    assert api.is_workflow_complete(wf).is_complete
    status = api.get_workflow_status(wf)
    assert status.jobs_by_status.completed == 4 and status.total_jobs == 4
    results = api.list_results(wf).items
    assert sorted(r.job_name for r in results) == ["join", "left", "prep", "right"]
    assert {r.return_code for r in results} == {0}
    assert sorted(api.list_required_existing_files(wf).files) == sorted(
        [raw.id, mid[0].id, mid[1].id]
    )


def test_failed_job_cancels_dependents_in_the_same_call(api: Any) -> None:
    wf = _new_wf(api, "cascade")
    node = _node(api, wf)
    root = api.create_job(JobModel(workflow_id=wf, name="root", command="false"))
    child = api.create_job(
        JobModel(workflow_id=wf, name="child", command="c", depends_on_job_ids=[root.id])
    )
    api.create_job(
        JobModel(workflow_id=wf, name="grandchild", command="g", depends_on_job_ids=[child.id])
    )
    api.create_job(
        JobModel(
            workflow_id=wf,
            name="tolerant",
            command="t",
            depends_on_job_ids=[root.id],
            cancel_on_blocking_job_failure=False,
        )
    )
    api.initialize_jobs(wf)
    _run_one(api, wf, api.claim_next_jobs(wf, limit=1).jobs[0], node, rc=1)
    assert _statuses(api, wf) == {
        "root": "failed",
        "child": "canceled",
        "grandchild": "canceled",
        "tolerant": "ready",
    }


def test_chain_of_200_completes_without_waiting_for_a_sweep(api: Any) -> None:
    wf = _new_wf(api, "chain")
    node = _node(api, wf)
    prev: int | None = None
    for i in range(200):
        job = api.create_job(
            JobModel(
                workflow_id=wf,
                name=f"c{i}",
                command="true",
                depends_on_job_ids=[prev] if prev else None,
            )
        )
        prev = job.id
    api.initialize_jobs(wf)
    for i in range(200):
        claimed = api.claim_next_jobs(wf, limit=5).jobs
        assert [j.name for j in claimed] == [f"c{i}"]
        _run_one(api, wf, claimed[0], node)
    assert api.is_workflow_complete(wf).is_complete
    assert set(_statuses(api, wf).values()) == {"completed"}


def test_run_id_and_double_completion_are_refused_without_changes(api: Any) -> None:
    wf = _new_wf(api, "guards")
    node = _node(api, wf)
    api.create_job(JobModel(workflow_id=wf, name="only", command="x"))
    api.initialize_jobs(wf)
    job = api.claim_next_jobs(wf, limit=1).jobs[0]
    with pytest.raises(ApiException) as err:
        api.start_job(job.id, 99, node)
    assert err.value.status == 422 and "run_id" in err.value.body
    assert api.get_job(job.id).status == "pending"
    _run_one(api, wf, job, node)
    with pytest.raises(ApiException) as err:
        api.complete_job(job.id, "completed", 1, _result(wf, job.id, 1, node))
    assert err.value.status == 422 and "completed" in err.value.body
    assert len(api.list_results(wf, all_runs=True).items) == 1
    with pytest.raises(ApiException) as err:
        api.start_job(987654321, 1, node)
    assert err.value.status == 404 and "job 987654321" in err.value.body


def test_batch_completion_reports_each_entry(api: Any) -> None:
    wf = _new_wf(api, "batch")
    node = _node(api, wf)
    api.create_jobs(
        JobsModel(jobs=[JobModel(workflow_id=wf, name=f"b{i}", command="true") for i in range(5)])
    )
    api.initialize_jobs(wf)
    claimed = api.claim_next_jobs(wf, limit=5).jobs
    for job in claimed:
        api.start_job(job.id, 1, node)
    entries = [
        JobCompletionEntry(
            job_id=j.id, run_id=1, status="completed", result=_result(wf, j.id, 1, node)
        )
        for j in claimed
    ]
    entries.append(
        JobCompletionEntry(
            job_id=claimed[0].id,
            run_id=1,
            status="completed",
            result=_result(wf, claimed[0].id, 1, node),
        )
    )
    answer = api.batch_complete_jobs(wf, BatchCompleteJobsRequest(completions=entries))
    assert sorted(answer.completed) == sorted(j.id for j in claimed)
    assert [e.job_id for e in answer.errors] == [claimed[0].id]
    assert api.is_workflow_complete(wf).is_complete


def test_cancel_then_reset_starts_a_new_run(api: Any) -> None:
    wf = _new_wf(api, "cancel")
    node = _node(api, wf)
    api.create_jobs(
        JobsModel(jobs=[JobModel(workflow_id=wf, name=f"j{i}", command="true") for i in range(3)])
    )
    api.initialize_jobs(wf)
    running = api.claim_next_jobs(wf, limit=1).jobs[0]
    api.start_job(running.id, 1, node)
    api.cancel_workflow(wf)
    assert api.is_workflow_complete(wf).is_canceled
    assert api.get_job(running.id).status == "canceled"
    assert api.claim_next_jobs(wf, limit=5).jobs == []
    # The runner reports what it saw after the cancel; the result is kept.
    term = api.complete_job(
        running.id, "terminated", 1, _result(wf, running.id, 1, node, rc=-15, status="terminated")
    )
    assert term.status == "terminated"
    api.reset_workflow_status(wf)
    wf_model = api.get_workflow(wf)
    assert wf_model.run_id == 2 and not wf_model.is_canceled
    reset = api.reset_job_status(wf, failed_only=True)
    assert reset.updated_count == 1
    api.initialize_jobs(wf, only_uninitialized=True)
    assert sorted(_statuses(api, wf).values()) == ["ready"] * 3


def test_retry_sends_a_failed_job_back_as_next_attempt(api: Any) -> None:
    wf = _new_wf(api, "retry")
    node = _node(api, wf)
    job = api.create_job(JobModel(workflow_id=wf, name="flaky", command="x"))
    after = api.create_job(
        JobModel(workflow_id=wf, name="after", command="y", depends_on_job_ids=[job.id])
    )
    api.initialize_jobs(wf)
    _run_one(api, wf, api.claim_next_jobs(wf, limit=1).jobs[0], node, rc=3)
    assert api.get_job(after.id).status == "canceled"
    again = api.retry_job(job.id, 1, max_retries=3)
    assert again.status == "ready" and again.attempt_id == 2 and again.origin == "retry"
    assert api.get_job(after.id).status == "blocked"
    _run_one(api, wf, api.claim_next_jobs(wf, limit=1).jobs[0], node)
    assert api.get_job(after.id).status == "ready"
    assert len(api.list_results(wf, all_runs=True).items) == 2


def test_pagination_walks_more_than_10000_jobs(api: Any) -> None:
    wf = _new_wf(api, "many")
    for start in range(0, 10_500, 3_500):
        api.create_jobs(
            JobsModel(
                jobs=[
                    JobModel(workflow_id=wf, name=f"n{i}", command="true")
                    for i in range(start, start + 3_500)
                ]
            )
        )
    first = api.list_jobs(wf)
    assert first.count == 10_000 and first.max_limit == 10_000 and first.has_more
    assert first.total_count == 10_500
    names = [j.name for j in iter_documents(api.list_jobs, wf)]
    assert len(names) == 10_500 and len(set(names)) == 10_500
    with pytest.raises(ApiException) as err:
        api.list_jobs(wf, limit=10_001)
    assert err.value.status == 422


def test_dependency_cycle_is_refused_at_initialize(api: Any) -> None:
    wf = _new_wf(api, "cycle")
    a = api.create_job(JobModel(workflow_id=wf, name="a", command="a"))
    b = api.create_job(JobModel(workflow_id=wf, name="b", command="b", depends_on_job_ids=[a.id]))
    api.update_job(a.id, JobModel(workflow_id=wf, name="a", command="a", depends_on_job_ids=[b.id]))
    with pytest.raises(ApiException) as err:
        api.initialize_jobs(wf)
    assert err.value.status == 422 and "cycle" in err.value.body
    assert set(_statuses(api, wf).values()) == {"uninitialized"}


def test_database_file_holds_the_state(server: ServerProcess, api: Any) -> None:
    wf = _new_wf(api, "ondisk")
    with sqlite3.connect(server.db_path) as conn:
        row = conn.execute("SELECT name, run_id FROM workflow WHERE id = ?", (wf,)).fetchone()
        rr = conn.execute(
            "SELECT name FROM resource_requirements WHERE workflow_id = ?", (wf,)
        ).fetchall()
    assert row == ("ondisk", 1) and rr == [("default",)]


def test_make_api_against_a_second_server_is_independent(tmp_path: Path) -> None:
    srv = start_server(tmp_path)
    try:
        other = make_api(srv.url)
        assert other.list_workflows().total_count == 0
    finally:
        srv.stop()
