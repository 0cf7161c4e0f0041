"""pytorc's depends_on_job_names: a whole DAG created in one bulk_jobs request, by job names."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import httpx
import pytest

from helpers import ServerProcess


@pytest.fixture
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as c:
        yield c


@pytest.fixture
def wf(http: httpx.Client) -> int:
    return int(http.post("/workflows", json={"name": "names", "user": "tester"}).json()["id"])


def _job(wf: int, name: str, *upstream: str) -> dict[str, Any]:
    return {"workflow_id": wf, "name": name, "command": "true", "depends_on_job_names": upstream}


def _job_count(server: ServerProcess, wf: int) -> int:
    with closing(sqlite3.connect(server.db_path)) as conn:
        return int(
            conn.execute("SELECT COUNT(*) FROM job WHERE workflow_id = ?", (wf,)).fetchone()[0]
        )


def test_a_chain_in_one_request_gets_its_edges_and_runs_in_order(
    http: httpx.Client, wf: int, api: Any
) -> None:
    bodies = [_job(wf, "j0")] + [_job(wf, f"j{i}", f"j{i - 1}") for i in range(1, 300)]
    made = http.post("/bulk_jobs", json={"jobs": bodies}).json()["jobs"]
    ids = [j["id"] for j in made]
    assert len(set(ids)) == 300
    assert [j["depends_on_job_ids"] for j in made] == [[]] + [[ids[i - 1]] for i in range(1, 300)]
    assert all("depends_on_job_names" not in j for j in made)
    # The published client sees ordinary edges, and initialize derives the states from them.
    api.initialize_jobs(wf)
    statuses = {j.id: str(j.status.value) for j in api.list_jobs(wf, limit=1000).items}
    assert "ready" in statuses[ids[0]]
    assert all("blocked" in statuses[i] for i in ids[1:])
    assert api.get_job(ids[5]).depends_on_job_ids == [ids[4]]


def test_names_reach_jobs_created_by_an_earlier_request(http: httpx.Client, wf: int) -> None:
    first = http.post("/bulk_jobs", json={"jobs": [_job(wf, "root")]}).json()["jobs"][0]
    made = http.post(
        "/bulk_jobs", json={"jobs": [_job(wf, "leaf", "root", "mid"), _job(wf, "mid", "root")]}
    ).json()["jobs"]
    mid = made[1]["id"]
    assert made[0]["depends_on_job_ids"] == sorted([first["id"], mid])
    assert made[1]["depends_on_job_ids"] == [first["id"]]
    single = http.post("/jobs", json=_job(wf, "single", "leaf")).json()
    assert single["depends_on_job_ids"] == [made[0]["id"]]


def test_names_and_ids_combine(http: httpx.Client, wf: int) -> None:
    a, b = http.post("/bulk_jobs", json={"jobs": [_job(wf, "a"), _job(wf, "b")]}).json()["jobs"]
    body = {**_job(wf, "c", "a"), "depends_on_job_ids": [b["id"], a["id"]]}
    assert http.post("/jobs", json=body).json()["depends_on_job_ids"] == sorted([a["id"], b["id"]])


@pytest.mark.parametrize(
    ("bodies", "message"),
    [
        (lambda wf: [_job(wf, "x", "nope")], "job 'x' depends on job 'nope', which does not exist"),
        (lambda wf: [_job(wf, "x", "x")], "cannot depend on itself"),
        (lambda wf: [_job(wf, "d"), _job(wf, "d"), _job(wf, "x", "d")], "2 jobs in workflow"),
    ],
    ids=["unknown", "itself", "ambiguous"],
)
def test_bad_names_are_refused_and_nothing_is_stored(
    http: httpx.Client, server: ServerProcess, wf: int, bodies: Any, message: str
) -> None:
    answer = http.post("/bulk_jobs", json={"jobs": bodies(wf)})
    assert answer.status_code == 422, answer.text
    assert message in answer.json()["errorMessage"]
    assert _job_count(server, wf) == 0


def test_a_name_in_another_workflow_does_not_count(http: httpx.Client, wf: int) -> None:
    other = http.post("/workflows", json={"name": "other", "user": "tester"}).json()["id"]
    http.post("/bulk_jobs", json={"jobs": [_job(other, "elsewhere")]})
    answer = http.post("/bulk_jobs", json={"jobs": [_job(wf, "x", "elsewhere")]})
    assert answer.status_code == 422
    assert "'elsewhere', which does not exist in workflow" in answer.json()["errorMessage"]


def test_update_refuses_names(http: httpx.Client, wf: int) -> None:
    job = http.post("/jobs", json=_job(wf, "a")).json()
    answer = http.put(f"/jobs/{job['id']}", json=_job(wf, "a", "b"))
    assert answer.status_code == 422
    assert "creation only" in answer.json()["errorMessage"]
