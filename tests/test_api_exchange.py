"""The runner round trip (pytorc extension): report starts and completions, claim more, at once."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from helpers import ServerProcess


@pytest.fixture
def client(server: ServerProcess) -> httpx.Client:
    return httpx.Client(base_url=server.url)


def _setup(c: httpx.Client, jobs: list[dict[str, Any]]) -> tuple[int, int, dict[str, int]]:
    wf = c.post("/workflows", json={"name": "exchange", "user": "tester"}).json()["id"]
    node = c.post(
        "/compute_nodes",
        json={
            "workflow_id": wf,
            "hostname": "h",
            "pid": 1,
            "start_time": "now",
            "num_cpus": 4,
            "memory_gb": 4.0,
            "num_gpus": 0,
            "num_nodes": 1,
            "compute_node_type": "local",
        },
    ).json()["id"]
    big = c.post(
        "/resource_requirements",
        json={"workflow_id": wf, "name": "big", "num_cpus": 64, "memory": "1g"},
    ).json()["id"]
    ids: dict[str, int] = {}
    for job in jobs:
        deps = [ids[d] for d in job.pop("after", [])]
        if job.pop("big", False):
            job["resource_requirements_id"] = big
        created = c.post(
            "/jobs", json={"workflow_id": wf, "command": "true", "depends_on_job_ids": deps, **job}
        ).json()
        ids[created["name"]] = created["id"]
    c.post(f"/workflows/{wf}/initialize_jobs").raise_for_status()
    return wf, node, ids


def _done(wf: int, node: int, job: int, rc: int = 0) -> dict[str, Any]:
    status = "completed" if rc == 0 else "failed"
    return {
        "job_id": job,
        "run_id": 1,
        "status": status,
        "result": {
            "job_id": job,
            "workflow_id": wf,
            "run_id": 1,
            "compute_node_id": node,
            "return_code": rc,
            "exec_time_minutes": 0.0,
            "completion_time": "now",
            "status": status,
        },
    }


def test_a_chain_advances_one_job_per_round_trip(client: httpx.Client) -> None:
    names = [f"c{i}" for i in range(50)]
    wf, node, _ = _setup(
        client, [{"name": n, "after": [names[i - 1]] if i else []} for i, n in enumerate(names)]
    )
    body: dict[str, Any] = {"run_id": 1, "compute_node_id": node, "claim": {"limit": 4}}
    answer = client.post(f"/workflows/{wf}/exchange_jobs", json=body).json()
    for i in range(50):
        assert [j["name"] for j in answer["jobs"]] == [f"c{i}"]
        job = answer["jobs"][0]["id"]
        body = {
            "run_id": 1,
            "compute_node_id": node,
            "started": [{"job_id": job}],
            "completions": [_done(wf, node, job)],
            "claim": {"limit": 4},
        }
        answer = client.post(f"/workflows/{wf}/exchange_jobs", json=body).json()
        assert answer["started"] == [job] and answer["completed"] == [job] and not answer["errors"]
    assert answer["jobs"] == [] and answer["is_complete"] and not answer["is_canceled"]
    statuses = {
        j["status"] for j in client.get("/jobs", params={"workflow_id": wf}).json()["items"]
    }
    assert statuses == {"completed"}


def test_each_report_fails_alone_and_claims_follow_resources(client: httpx.Client) -> None:
    wf, node, ids = _setup(client, [{"name": "a"}, {"name": "b"}, {"name": "c", "big": True}])
    first = client.post(
        f"/workflows/{wf}/exchange_jobs",
        json={
            "run_id": 1,
            "compute_node_id": node,
            "claim": {
                "limit": 10,
                "resources": {"num_cpus": 4, "memory_gb": 4.0, "num_gpus": 0, "num_nodes": 1},
            },
        },
    ).json()
    assert sorted(j["name"] for j in first["jobs"]) == ["a", "b"]  # c needs 64 CPUs
    a, b = ids["a"], ids["b"]
    answer = client.post(
        f"/workflows/{wf}/exchange_jobs",
        json={
            "run_id": 1,
            "compute_node_id": node,
            "started": [{"job_id": a}, {"job_id": a}, {"job_id": ids["c"]}],
            "completions": [_done(wf, node, a), _done(wf, node, a), _done(wf, node, b, rc=2)],
        },
    ).json()
    assert answer["started"] == [a] and answer["completed"] == [a, b]
    # the second start of a, c (not claimed), the second result for a
    assert sorted(e["job_id"] for e in answer["errors"]) == sorted([a, ids["c"], a])
    assert client.get(f"/jobs/{b}").json()["status"] == "failed"
    assert client.get(f"/jobs/{ids['c']}").json()["status"] == "ready"


def test_wrong_run_id_changes_nothing(client: httpx.Client) -> None:
    wf, node, ids = _setup(client, [{"name": "only"}])
    response = client.post(
        f"/workflows/{wf}/exchange_jobs",
        json={"run_id": 3, "compute_node_id": node, "claim": {"limit": 1}},
    )
    assert response.status_code == 422 and "run_id 3" in response.text
    assert client.get(f"/jobs/{ids['only']}").json()["status"] == "ready"
