"""The runner round trip (pytorc extension): report starts and completions, claim more, at once."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from helpers import ServerProcess, compute_node, wait_until
from pytorc.server.services.exchange import HEARTBEAT_RESOLUTION


@pytest.fixture
def client(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url) as c:
        yield c


def _node(c: httpx.Client, wf: int) -> int:
    """A compute node of `wf`: the record a runner registers before it claims."""
    return int(c.post("/compute_nodes", json=compute_node(wf, memory_gb=4.0)).json()["id"])


def _setup(c: httpx.Client, jobs: list[dict[str, Any]]) -> tuple[int, int, dict[str, int]]:
    wf = c.post("/workflows", json={"name": "exchange", "user": "tester"}).json()["id"]
    node = _node(c, wf)
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
    c.post(f"/workflows/{wf}/reset_status").raise_for_status()  # run 1, as `torc run` starts it
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


def test_a_resource_claim_takes_fitting_jobs_behind_others_in_priority_order(
    client: httpx.Client,
) -> None:
    """Jobs of several requirements: the claim looks only at those that fit, yet keeps the
    order of priority, then creation, across them."""
    jobs: list[dict[str, Any]] = [
        {"name": f"big{i}", "big": True, "priority": 9} for i in range(50)
    ]
    jobs += [{"name": "low", "priority": 0}, {"name": "high", "priority": 5}, {"name": "mid"}]
    jobs += [{"name": "none", "priority": 5, "resource_requirements_id": None}]
    wf, node, _ = _setup(client, jobs)
    offer = {"num_cpus": 4, "memory_gb": 4.0, "num_gpus": 0, "num_nodes": 1}
    body = {"run_id": 1, "compute_node_id": node, "claim": {"limit": 3, "resources": offer}}
    first = client.post(f"/workflows/{wf}/exchange_jobs", json=body).json()
    assert [j["name"] for j in first["jobs"]] == ["high", "none", "low"]
    second = client.post(f"/workflows/{wf}/exchange_jobs", json=body).json()
    assert [j["name"] for j in second["jobs"]] == ["mid"]
    third = client.post(f"/workflows/{wf}/exchange_jobs", json=body).json()
    assert third["jobs"] == [] and third["reason"] == "No ready job fits the offered resources"


def test_a_budget_beyond_the_node_claims_only_jobs_that_fit_the_node(
    client: httpx.Client,
) -> None:
    """A runner queueing short jobs offers more than one node; `capacity` keeps out a job the
    node could never run (c needs 64 CPUs), though the budget would hold it."""
    wf, node, _ = _setup(
        client, [{"name": "a"}, {"name": "b"}, {"name": "c", "big": True}, {"name": "d"}]
    )
    budget = {"num_cpus": 100, "memory_gb": 100.0, "num_gpus": 0, "num_nodes": 1}
    capacity = {"num_cpus": 2, "memory_gb": 4.0, "num_gpus": 0, "num_nodes": 1}

    def claim(**fields: Any) -> httpx.Response:
        body = {"run_id": 1, "compute_node_id": node, "claim": {"resources": budget, **fields}}
        return client.post(f"/workflows/{wf}/exchange_jobs", json=body)

    answer = claim(limit=100, capacity=capacity).json()
    assert sorted(j["name"] for j in answer["jobs"]) == ["a", "b", "d"]  # 3 jobs > 2 CPUs
    again = claim(limit=100).json()
    assert [j["name"] for j in again["jobs"]] == ["c"]  # without capacity, the budget rules
    refused = claim(limit=1, capacity={**capacity, "num_cpus": -1})
    assert refused.status_code == 422 and "num_cpus" in refused.text


def test_an_exchange_refuses_a_disagreeing_result_alone_and_clears_what_it_completes(
    client: httpx.Client,
) -> None:
    wf, node, ids = _setup(client, [{"name": "good"}, {"name": "liar"}])
    claimed = client.post(
        f"/workflows/{wf}/exchange_jobs",
        json={"run_id": 1, "compute_node_id": node, "claim": {"limit": 2}},
    ).json()["jobs"]
    good, liar = ids["good"], ids["liar"]
    assert sorted(j["id"] for j in claimed) == sorted([good, liar])
    started = {
        "run_id": 1,
        "compute_node_id": node,
        "started": [{"job_id": good}, {"job_id": liar}],
    }
    assert client.post(f"/workflows/{wf}/exchange_jobs", json=started).json()["errors"] == []
    before = client.get(f"/jobs/{liar}").json()
    assert before["start_time"] and before["compute_node_id"] == node
    lie = _done(wf, node, liar, rc=1)  # failed, but its result says completed
    lie["result"]["status"] = "completed"
    answer = client.post(
        f"/workflows/{wf}/exchange_jobs",
        json={
            "run_id": 1,
            "compute_node_id": node,
            "completions": [_done(wf, node, good), lie],
        },
    ).json()
    assert answer["completed"] == [good]
    assert [e["job_id"] for e in answer["errors"]] == [liar]
    assert "result.status is 'completed', not 'failed'" in answer["errors"][0]["message"]
    assert client.get(f"/jobs/{liar}").json() == before
    done = client.get(f"/jobs/{good}").json()
    assert done["status"] == "completed"
    assert (done["start_time"], done["compute_node_id"]) == (None, None)
    results = client.get("/results", params={"workflow_id": wf}).json()["items"]
    assert [r["job_id"] for r in results] == [good]


def test_wrong_run_id_changes_nothing(client: httpx.Client) -> None:
    wf, node, ids = _setup(client, [{"name": "only"}])
    response = client.post(
        f"/workflows/{wf}/exchange_jobs",
        json={"run_id": 3, "compute_node_id": node, "claim": {"limit": 1}},
    )
    assert response.status_code == 422 and "run_id 3" in response.text
    assert client.get(f"/jobs/{ids['only']}").json()["status"] == "ready"


def _status(c: httpx.Client, job: int) -> str:
    return str(c.get(f"/jobs/{job}").json()["status"])


def test_a_stopping_runner_hands_back_its_claims_with_its_last_results(
    client: httpx.Client,
) -> None:
    wf, node, ids = _setup(client, [{"name": "a"}, {"name": "b"}, {"name": "c"}])
    a, b, c = ids["a"], ids["b"], ids["c"]
    url = f"/workflows/{wf}/exchange_jobs"
    claimed = client.post(url, json={"run_id": 1, "compute_node_id": node, "claim": {"limit": 3}})
    assert sorted(j["id"] for j in claimed.json()["jobs"]) == [a, b, c]
    last = client.post(
        url,
        json={
            "run_id": 1,
            "compute_node_id": node,
            "started": [{"job_id": a}],
            "completions": [_done(wf, node, a)],
            "release": [b, c],
        },
    ).json()
    assert last["completed"] == [a] and last["released"] == [b, c] and not last["errors"]
    assert [_status(client, j) for j in (a, b, c)] == ["completed", "ready", "ready"]
    events = client.get("/events", params={"workflow_id": wf}).json()["items"]
    assert any(e["data"]["category"] == "jobs_released" for e in events)


def test_a_release_touches_only_jobs_still_pending_under_that_nodes_claim(
    client: httpx.Client,
) -> None:
    """Released twice, released late after another runner claimed the job, or claimed by
    someone else: the job stays as it is, and the answer says why."""
    wf, first, ids = _setup(client, [{"name": "a"}, {"name": "b"}])
    a, b = ids["a"], ids["b"]
    second = _node(client, wf)
    url = f"/workflows/{wf}/exchange_jobs"

    def claim(node: int, limit: int) -> list[int]:
        body = {"run_id": 1, "compute_node_id": node, "claim": {"limit": limit}}
        return [j["id"] for j in client.post(url, json=body).json()["jobs"]]

    def release(node: int, jobs: list[int]) -> dict[str, Any]:
        body = {"run_id": 1, "compute_node_id": node, "job_ids": jobs}
        response = client.post(f"/workflows/{wf}/release_jobs", json=body)
        assert response.status_code == 200, response.text
        return dict(response.json())

    assert claim(first, 1) == [a] and claim(second, 1) == [b]
    answer = release(first, [a, b])  # b is the second runner's
    assert answer["released"] == [a]
    assert answer["errors"] == [
        {
            "job_id": b,
            "message": f"job {b} is not claimed by compute node {first} and cannot be released",
        }
    ]
    assert _status(client, b) == "pending"
    again = release(first, [a])  # released already
    assert again["released"] == [] and "is ready, not pending" in again["errors"][0]["message"]
    assert claim(second, 1) == [a]  # the second runner claims the released job...
    late = release(first, [a])  # ...and a late release from the first leaves it alone
    assert late["released"] == [] and _status(client, a) == "pending"
    assert release(second, [a, b])["released"] == [a, b]
    assert [_status(client, j) for j in (a, b)] == ["ready", "ready"]


def test_jobs_claimed_through_torcs_routes_cannot_be_released_by_a_node(
    client: httpx.Client,
) -> None:
    """Torc's claim routes name no compute node, so no runner owns the claim."""
    wf, node, ids = _setup(client, [{"name": "only"}])
    claimed = client.post(f"/workflows/{wf}/claim_next_jobs", params={"limit": 1}).json()
    assert [j["id"] for j in claimed["jobs"]] == [ids["only"]]
    body = {"run_id": 1, "compute_node_id": node, "job_ids": [ids["only"]]}
    answer = client.post(f"/workflows/{wf}/release_jobs", json=body).json()
    assert answer["released"] == [] and _status(client, ids["only"]) == "pending"


