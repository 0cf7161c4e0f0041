"""Compute nodes, local and Slurm schedulers, scheduled compute nodes and Slurm stats, driven by
torc-client 0.35.0 unchanged."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from torc.openapi_client.exceptions import ApiException
from torc.openapi_client.models import (
    ComputeNodeModel,
    JobModel,
    LocalSchedulerModel,
    ScheduledComputeNodesModel,
    SlurmSchedulerModel,
    SlurmStatsModel,
    WorkflowModel,
)

from helpers import compute_node

MISSING = 10**12


def api_error(call: Callable[[], Any]) -> tuple[int, str]:
    with pytest.raises(ApiException) as info:
        call()
    return info.value.status, str(info.value.body)


def new_workflow(api: Any) -> int:
    return int(api.create_workflow(WorkflowModel(name="other", user="tester")).id)


def node_model(wf: int, hostname: str = "h1", **kwargs: Any) -> ComputeNodeModel:
    fields = {"is_active": None, **kwargs}  # None: the server decides, as for a new runner
    return ComputeNodeModel(**compute_node(wf, hostname=hostname, pid=123, memory_gb=8.5, **fields))


def slurm_model(wf: int, **kwargs: Any) -> SlurmSchedulerModel:
    fields: dict[str, Any] = dict(
        workflow_id=wf, name="short", account="proj", nodes=1, walltime="01:00:00"
    )
    return SlurmSchedulerModel(**{**fields, **kwargs})


# --- compute nodes ------------------------------------------------------------------------


def test_compute_node_round_trip(api: Any, workflow: Any) -> None:
    wf = workflow.id
    node = api.create_compute_node(node_model(wf, scheduler={"scheduler_id": 7, "type": "slurm"}))
    assert node.is_active is True  # a registering runner is active
    got = api.get_compute_node(node.id)
    assert (got.hostname, got.memory_gb, got.scheduler) == (
        "h1",
        8.5,
        {"scheduler_id": 7, "type": "slurm"},
    )

    got.is_active = False
    got.duration_seconds = 12.5
    got.peak_memory_bytes = 4096
    updated = api.update_compute_node(node.id, got)
    assert (updated.is_active, updated.duration_seconds, updated.peak_memory_bytes) == (
        False,
        12.5,
        4096,
    )
    assert updated.scheduler == {"scheduler_id": 7, "type": "slurm"}

    assert api.delete_compute_node(node.id).id == node.id
    status, body = api_error(lambda: api.get_compute_node(node.id))
    assert status == 404 and f"compute node {node.id} does not exist" in body


def test_compute_nodes_list_filters(api: Any, workflow: Any) -> None:
    wf = workflow.id
    a = api.create_compute_node(node_model(wf, "alpha", scheduler={"scheduler_id": 1}))
    b = api.create_compute_node(node_model(wf, "beta", scheduler={"scheduler_id": 2}))
    c = api.create_compute_node(node_model(wf, "alpha", is_active=False))

    def ids(**kw: Any) -> list[int]:
        return [n.id for n in api.list_compute_nodes(wf, **kw).items]

    assert ids() == [a.id, b.id, c.id]
    assert ids(hostname="alpha") == [a.id, c.id]
    assert ids(is_active=True) == [a.id, b.id]
    assert ids(is_active=False) == [c.id]
    assert ids(scheduled_compute_node_id=2) == [b.id]
    assert ids(sort_by="hostname", reverse_sort=True)[0] == b.id
    page = api.list_compute_nodes(wf, offset=1, limit=1)
    assert (page.count, page.total_count, page.has_more, page.items[0].id) == (1, 3, True, b.id)
    assert api.delete_compute_nodes(wf).count == 3
    assert ids() == []


def test_compute_node_errors(api: Any, workflow: Any) -> None:
    status, _ = api_error(lambda: api.create_compute_node(node_model(MISSING)))
    assert status == 404
    node = api.create_compute_node(node_model(workflow.id))
    status, _ = api_error(lambda: api.update_compute_node(node.id, node_model(new_workflow(api))))
    assert status == 422
    status, _ = api_error(lambda: api.update_compute_node(MISSING, node_model(workflow.id)))
    assert status == 404
    status, _ = api_error(lambda: api.list_compute_nodes(workflow.id, sort_by="pid; --"))
    assert status == 422


# --- local schedulers ---------------------------------------------------------------------


def test_local_scheduler_round_trip_and_filters(api: Any, workflow: Any) -> None:
    wf = workflow.id
    small = api.create_local_scheduler(
        LocalSchedulerModel(workflow_id=wf, name="small", memory="4g", num_cpus=2)
    )
    big = api.create_local_scheduler(
        LocalSchedulerModel(workflow_id=wf, name="big", memory="64g", num_cpus=32)
    )
    assert api.get_local_scheduler(small.id).memory == "4g"
    updated = api.update_local_scheduler(small.id, LocalSchedulerModel(workflow_id=wf, num_cpus=4))
    assert (updated.name, updated.memory, updated.num_cpus) == ("small", "4g", 4)
    assert [s.id for s in api.list_local_schedulers(wf, memory="64g").items] == [big.id]
    assert [s.id for s in api.list_local_schedulers(wf, num_cpus=4).items] == [small.id]
    assert api.delete_local_scheduler(big.id).id == big.id
    assert api.delete_local_schedulers(wf).count == 1
    status, body = api_error(lambda: api.get_local_scheduler(small.id))
    assert status == 404 and f"local scheduler {small.id} does not exist" in body


def test_local_scheduler_bad_memory_is_422(api: Any, workflow: Any) -> None:
    status, body = api_error(
        lambda: api.create_local_scheduler(
            LocalSchedulerModel(workflow_id=workflow.id, memory="4 gigs")
        )
    )
    assert status == 422 and "4 gigs" in body
    assert api.list_local_schedulers(workflow.id).total_count == 0


# --- slurm schedulers ---------------------------------------------------------------------


def test_slurm_scheduler_round_trip(api: Any, workflow: Any) -> None:
    wf = workflow.id
    sched = api.create_slurm_scheduler(
        slurm_model(wf, partition="debug", gres="gpu:2", extra="--exclusive")
    )
    got = api.get_slurm_scheduler(sched.id)
    assert (got.account, got.partition, got.gres, got.extra, got.walltime) == (
        "proj",
        "debug",
        "gpu:2",
        "--exclusive",
        "01:00:00",
    )
    updated = api.update_slurm_scheduler(sched.id, slurm_model(wf, nodes=4, walltime="04:00:00"))
    assert (updated.nodes, updated.walltime, updated.partition) == (4, "04:00:00", "debug")
    api.create_slurm_scheduler(slurm_model(wf, name="long"))
    names = [s.name for s in api.list_slurm_schedulers(wf, sort_by="name").items]
    assert names == ["long", "short"]
    assert api.delete_slurm_scheduler(sched.id).id == sched.id
    assert api.delete_slurm_schedulers(wf).count == 1
    assert api.list_slurm_schedulers(wf).total_count == 0


def test_slurm_scheduler_errors(api: Any, workflow: Any) -> None:
    status, _ = api_error(lambda: api.create_slurm_scheduler(slurm_model(workflow.id, nodes=0)))
    assert status == 422
    status, _ = api_error(lambda: api.create_slurm_scheduler(slurm_model(MISSING)))
    assert status == 404
    status, _ = api_error(lambda: api.delete_slurm_scheduler(MISSING))
    assert status == 404
    assert api.list_slurm_schedulers(workflow.id).total_count == 0


# --- scheduled compute nodes --------------------------------------------------------------


def test_scheduled_compute_nodes_round_trip_and_filters(api: Any, workflow: Any) -> None:
    wf = workflow.id
    sched = api.create_slurm_scheduler(slurm_model(wf))
    a = api.create_scheduled_compute_node(
        ScheduledComputeNodesModel(
            workflow_id=wf,
            scheduler_id=1001,
            scheduler_config_id=sched.id,
            scheduler_type="slurm",
            status="pending",
        )
    )
    b = api.create_scheduled_compute_node(
        ScheduledComputeNodesModel(
            workflow_id=wf,
            scheduler_id=1002,
            scheduler_config_id=sched.id,
            scheduler_type="slurm",
            status="pending",
        )
    )
    a.status = "active"
    assert api.update_scheduled_compute_node(a.id, a).status == "active"
    assert api.get_scheduled_compute_node(a.id).scheduler_id == 1001

    def ids(**kw: Any) -> list[int]:
        return [n.id for n in api.list_scheduled_compute_nodes(wf, **kw).items]

    assert ids(status="pending") == [b.id]
    assert ids(scheduler_id="1001") == [a.id]  # the client sends ids here as strings
    assert ids(scheduler_config_id=str(sched.id)) == [a.id, b.id]
    assert api.delete_scheduled_compute_node(b.id).id == b.id
    assert api.delete_scheduled_compute_nodes(wf).count == 1
    status, _ = api_error(lambda: api.get_scheduled_compute_node(a.id))
    assert status == 404


def test_scheduled_compute_node_needs_a_scheduler_of_its_workflow(api: Any, workflow: Any) -> None:
    foreign = api.create_slurm_scheduler(slurm_model(new_workflow(api)))
    for config_id in (foreign.id, MISSING):
        status, _ = api_error(
            lambda c=config_id: api.create_scheduled_compute_node(
                ScheduledComputeNodesModel(
                    workflow_id=workflow.id,
                    scheduler_id=1,
                    scheduler_config_id=c,
                    scheduler_type="slurm",
                    status="pending",
                )
            )
        )
        assert status == 422
    assert api.list_scheduled_compute_nodes(workflow.id).total_count == 0


# --- slurm stats --------------------------------------------------------------------------


def test_slurm_stats_create_and_filter(api: Any, workflow: Any) -> None:
    wf = workflow.id
    job = api.create_job(JobModel(workflow_id=wf, name="j", command="true")).id
    for attempt in (1, 2):
        api.create_slurm_stats(
            SlurmStatsModel(
                workflow_id=wf,
                job_id=job,
                run_id=1,
                attempt_id=attempt,
                slurm_job_id="555",
                max_rss_bytes=1000 * attempt,
                ave_cpu_seconds=1.5,
                node_list="n[1-2]",
            )
        )
    stats = api.list_slurm_stats(wf, job_id=job)
    assert [s.max_rss_bytes for s in stats.items] == [1000, 2000]
    assert [s.attempt_id for s in api.list_slurm_stats(wf, attempt_id=2).items] == [2]
    assert api.list_slurm_stats(wf, run_id=2).total_count == 0
    assert api.list_slurm_stats(wf, limit=1).has_more is True


def test_slurm_stats_for_another_workflows_job_is_refused(api: Any, workflow: Any) -> None:
    other = new_workflow(api)
    job = api.create_job(JobModel(workflow_id=other, name="j", command="true")).id
    status, _ = api_error(
        lambda: api.create_slurm_stats(
            SlurmStatsModel(workflow_id=workflow.id, job_id=job, run_id=1, attempt_id=1)
        )
    )
    assert status == 422
    assert api.list_slurm_stats(workflow.id).total_count == 0
