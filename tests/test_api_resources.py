"""User data, resource requirements, results and events, driven by torc-client 0.35.0 unchanged."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from torc.api import iter_documents
from torc.openapi_client.exceptions import ApiException
from torc.openapi_client.models import (
    ComputeNodeModel,
    EventModel,
    JobModel,
    ResourceRequirementsModel,
    ResultModel,
    UserDataListModel,
    UserDataModel,
    WorkflowModel,
)

from helpers import ServerProcess, compute_node


def api_error(call: Callable[[], Any]) -> tuple[int, str]:
    """The status and body of the ApiException `call` raises."""
    with pytest.raises(ApiException) as info:
        call()
    return info.value.status, str(info.value.body)


def new_workflow(api: Any) -> int:
    return int(api.create_workflow(WorkflowModel(name="other", user="tester")).id)


def new_job(api: Any, wf: int, name: str = "job", **kwargs: Any) -> int:
    return int(api.create_job(JobModel(workflow_id=wf, name=name, command="true", **kwargs)).id)


def new_node(api: Any, wf: int) -> int:
    node = api.create_compute_node(ComputeNodeModel(**compute_node(wf, hostname="h1")))
    return int(node.id)


# --- user data ----------------------------------------------------------------------------


def test_user_data_round_trip_keeps_any_json(api: Any, workflow: Any) -> None:
    wf = workflow.id
    created = api.create_user_data(
        UserDataModel(workflow_id=wf, name="params", data={"alpha": [1, 2.5, None], "s": "x"})
    )
    assert created.id is not None and created.is_ephemeral is False
    assert api.get_user_data(created.id).data == {"alpha": [1, 2.5, None], "s": "x"}

    for value in ([1, "two"], "text", 7, None):
        updated = api.update_user_data(
            created.id, UserDataModel(workflow_id=wf, name="params2", data=value, is_ephemeral=True)
        )
        assert (updated.name, updated.data, updated.is_ephemeral) == ("params2", value, True)

    deleted = api.delete_user_data(created.id)
    assert deleted.id == created.id
    status, body = api_error(lambda: api.get_user_data(created.id))
    assert status == 404 and f"user data {created.id} does not exist" in body


def test_user_data_update_without_data_keeps_it(api: Any, workflow: Any) -> None:
    ud = api.create_user_data(UserDataModel(workflow_id=workflow.id, name="a", data={"k": 1}))
    updated = api.update_user_data(ud.id, UserDataModel(workflow_id=workflow.id, name="b"))
    assert (updated.name, updated.data) == ("b", {"k": 1})


def test_user_data_links_consumer_and_producer_jobs(api: Any, workflow: Any) -> None:
    wf = workflow.id
    producer, consumer = new_job(api, wf, "producer"), new_job(api, wf, "consumer")
    made = api.create_user_data(UserDataModel(workflow_id=wf, name="out"), producer_job_id=producer)
    used = api.create_user_data(UserDataModel(workflow_id=wf, name="in"), consumer_job_id=consumer)
    api.create_user_data(UserDataModel(workflow_id=wf, name="loose"))

    assert [u.id for u in api.list_user_data(wf, producer_job_id=producer).items] == [made.id]
    assert [u.id for u in api.list_user_data(wf, consumer_job_id=consumer).items] == [used.id]
    assert api.list_user_data(wf, consumer_job_id=producer).items == []
    rels = api.list_job_user_data_relationships(wf).items
    linked = {
        (r.user_data_id, r.producer_job_id, r.consumer_job_id)
        for r in rels
        if r.producer_job_id or r.consumer_job_id
    }
    assert linked == {(made.id, producer, None), (used.id, None, consumer)}


def test_user_data_linked_to_another_workflows_job_is_refused_and_not_stored(
    api: Any, workflow: Any
) -> None:
    foreign_job = new_job(api, new_workflow(api))
    for kwargs in (
        {"consumer_job_id": foreign_job},
        {"producer_job_id": foreign_job},
        {"consumer_job_id": 10**12},
    ):
        status, body = api_error(
            lambda kw=kwargs: api.create_user_data(
                UserDataModel(workflow_id=workflow.id, name="x"), **kw
            )
        )
        assert status == 422, body
    assert api.list_user_data(workflow.id).total_count == 0


def test_user_data_for_a_missing_workflow_is_404(api: Any) -> None:
    status, body = api_error(
        lambda: api.create_user_data(UserDataModel(workflow_id=10**12, name="x"))
    )
    assert status == 404 and "workflow 1000000000000 does not exist" in body
    status, _ = api_error(lambda: api.list_user_data(10**12))
    assert status == 404


def test_bulk_user_data_pages_and_filters(api: Any, workflow: Any) -> None:
    wf = workflow.id
    records = [
        UserDataModel(workflow_id=wf, name=f"d{i}", is_ephemeral=i % 2 == 0, data=i)
        for i in range(5)
    ]
    created = api.create_user_data_list(UserDataListModel(user_data=records)).user_data
    assert [u.name for u in created] == [f"d{i}" for i in range(5)]

    first = api.list_user_data(wf, limit=2)
    assert (first.count, first.total_count, first.has_more) == (2, 5, True)
    assert [u.data for u in iter_documents(api.list_user_data, wf, limit=None)] == list(range(5))
    assert [u.name for u in api.list_user_data(wf, name="d3").items] == ["d3"]
    assert [u.data for u in api.list_user_data(wf, is_ephemeral=True).items] == [0, 2, 4]
    names = [u.name for u in api.list_user_data(wf, sort_by="name", reverse_sort=True).items]
    assert names == ["d4", "d3", "d2", "d1", "d0"]


def test_bulk_user_data_with_one_bad_workflow_stores_nothing(api: Any, workflow: Any) -> None:
    records = [
        UserDataModel(workflow_id=workflow.id, name="good"),
        UserDataModel(workflow_id=10**12, name="bad"),
    ]
    status, _ = api_error(lambda: api.create_user_data_list(UserDataListModel(user_data=records)))
    assert status == 404
    assert api.list_user_data(workflow.id).total_count == 0


def test_delete_all_user_data_counts(api: Any, workflow: Any) -> None:
    for i in range(3):
        api.create_user_data(UserDataModel(workflow_id=workflow.id, name=f"u{i}"))
    assert api.delete_all_user_data(workflow.id) == {"count": 3}
    assert api.list_user_data(workflow.id).total_count == 0


def test_user_data_update_cannot_move_it_to_another_workflow(api: Any, workflow: Any) -> None:
    ud = api.create_user_data(UserDataModel(workflow_id=workflow.id, name="a"))
    other = new_workflow(api)
    status, _ = api_error(
        lambda: api.update_user_data(ud.id, UserDataModel(workflow_id=other, name="a"))
    )
    assert status == 422
    assert api.get_user_data(ud.id).workflow_id == workflow.id


# --- resource requirements ----------------------------------------------------------------


def test_resource_requirements_round_trip(api: Any, workflow: Any) -> None:
    wf = workflow.id
    rr = api.create_resource_requirements(
        ResourceRequirementsModel(
            workflow_id=wf,
            name="big",
            num_cpus=8,
            num_gpus=1,
            num_nodes=2,
            memory="16g",
            runtime="PT2H",
        )
    )
    got = api.get_resource_requirements(rr.id)
    assert (got.name, got.num_cpus, got.num_gpus, got.num_nodes, got.memory, got.runtime) == (
        "big",
        8,
        1,
        2,
        "16g",
        "PT2H",
    )
    updated = api.update_resource_requirements(
        rr.id,
        ResourceRequirementsModel(
            workflow_id=wf, name="bigger", num_cpus=16, memory="32g", runtime="P1DT1H"
        ),
    )
    assert (updated.name, updated.num_cpus, updated.memory, updated.runtime) == (
        "bigger",
        16,
        "32g",
        "P1DT1H",
    )
    assert api.delete_resource_requirement(rr.id).id == rr.id
    status, body = api_error(lambda: api.get_resource_requirements(rr.id))
    assert status == 404 and f"resource requirements {rr.id} does not exist" in body


def test_workflow_starts_with_its_default_requirements(api: Any, workflow: Any) -> None:
    names = [r.name for r in api.list_resource_requirements(workflow.id).items]
    assert names == ["default"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("memory", "12XB"), ("runtime", "2 hours"), ("memory", "99999999999999999999t")],
)
def test_bad_memory_or_runtime_is_422_naming_the_value(
    api: Any, workflow: Any, field: str, value: str
) -> None:
    model = ResourceRequirementsModel(workflow_id=workflow.id, name="bad", **{field: value})
    status, body = api_error(lambda: api.create_resource_requirements(model))
    assert status == 422 and value in body
    assert api.list_resource_requirements(workflow.id, name="bad").total_count == 0


def test_the_name_default_is_reserved(api: Any, workflow: Any) -> None:
    status, body = api_error(
        lambda: api.create_resource_requirements(
            ResourceRequirementsModel(workflow_id=workflow.id, name="default")
        )
    )
    assert status == 422 and "reserved" in body
    rr = api.create_resource_requirements(
        ResourceRequirementsModel(workflow_id=workflow.id, name="small")
    )
    status, _ = api_error(
        lambda: api.update_resource_requirements(
            rr.id, ResourceRequirementsModel(workflow_id=workflow.id, name="default")
        )
    )
    assert status == 422


def test_requirements_in_use_cannot_be_deleted(api: Any, workflow: Any) -> None:
    wf = workflow.id
    used = api.create_resource_requirements(ResourceRequirementsModel(workflow_id=wf, name="used"))
    unused = api.create_resource_requirements(
        ResourceRequirementsModel(workflow_id=wf, name="unused")
    )
    new_job(api, wf, "a", resource_requirements_id=used.id)
    new_job(api, wf, "b", resource_requirements_id=used.id)

    status, body = api_error(lambda: api.delete_resource_requirement(used.id))
    assert status == 409 and "2 job" in body
    # The collection delete removes only records no job uses, and never the default.
    assert api.delete_resource_requirements(wf) == {"count": 1}
    names = {r.name for r in api.list_resource_requirements(wf).items}
    assert names == {"default", "used"}
    status, _ = api_error(lambda: api.get_resource_requirements(unused.id))
    assert status == 404


def test_requirements_filters_match_amounts(api: Any, server: ServerProcess, workflow: Any) -> None:
    wf = workflow.id
    a = api.create_resource_requirements(
        ResourceRequirementsModel(
            workflow_id=wf, name="a", memory="2g", runtime="PT90M", num_cpus=2
        )
    )
    b = api.create_resource_requirements(
        ResourceRequirementsModel(
            workflow_id=wf, name="b", memory="512m", runtime="PT1H", num_cpus=4, num_gpus=1
        )
    )
    job = new_job(api, wf, "j", resource_requirements_id=b.id)

    def ids(**kw: Any) -> list[int]:
        return [r.id for r in api.list_resource_requirements(wf, **kw).items]

    assert ids(memory="2048m") == [a.id]
    assert ids(runtime=5400) == [a.id]  # the client sends runtime as whole seconds
    assert ids(num_cpus=4) == [b.id]
    assert ids(num_gpus=1) == [b.id]
    assert ids(job_id=job) == [b.id]
    assert ids(name="a") == [a.id]
    assert ids(sort_by="memory", reverse_sort=True)[:2] == [a.id, b.id]
    status, body = api_error(lambda: api.list_resource_requirements(wf, memory="lots"))
    assert status == 422 and "lots" in body
    resp = httpx.get(
        f"{server.url}/resource_requirements", params={"workflow_id": wf, "runtime": "PT1H30M"}
    )
    assert [r["id"] for r in resp.json()["items"]] == [a.id]


def test_requirements_for_a_missing_workflow_is_404(api: Any) -> None:
    status, _ = api_error(
        lambda: api.create_resource_requirements(
            ResourceRequirementsModel(workflow_id=10**12, name="x")
        )
    )
    assert status == 404


# --- results ------------------------------------------------------------------------------


def result(
    wf: int,
    job: int,
    node: int,
    run_id: int = 1,
    rc: int = 0,
    status: str = "completed",
    **kwargs: Any,
) -> ResultModel:
    return ResultModel(
        job_id=job,
        workflow_id=wf,
        run_id=run_id,
        compute_node_id=node,
        return_code=rc,
        exec_time_minutes=1.5,
        completion_time=datetime.now(UTC).isoformat(),
        status=status,
        **kwargs,
    )


def test_result_round_trip_names_its_job(api: Any, workflow: Any) -> None:
    wf = workflow.id
    job, node = new_job(api, wf, "simulate"), new_node(api, wf)
    created = api.create_result(result(wf, job, node, peak_memory_bytes=1024, avg_cpu_percent=55.5))
    got = api.get_result(created.id)
    assert (
        got.job_name,
        got.status,
        got.attempt_id,
        got.peak_memory_bytes,
        got.avg_cpu_percent,
    ) == ("simulate", "completed", 1, 1024, 55.5)

    updated = api.update_result(created.id, result(wf, job, node, rc=3, status="failed"))
    assert (updated.return_code, updated.status) == (3, "failed")
    assert api.delete_result(created.id).id == created.id
    status, body = api_error(lambda: api.get_result(created.id))
    assert status == 404 and f"result {created.id} does not exist" in body


def test_results_list_latest_per_job_unless_all_runs(api: Any, workflow: Any) -> None:
    wf = workflow.id
    job, other, node = new_job(api, wf, "a"), new_job(api, wf, "b"), new_node(api, wf)
    first = api.create_result(result(wf, job, node, rc=1, status="failed", attempt_id=1))
    second = api.create_result(result(wf, job, node, rc=0, attempt_id=2))
    third = api.create_result(result(wf, other, node, rc=2, status="failed"))

    latest = api.list_results(wf)
    assert [r.id for r in latest.items] == [second.id, third.id]
    assert all(r.job_name in ("a", "b") for r in latest.items)
    assert [r.id for r in api.list_results(wf, all_runs=True).items] == [
        first.id,
        second.id,
        third.id,
    ]
    assert [r.id for r in api.list_results(wf, all_runs=True, status="failed").items] == [
        first.id,
        third.id,
    ]
    assert [r.id for r in api.list_results(wf, return_code=2).items] == [third.id]
    assert [r.id for r in api.list_results(wf, job_id=job, all_runs=True).items] == [
        first.id,
        second.id,
    ]
    assert [r.id for r in api.list_results(wf, compute_node_id=node).items] == [second.id, third.id]
    by_rc = api.list_results(wf, all_runs=True, sort_by="return_code", reverse_sort=True)
    assert [r.return_code for r in by_rc.items] == [2, 1, 0]


def test_a_second_result_for_the_same_attempt_is_409(api: Any, workflow: Any) -> None:
    wf = workflow.id
    job, node = new_job(api, wf), new_node(api, wf)
    api.create_result(result(wf, job, node))
    status, body = api_error(lambda: api.create_result(result(wf, job, node)))
    assert status == 409 and "already has a result" in body
    assert api.list_results(wf, all_runs=True).total_count == 1


def test_result_references_are_checked(api: Any, workflow: Any) -> None:
    wf, other = workflow.id, new_workflow(api)
    job, node = new_job(api, wf), new_node(api, wf)
    foreign_job, foreign_node = new_job(api, other), new_node(api, other)
    for bad in (
        result(wf, foreign_job, node),
        result(wf, job, foreign_node),
        result(wf, 10**12, node),
    ):
        status, body = api_error(lambda r=bad: api.create_result(r))
        assert status == 422, body
    status, _ = api_error(lambda: api.create_result(result(10**12, job, node)))
    assert status == 404
    assert api.list_results(wf, all_runs=True).total_count == 0


def test_results_bad_query_values_are_422_not_500(server: ServerProcess, workflow: Any) -> None:
    for params in (
        {"status": "finished"},
        {"sort_by": "secret; DROP TABLE job"},
        {"limit": 10_001},
        {"offset": -1},
    ):
        resp = httpx.get(f"{server.url}/results", params={"workflow_id": workflow.id, **params})
        assert resp.status_code == 422, (params, resp.text)


def test_delete_results_counts(api: Any, workflow: Any) -> None:
    wf = workflow.id
    node = new_node(api, wf)
    for name in ("a", "b"):
        api.create_result(result(wf, new_job(api, wf, name), node))
    assert api.delete_results(wf) == {"count": 2}
    assert api.list_results(wf, all_runs=True).total_count == 0


# --- events -------------------------------------------------------------------------------


def test_event_round_trip_and_update_with_any_json(api: Any, workflow: Any) -> None:
    now = int(time.time() * 1000)
    event = api.create_event(
        EventModel(
            workflow_id=workflow.id, timestamp=now, data={"category": "user", "message": "hello"}
        )
    )
    assert api.get_event(event.id).data == {"category": "user", "message": "hello"}
    updated = api.update_event(event.id, {"category": "user", "message": "edited"})
    assert (updated.data, updated.timestamp) == ({"category": "user", "message": "edited"}, now)
    assert api.update_event(event.id, [1, 2]).data == [1, 2]
    assert api.delete_event(event.id).id == event.id
    status, body = api_error(lambda: api.get_event(event.id))
    assert status == 404 and f"event {event.id} does not exist" in body


def test_events_filter_by_category_and_time(api: Any, workflow: Any) -> None:
    wf = workflow.id
    for ts, category in ((1000, "a"), (2000, "b"), (3000, "a")):
        api.create_event(
            EventModel(
                workflow_id=wf, timestamp=ts, data={"category": category, "message": str(ts)}
            )
        )
    assert [e.timestamp for e in api.list_events(wf, category="a").items] == [1000, 3000]
    assert [e.timestamp for e in api.list_events(wf, after_timestamp=1000).items] == [2000, 3000]
    newest = api.list_events(wf, sort_by="timestamp", reverse_sort=True, limit=1)
    assert (newest.items[0].timestamp, newest.has_more) == (3000, True)
    assert api.delete_events(wf) == {"count": 3}
    assert api.list_events(wf).total_count == 0


def test_event_for_a_missing_workflow_is_404(api: Any) -> None:
    status, _ = api_error(
        lambda: api.create_event(EventModel(workflow_id=10**12, timestamp=1, data={}))
    )
    assert status == 404
    status, _ = api_error(lambda: api.update_event(10**12, {"x": 1}))
    assert status == 404