def test_a_release_for_another_run_or_workflow_changes_nothing(client: httpx.Client) -> None:
    wf, node, ids = _setup(client, [{"name": "only"}])
    other, _, _ = _setup(client, [{"name": "elsewhere"}])
    job = ids["only"]
    body = {"run_id": 1, "compute_node_id": node, "claim": {"limit": 1}}
    client.post(f"/workflows/{wf}/exchange_jobs", json=body).raise_for_status()
    stale = {"run_id": 2, "compute_node_id": node, "job_ids": [job]}
    response = client.post(f"/workflows/{wf}/release_jobs", json=stale)
    assert response.status_code == 422 and "run_id 2" in response.text
    wrong = {"run_id": 1, "compute_node_id": node, "job_ids": [job]}
    answer = client.post(f"/workflows/{other}/release_jobs", json=wrong).json()
    assert answer["errors"][0]["message"] == f"job {job} is not in workflow {other}"
    assert _status(client, job) == "pending"


# The exchange is answered beside FastAPI (server/fast_path.py); whatever it does not answer
# itself must still get the full application's answer.


def test_a_malformed_exchange_gets_the_usual_422_and_changes_nothing(client: httpx.Client) -> None:
    wf, _, ids = _setup(client, [{"name": "only"}])
    for body in (b"{not json", b'{"run_id": "one", "compute_node_id": 1}', b"[]"):
        response = client.post(
            f"/workflows/{wf}/exchange_jobs",
            content=body,
            headers={"content-type": "application/json"},
        )
        assert response.status_code == 422, response.text
        assert response.json()["errorNum"] == 422
    assert client.get(f"/jobs/{ids['only']}").json()["status"] == "ready"


