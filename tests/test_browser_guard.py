"""A web page cannot drive the API through a visitor's browser: the "simple" requests a page may
send without asking (text/plain, form and multipart bodies, bodiless POSTs from another origin)
are refused and change nothing, and no CORS header lets a page read an answer."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from helpers import ServerProcess

EVIL = "http://evil.example"


def _job(workflow: Any) -> str:
    return json.dumps({"jobs": [{"workflow_id": workflow.id, "name": "pwn", "command": "id"}]})


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"],
)
def test_a_body_that_is_not_json_is_refused_and_creates_nothing(
    server: ServerProcess, workflow: Any, content_type: str
) -> None:
    answer = httpx.post(
        f"{server.url}/bulk_jobs",
        content=_job(workflow),
        headers={"content-type": content_type},
        timeout=10,
    )
    assert answer.status_code == 415 and "JSON" in answer.json()["errorMessage"]
    jobs = httpx.get(f"{server.url}/jobs", params={"workflow_id": workflow.id}, timeout=10)
    assert jobs.json()["total_count"] == 0


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": EVIL},
        {"sec-fetch-site": "cross-site"},
        {"origin": EVIL, "content-type": "application/json"},
    ],
    ids=["origin", "sec-fetch-site", "origin-with-json"],
)
def test_a_cross_origin_request_changes_nothing(
    server: ServerProcess, workflow: Any, headers: dict[str, str]
) -> None:
    init = httpx.post(
        f"{server.url}/workflows/{workflow.id}/initialize_jobs", headers=headers, timeout=10
    )
    assert init.status_code == 403
    created = httpx.post(
        f"{server.url}/bulk_jobs",
        content=_job(workflow),
        headers={**headers, "content-type": "application/json"},
        timeout=10,
    )
    assert created.status_code == 403
    state = httpx.get(f"{server.url}/workflows/{workflow.id}/is_uninitialized", timeout=10)
    assert state.json()["is_uninitialized"] is True
    jobs = httpx.get(f"{server.url}/jobs", params={"workflow_id": workflow.id}, timeout=10)
    assert jobs.json()["total_count"] == 0


def test_same_origin_and_plain_clients_are_served_and_no_cors_headers_are_sent(
    server: ServerProcess, workflow: Any
) -> None:
    host = server.url.split("/")[2]
    same = httpx.post(
        f"{server.url}/bulk_jobs",
        content=_job(workflow),
        headers={"content-type": "application/json", "origin": f"http://{host}"},
        timeout=10,
    )
    assert same.status_code == 200
    read = httpx.get(f"{server.url}/workflows/{workflow.id}", headers={"origin": EVIL}, timeout=10)
    assert read.status_code == 200
    assert not any(k.lower().startswith("access-control-") for k in read.headers)
    preflight = httpx.options(
        f"{server.url}/bulk_jobs",
        timeout=10,
        headers={"origin": EVIL, "access-control-request-method": "POST"},
    )
    assert not any(k.lower().startswith("access-control-") for k in preflight.headers)
