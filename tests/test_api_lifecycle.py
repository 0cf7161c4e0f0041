"""The job state machine driven end to end by torc-client 0.35.0, unchanged, over real HTTP."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from torc.api import iter_documents
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

from helpers import ServerProcess, compute_node, published_api, start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    # An hour between sweeps: anything that unblocks here did so inside the completion itself.
    with start_server(
        tmp_path_factory.mktemp("lifecycle"), "--completion-check-interval-secs", "3600"
    ) as srv:
        yield srv


def _node(api: Any, wf: int) -> int:
    node = api.create_compute_node(ComputeNodeModel(**compute_node(wf, num_cpus=8, memory_gb=16.0)))
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
    run = api.get_workflow(wf).run_id
    with pytest.raises(ApiException) as err:
        api.complete_job(job.id, "completed", run, _result(wf, job.id, run, node))
    assert err.value.status == 422 and "completed" in err.value.body
    assert len(api.list_results(wf, all_runs=True).items) == 1
    with pytest.raises(ApiException) as err:
        api.start_job(987654321, run, node)
    assert err.value.status == 404 and "job 987654321" in err.value.body


def test_batch_completion_reports_each_entry(api: Any) -> None:
    wf = _new_wf(api, "batch")
    node = _node(api, wf)
    api.create_jobs(
        JobsModel(jobs=[JobModel(workflow_id=wf, name=f"b{i}", command="true") for i in range(5)])
    )
    api.initialize_jobs(wf)
    run = api.get_workflow(wf).run_id
    claimed = api.claim_next_jobs(wf, limit=5).jobs
    for job in claimed:
        api.start_job(job.id, run, node)
    entries = [
        JobCompletionEntry(
            job_id=j.id, run_id=run, status="completed", result=_result(wf, j.id, run, node)
        )
        for j in claimed
    ]
    entries.append(
        JobCompletionEntry(
            job_id=claimed[0].id,
            run_id=run,
            status="completed",
            result=_result(wf, claimed[0].id, run, node),
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
    run = api.get_workflow(wf).run_id
    running = api.claim_next_jobs(wf, limit=1).jobs[0]
    api.start_job(running.id, run, node)
    api.cancel_workflow(wf)
    assert api.is_workflow_complete(wf).is_canceled
    assert api.get_job(running.id).status == "canceled"
    assert api.claim_next_jobs(wf, limit=5).jobs == []
    # The runner reports what it saw after the cancel; the result is kept.
    term = api.complete_job(
        running.id,
        "terminated",
        run,
        _result(wf, running.id, run, node, rc=-15, status="terminated"),
    )
    assert term.status == "terminated"
    api.reset_workflow_status(wf)
    wf_model = api.get_workflow(wf)
    assert wf_model.run_id == run + 1 and not wf_model.is_canceled
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
    again = api.retry_job(job.id, api.get_workflow(wf).run_id, max_retries=3)
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


def test_a_new_workflow_is_at_run_0_until_reset_status_starts_run_1(api: Any) -> None:
    created = api.create_workflow(WorkflowModel(name="runs", user="tester", run_id=5))
    assert created.run_id == 0  # the body's run_id is ignored, as the model documents
    api.create_job(JobModel(workflow_id=created.id, name="only", command="true"))
    api.initialize_jobs(created.id)
    assert api.get_workflow(created.id).run_id == 0  # initializing jobs does not start a run
    assert api.reset_workflow_status(created.id)["run_id"] == 1
    assert api.reset_workflow_status(created.id)["run_id"] == 2
    assert api.get_workflow(created.id).run_id == 2


def test_a_job_completed_in_run_0_has_a_run_0_result(api: Any) -> None:
    wf = _new_wf(api, "run-zero")
    node = _node(api, wf)
    api.create_job(JobModel(workflow_id=wf, name="only", command="true"))
    api.initialize_jobs(wf)
    _run_one(api, wf, api.claim_next_jobs(wf, limit=1).jobs[0], node)
    assert [r.run_id for r in api.list_results(wf, all_runs=True).items] == [0]


def _job_rows(api: Any, wf: int) -> list[dict[str, Any]]:
    return [j.to_dict() for j in iter_documents(api.list_jobs, wf)]


def test_bulk_jobs_of_two_workflows_is_a_422_that_creates_nothing(api: Any) -> None:
    first, second = _new_wf(api, "bulk-a"), _new_wf(api, "bulk-b")
    api.create_job(JobModel(workflow_id=first, name="kept", command="true"))
    before = _job_rows(api, first), _job_rows(api, second)
    mixed = JobsModel(
        jobs=[
            JobModel(workflow_id=first, name="a1", command="true"),
            JobModel(workflow_id=second, name="b1", command="true"),
            JobModel(workflow_id=first, name="a2", command="true"),
        ]
    )
    with pytest.raises(ApiException) as err:
        api.create_jobs(mixed)
    assert err.value.status == 422
    assert f"workflows {first}, {second}" in err.value.body
    assert (_job_rows(api, first), _job_rows(api, second)) == before


def test_an_empty_bulk_jobs_is_a_422(api: Any) -> None:
    with pytest.raises(ApiException) as err:
        api.create_jobs(JobsModel(jobs=[]))
    assert err.value.status == 422 and "empty" in err.value.body


def _entry(
    wf: int, job: int, run: int, node: int, status: str, change: dict[str, Any] | None = None
) -> Any:
    """A batch entry setting `status`, its result altered by `change`."""
    rc = 0 if status == "completed" else 1
    body = _result(wf, job, run, node, rc, status).to_dict() | (change or {})
    return JobCompletionEntry(
        job_id=job, run_id=run, status=status, result=ResultModel.from_dict(body)
    )


def test_every_completion_path_clears_start_time_and_compute_node(
    server: ServerProcess, api: Any
) -> None:
    wf = _new_wf(api, "clears")
    node = _node(api, wf)
    api.create_jobs(
        JobsModel(jobs=[JobModel(workflow_id=wf, name=f"c{i}", command="x") for i in range(4)])
    )
    api.initialize_jobs(wf)
    run = api.get_workflow(wf).run_id
    jobs = [j.id for j in api.claim_next_jobs(wf, limit=4).jobs]
    for job in jobs:
        started = api.start_job(job, run, node)
        assert started.start_time and started.compute_node_id == node
    done = api.complete_job(jobs[0], "completed", run, _result(wf, jobs[0], run, node))
    assert done.start_time is None and done.compute_node_id is None
    # One entry for the set-wise path, one (pending_failed) for the per-entry path.
    entries = [
        _entry(wf, jobs[1], run, node, "completed"),
        _entry(wf, jobs[2], run, node, "pending_failed"),
    ]
    answer = api.batch_complete_jobs(wf, BatchCompleteJobsRequest(completions=entries))
    assert answer.errors == [] and sorted(answer.completed) == sorted(jobs[1:3])
    exchange = httpx.post(
        f"{server.url}/workflows/{wf}/exchange_jobs",
        json={
            "run_id": run,
            "compute_node_id": node,
            "completions": [_entry(wf, jobs[3], run, node, "failed").to_dict()],
        },
    ).json()
    assert exchange["completed"] == [jobs[3]] and exchange["errors"] == []
    for job in jobs:
        after = api.get_job(job)
        assert (after.start_time, after.compute_node_id) == (None, None), after
    results = api.list_results(wf, all_runs=True).items
    assert sorted(r.job_id for r in results) == sorted(jobs)
    assert {r.compute_node_id for r in results} == {node}  # the result keeps where it ran


def _running_job(api: Any, name: str) -> tuple[int, int, int, int]:
    """(workflow, job, run, node) for one started job."""
    wf = _new_wf(api, name)
    node = _node(api, wf)
    api.create_job(JobModel(workflow_id=wf, name="only", command="x"))
    api.initialize_jobs(wf)
    run = api.get_workflow(wf).run_id
    job = api.claim_next_jobs(wf, limit=1).jobs[0].id
    api.start_job(job, run, node)
    return wf, job, run, node


def test_a_status_change_away_from_running_clears_start_time_and_compute_node(api: Any) -> None:
    _, job, run, _ = _running_job(api, "unstart")
    back = api.manage_status_change(job, "ready", run)
    assert back.status == "ready" and (back.start_time, back.compute_node_id) == (None, None)


DISAGREEING_RESULTS = [
    ("failed", {"return_code": 1, "status": "completed"}, "result.status is 'completed', not"),
    ("completed", {"return_code": 0, "status": "failed"}, "result.status is 'failed', not"),
    ("completed", {"return_code": 1}, "result.return_code is 1, but a completed job returned 0"),
    ("completed", {"run_id": 7}, "result.run_id is 7, not"),
    ("completed", {"job_id": 424242}, "result.job_id is 424242, not"),
    ("completed", {"workflow_id": 434343}, "result.workflow_id is 434343, not"),
]


@pytest.mark.parametrize(
    ("status", "change", "needle"),
    DISAGREEING_RESULTS,
    ids=[f"{c[0]} with {c[1]}" for c in DISAGREEING_RESULTS],
)
def test_complete_job_with_a_disagreeing_result_is_a_422_that_changes_nothing(
    api: Any, status: str, change: dict[str, Any], needle: str
) -> None:
    wf, job, run, node = _running_job(api, "disagree")
    before = api.get_job(job).to_dict()
    result = ResultModel.from_dict(_result(wf, job, run, node).to_dict() | change)
    with pytest.raises(ApiException) as err:
        api.complete_job(job, status, run, result)
    assert err.value.status == 422 and needle in err.value.body, err.value.body
    assert api.get_job(job).to_dict() == before
    assert api.list_results(wf, all_runs=True).total_count == 0


def test_batch_completion_refuses_each_disagreeing_result_alone(api: Any) -> None:
    wf = _new_wf(api, "batch-disagree")
    node = _node(api, wf)
    api.create_jobs(
        JobsModel(jobs=[JobModel(workflow_id=wf, name=f"d{i}", command="x") for i in range(3)])
    )
    api.initialize_jobs(wf)
    run = api.get_workflow(wf).run_id
    good, wrong_status, wrong_run = [j.id for j in api.claim_next_jobs(wf, limit=3).jobs]
    for job in (good, wrong_status, wrong_run):
        api.start_job(job, run, node)
    before = {job: api.get_job(job).to_dict() for job in (wrong_status, wrong_run)}
    entries = [
        _entry(wf, good, run, node, "completed"),
        _entry(wf, wrong_status, run, node, "failed", {"status": "completed"}),
        _entry(wf, wrong_run, run, node, "completed", {"run_id": run + 5}),
    ]
    answer = api.batch_complete_jobs(wf, BatchCompleteJobsRequest(completions=entries))
    assert answer.completed == [good]
    errors = {e.job_id: e.message for e in answer.errors}
    assert "result.status is 'completed', not 'failed'" in errors[wrong_status]
    assert f"result.run_id is {run + 5}, not {run}" in errors[wrong_run]
    assert {job: api.get_job(job).to_dict() for job in before} == before
    assert [r.job_id for r in api.list_results(wf, all_runs=True).items] == [good]


def test_database_file_holds_the_state(server: ServerProcess, api: Any) -> None:
    wf = _new_wf(api, "ondisk")
    with closing(sqlite3.connect(server.db_path)) as conn:
        row = conn.execute("SELECT name, run_id FROM workflow WHERE id = ?", (wf,)).fetchone()
        rr = conn.execute(
            "SELECT name FROM resource_requirements WHERE workflow_id = ?", (wf,)
        ).fetchall()
    assert row == ("ondisk", 0) and rr == [("default",)]


def test_make_api_against_a_second_server_is_independent(tmp_path: Path) -> None:
    with start_server(tmp_path) as srv, published_api(srv.url) as other:
        assert other.list_workflows().total_count == 0
