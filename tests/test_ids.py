"""Workflow and job ids are never given twice, even after the newest ones are deleted and the
server restarts (migration 0008)."""

from __future__ import annotations

from pathlib import Path

import httpx

from helpers import start_server


def _make(url: str, name: str) -> tuple[int, list[int]]:
    wf = httpx.post(f"{url}/workflows", json={"name": name, "user": "tester"}).json()["id"]
    jobs = [{"workflow_id": wf, "name": f"j{i}", "command": "true"} for i in range(3)]
    made = httpx.post(f"{url}/bulk_jobs", json={"jobs": jobs}).json()["jobs"]
    return wf, [job["id"] for job in made]


def test_ids_of_deleted_workflows_and_jobs_are_not_given_again(tmp_path: Path) -> None:
    db = str(tmp_path / "ids.db")
    with start_server(tmp_path, database=db) as server:
        first, first_jobs = _make(server.url, "first")
        httpx.delete(f"{server.url}/workflows/{first}").raise_for_status()
        second, second_jobs = _make(server.url, "second")
        assert second > first and min(second_jobs) > max(first_jobs)
        httpx.delete(f"{server.url}/workflows/{second}").raise_for_status()
    with start_server(tmp_path, database=db) as server:  # the marks are stored, not in memory
        third, third_jobs = _make(server.url, "third")
    assert third > second and min(third_jobs) > max(second_jobs)


def test_a_brief_bulk_create_answers_the_ids_in_order(tmp_path: Path) -> None:
    with start_server(tmp_path) as server:
        wf = httpx.post(f"{server.url}/workflows", json={"name": "b", "user": "t"}).json()["id"]
        jobs = [{"workflow_id": wf, "name": f"j{i}", "command": "true"} for i in range(5)]
        jobs.append({"workflow_id": wf, "name": "last", "command": "true",
                     "depends_on_job_names": ["j0", "j4"]})  # fmt: skip
        brief = httpx.post(f"{server.url}/bulk_jobs", params={"brief": "true"}, json={"jobs": jobs})
        assert brief.status_code == 200 and list(brief.json()) == ["ids"]
        ids = brief.json()["ids"]
        listed = httpx.get(f"{server.url}/jobs", params={"workflow_id": wf}).json()["items"]
        assert [(j["id"], j["name"]) for j in listed] == list(
            zip(ids, [j["name"] for j in jobs], strict=True)
        )
        last = httpx.get(f"{server.url}/jobs/{ids[-1]}").json()
        assert sorted(last["depends_on_job_ids"]) == [ids[0], ids[4]]
        full = httpx.post(f"{server.url}/bulk_jobs", json={"jobs": jobs[:1]}).json()
        assert full["jobs"][0]["name"] == "j0" and full["jobs"][0]["status"] == "uninitialized"
