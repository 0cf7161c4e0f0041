"""Bad input to the job endpoints: a 4xx naming the problem, and nothing stored changes."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from typing import Any

import httpx
import pytest

from helpers import ServerProcess, compute_node

TABLES = (
    "workflow",
    "job",
    "job_depends_on",
    "job_input_file",
    "result",
    "workflow_result",
    "file",
    "resource_requirements",
    "event",
)


def _fingerprint(db_path: str) -> dict[str, Any]:
    """Every row of the tables a job request could touch."""
    with closing(sqlite3.connect(db_path)) as conn:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in TABLES}


@pytest.fixture(scope="module")
def seeded(server: ServerProcess) -> Iterator[dict[str, Any]]:
    """A workflow with one pending job (claimed, not started) and one ready job."""
    with httpx.Client(base_url=server.url) as c:
        wf = c.post("/workflows", json={"name": "bad-input", "user": "tester"}).json()["id"]
        node_body = compute_node(wf, num_cpus=2, memory_gb=2.0)
        node = c.post("/compute_nodes", json=node_body).json()["id"]
        jobs = c.post(
            "/bulk_jobs",
            json={
                "jobs": [
                    {"workflow_id": wf, "name": "a", "command": "true"},
                    {"workflow_id": wf, "name": "b", "command": "true"},
                ]
            },
        ).json()["jobs"]
        c.post(f"/workflows/{wf}/reset_status").raise_for_status()  # run 1
        c.post(f"/workflows/{wf}/initialize_jobs")
        pending = c.post(f"/workflows/{wf}/claim_next_jobs", params={"limit": 1}).json()["jobs"][0]
        ready = next(j for j in jobs if j["id"] != pending["id"])
        other = c.post("/workflows", json={"name": "bad-input-2", "user": "tester"}).json()["id"]
        yield {
            "client": c,
            "wf": wf,
            "other_wf": other,
            "node": node,
            "pending": pending["id"],
            "ready": ready["id"],
        }


def _result(s: dict[str, Any], job: int, **override: Any) -> dict[str, Any]:
    body = {
        "job_id": job,
        "workflow_id": s["wf"],
        "run_id": 1,
        "compute_node_id": s["node"],
        "return_code": 0,
        "exec_time_minutes": 0.1,
        "completion_time": "now",
        "status": "completed",
    }
    body.update(override)
    return body


Case = Callable[[dict[str, Any]], httpx.Response]

CASES: list[tuple[str, Case, int, str]] = [
    (
        "unknown job id",
        lambda s: s["client"].put(f"/jobs/999999/start_job/1/{s['node']}"),
        404,
        "job 999999",
    ),
    (
        "wrong run_id on start",
        lambda s: s["client"].put(f"/jobs/{s['pending']}/start_job/7/{s['node']}"),
        422,
        "run_id 7",
    ),
    (
        "start a job that is not pending",
        lambda s: s["client"].put(f"/jobs/{s['ready']}/start_job/1/{s['node']}"),
        422,
        "not pending",
    ),
    (
        "unknown status literal",
        lambda s: s["client"].post(
            f"/jobs/{s['pending']}/complete_job/finished/1", json=_result(s, s["pending"])
        ),
        422,
        "status",
    ),
    (
        "non-terminal completion status",
        lambda s: s["client"].post(
            f"/jobs/{s['pending']}/complete_job/running/1", json=_result(s, s["pending"])
        ),
        422,
        "not a completion status",
    ),
    (
        "result for another job",
        lambda s: s["client"].post(
            f"/jobs/{s['pending']}/complete_job/completed/1", json=_result(s, s["ready"])
        ),
        422,
        "result.job_id",
    ),
    (
        "result with another status",
        lambda s: s["client"].post(
            f"/jobs/{s['pending']}/complete_job/failed/1",
            json=_result(s, s["pending"], return_code=1, status="completed"),
        ),
        422,
        "result.status is 'completed', not 'failed'",
    ),
    (
        "result of another run",
        lambda s: s["client"].post(
            f"/jobs/{s['pending']}/complete_job/completed/1",
            json=_result(s, s["pending"], run_id=2),
        ),
        422,
        "result.run_id is 2, not 1",
    ),
    (
        "wrong type in result",
        lambda s: s["client"].post(
            f"/jobs/{s['pending']}/complete_job/completed/1",
            json=_result(s, s["pending"], return_code="zero"),
        ),
        422,
        "return_code",
    ),
    (
        "bulk jobs with one bad reference",
        lambda s: s["client"].post(
            "/bulk_jobs",
            json={
                "jobs": [
                    {"workflow_id": s["wf"], "name": "ok", "command": "true"},
                    {
                        "workflow_id": s["wf"],
                        "name": "bad",
                        "command": "true",
                        "input_file_ids": [424242],
                    },
                ]
            },
        ),
        422,
        "file 424242",
    ),
    (
        "bulk jobs of two workflows",
        lambda s: s["client"].post(
            "/bulk_jobs",
            json={
                "jobs": [
                    {"workflow_id": s["wf"], "name": "mine", "command": "true"},
                    {"workflow_id": s["other_wf"], "name": "theirs", "command": "true"},
                ]
            },
        ),
        422,
        "one workflow",
    ),
    ("empty bulk jobs", lambda s: s["client"].post("/bulk_jobs", json={"jobs": []}), 422, "empty"),
    (
        "bulk jobs with a wrong type",
        lambda s: s["client"].post(
            "/bulk_jobs", json={"jobs": [{"workflow_id": s["wf"], "name": 5, "command": "true"}]}
        ),
        422,
        "name",
    ),
    (
        "bulk jobs for a missing workflow",
        lambda s: s["client"].post(
            "/bulk_jobs", json={"jobs": [{"workflow_id": 888888, "name": "x", "command": "true"}]}
        ),
        404,
        "workflow 888888",
    ),
    (
        "depends on a missing job",
        lambda s: s["client"].post(
            "/jobs",
            json={
                "workflow_id": s["wf"],
                "name": "x",
                "command": "true",
                "depends_on_job_ids": [777777],
            },
        ),
        422,
        "job 777777",
    ),
    (
        "negative priority",
        lambda s: s["client"].post(
            "/jobs", json={"workflow_id": s["wf"], "name": "x", "command": "true", "priority": -1}
        ),
        422,
        "priority",
    ),
    ("id beyond 64 bits", lambda s: s["client"].get(f"/jobs/{2**70}"), 422, ""),
    (
        "claim limit over 10,000",
        lambda s: s["client"].post(
            f"/workflows/{s['wf']}/claim_next_jobs", params={"limit": 10_001}
        ),
        422,
        "limit",
    ),
    (
        "negative claim limit",
        lambda s: s["client"].post(f"/workflows/{s['wf']}/claim_next_jobs", params={"limit": -1}),
        422,
        "limit",
    ),
    (
        "bad time_limit",
        lambda s: s["client"].post(
            f"/workflows/{s['wf']}/claim_jobs_based_on_resources/5",
            json={
                "num_cpus": 1,
                "memory_gb": 1,
                "num_gpus": 0,
                "num_nodes": 1,
                "time_limit": "two hours",
            },
        ),
        422,
        "time_limit",
    ),
    (
        "bad memory string",
        lambda s: s["client"].post(
            "/resource_requirements", json={"workflow_id": s["wf"], "name": "r", "memory": "12XB"}
        ),
        422,
        "12XB",
    ),
    (
        "bad runtime string",
        lambda s: s["client"].post(
            "/resource_requirements", json={"workflow_id": s["wf"], "name": "r", "runtime": "PT"}
        ),
        422,
        "PT",
    ),
    (
        "invalid JSON",
        lambda s: s["client"].post(
            "/jobs", content=b"{not json", headers={"content-type": "application/json"}
        ),
        422,
        "",
    ),
    (
        "retry beyond max_retries",
        lambda s: s["client"].post(f"/jobs/{s['pending']}/retry/1", params={"max_retries": 0}),
        422,
        "",
    ),
    (
        "sort by an unknown column",
        lambda s: s["client"].get(
            "/jobs", params={"workflow_id": s["wf"], "sort_by": "name; DROP TABLE job"}
        ),
        422,
        "cannot sort",
    ),
    (
        "unknown workflow on list",
        lambda s: s["client"].get("/jobs", params={"workflow_id": 55555}),
        404,
        "workflow 55555",
    ),
]


@pytest.mark.parametrize(("label", "call", "status", "needle"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_a_4xx_naming_the_problem_and_changes_nothing(
    server: ServerProcess, seeded: dict[str, Any], label: str, call: Case, status: int, needle: str
) -> None:
    before = _fingerprint(server.db_path)
    response = call(seeded)
    assert response.status_code == status, (label, response.text)
    body = response.json()
    assert body["code"] == status and isinstance(body["errorMessage"], str)
    assert needle in response.text
    assert _fingerprint(server.db_path) == before