def test_an_exchange_for_an_unknown_workflow_is_a_404(client: httpx.Client) -> None:
    body = {"run_id": 1, "compute_node_id": 1, "claim": {"limit": 1}}
    response = client.post("/workflows/987654/exchange_jobs", json=body)
    assert response.status_code == 404, response.text
    assert "987654" in response.json()["errorMessage"]


@pytest.mark.parametrize("chunked", [False, True])
def test_an_oversized_exchange_is_refused_with_413(client: httpx.Client, chunked: bool) -> None:
    wf, _, _ = _setup(client, [{"name": "only"}])
    padding = [{"job_id": 1, "start_time": "x" * 1000}] * 3000  # ~3 MiB, over the 2 MiB limit
    body = httpx.Request("POST", "/", json={"run_id": 1, "started": padding}).content
    chunks = [body[i : i + 65536] for i in range(0, len(body), 65536)]
    content: Any = iter(chunks) if chunked else body
    response = client.post(
        f"/workflows/{wf}/exchange_jobs",
        content=content,
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413, response.text[:300]


def test_a_chunked_exchange_within_the_limit_is_answered(client: httpx.Client) -> None:
    wf, node, ids = _setup(client, [{"name": "only"}])
    body = httpx.Request(
        "POST", "/", json={"run_id": 1, "compute_node_id": node, "claim": {"limit": 5}}
    ).content
    response = client.post(
        f"/workflows/{wf}/exchange_jobs",
        content=iter([body[:10], body[10:]]),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert [j["id"] for j in response.json()["jobs"]] == [ids["only"]]


def test_an_exchange_stamps_the_heartbeat_at_most_every_tenth_of_a_second(
    server: ServerProcess, client: httpx.Client
) -> None:
    wf, node, _ = _setup(client, [{"name": "a"}])
    body = {"run_id": 1, "compute_node_id": node}

    def stamp() -> float:
        with sqlite3.connect(server.db_path) as db:  # WAL: a reader beside the server
            row = db.execute("SELECT heartbeat_at FROM compute_node WHERE id = ?", (node,))
            return float(row.fetchone()[0])

    assert client.post(f"/workflows/{wf}/exchange_jobs", json=body).status_code == 200
    first = stamp()
    assert abs(first - time.time()) < 5
    # At once again: the stamp stays (each one wrote the node's page to the log again) ...
    assert client.post(f"/workflows/{wf}/exchange_jobs", json=body).status_code == 200
    if time.time() - first < HEARTBEAT_RESOLUTION:
        assert stamp() == first
    # ... and once it is older than the resolution, the next exchange moves it.
    wait_until(lambda: time.time() - first > HEARTBEAT_RESOLUTION, timeout=5)
    assert client.post(f"/workflows/{wf}/exchange_jobs", json=body).status_code == 200
    assert stamp() > first
