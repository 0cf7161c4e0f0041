"""Pages of a workflow's jobs: the same rows in the same order whether the server seeks by id
(ids without gaps) or walks the index (after a deletion), forwards and backwards."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from helpers import ServerProcess


@pytest.fixture
def client(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url) as c:
        yield c


def _pages(c: httpx.Client, wf: int, limit: int, reverse: bool) -> list[int]:
    ids: list[int] = []
    offset = 0
    while True:
        params = {"workflow_id": wf, "offset": offset, "limit": limit, "reverse_sort": reverse}
        page = c.get("/jobs", params=params).json()
        assert page["count"] == len(page["items"]) and page["offset"] == offset
        ids += [job["id"] for job in page["items"]]
        if not page["has_more"]:
            assert page["total_count"] == len(ids)
            return ids
        offset += page["count"]


def test_pages_list_every_job_once_in_order_with_and_without_gaps(client: httpx.Client) -> None:
    other = client.post("/workflows", json={"name": "before", "user": "tester"}).json()["id"]
    wf = client.post("/workflows", json={"name": "pages", "user": "tester"}).json()["id"]
    for w in (other, wf, other):  # the two workflows' ids interleave in blocks
        jobs = [{"workflow_id": w, "name": f"j{i}", "command": "true"} for i in range(25)]
        client.post("/bulk_jobs", json={"jobs": jobs}).raise_for_status()
    made = [j["id"] for j in client.get("/jobs", params={"workflow_id": wf}).json()["items"]]
    assert len(made) == 25 and made == sorted(made)
    for limit in (1, 7, 25, 100):
        assert _pages(client, wf, limit, reverse=False) == made
        assert _pages(client, wf, limit, reverse=True) == made[::-1]
    both = client.get("/jobs", params={"workflow_id": other, "limit": 100}).json()["items"]
    assert len(both) == 50
    deep = client.get("/jobs", params={"workflow_id": wf, "offset": 24, "limit": 5}).json()
    assert [j["id"] for j in deep["items"]] == made[24:] and not deep["has_more"]
    beyond = client.get("/jobs", params={"workflow_id": wf, "offset": 30}).json()
    assert beyond["items"] == [] and beyond["total_count"] == 25
    client.delete(f"/jobs/{made[10]}").raise_for_status()
    left = made[:10] + made[11:]
    for limit in (1, 7, 100):
        assert _pages(client, wf, limit, reverse=False) == left
        assert _pages(client, wf, limit, reverse=True) == left[::-1]
