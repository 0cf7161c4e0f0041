"""Request bodies are size-limited: 2 MiB for ordinary routes, TORC_MAX_REQUEST_BODY_MB for bulk."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from helpers import ServerProcess, start_server, wait_until
from pytorc.models import ErrorResponse

MIB = 1024 * 1024


def assert_413(response: httpx.Response) -> None:
    assert response.status_code == 413, response.text[:300]
    body = ErrorResponse.model_validate(response.json())
    assert body.errorNum == 413
    assert body.errorMessage and "larger than the limit" in body.errorMessage


def workflow_body(size: int) -> bytes:
    """A valid create-workflow body of about `size` bytes."""
    return json.dumps({"name": "big", "user": "tester", "description": "x" * size}).encode()


def bulk_jobs_body(workflow_id: int, size: int) -> bytes:
    """A valid /bulk_jobs body of at least `size` bytes (jobs with long commands)."""
    command = "echo " + "y" * 1000
    count = size // (len(command) + 60) + 1
    jobs = [{"workflow_id": workflow_id, "name": f"j{i}", "command": command} for i in range(count)]
    return json.dumps({"jobs": jobs}).encode()


def new_workflow(url: str) -> int:
    return int(httpx.post(f"{url}/workflows", json={"name": "limits", "user": "t"}).json()["id"])


def post(url: str, content: bytes | Iterator[bytes]) -> httpx.Response:
    return httpx.post(
        url, content=content, headers={"content-type": "application/json"}, timeout=60
    )


def test_body_over_2_mib_to_an_ordinary_route_is_413(server: ServerProcess) -> None:
    assert_413(post(f"{server.url}/workflows", workflow_body(2 * MIB + 1)))


def test_chunked_body_over_2_mib_is_413_too(server: ServerProcess) -> None:
    body = workflow_body(3 * MIB)
    chunks = (body[i : i + 64 * 1024] for i in range(0, len(body), 64 * 1024))
    assert_413(post(f"{server.url}/workflows", chunks))


def test_body_under_2_mib_passes_the_size_limit(server: ServerProcess) -> None:
    # The app may still refuse a field this long (422); the size limit must not (413).
    response = post(f"{server.url}/workflows", workflow_body(MIB + MIB // 2))
    assert response.status_code != 413, response.text[:300]
    assert response.json()


def test_server_keeps_serving_after_refusing_a_body(server: ServerProcess) -> None:
    with httpx.Client(timeout=60) as http:
        refused = http.post(
            f"{server.url}/workflows",
            content=workflow_body(3 * MIB),
            headers={"content-type": "application/json"},
        )
        assert refused.status_code == 413
        assert http.get(f"{server.url}/ping").status_code == 200


@pytest.fixture(scope="module")
def small_bulk_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with start_server(
        tmp_path_factory.mktemp("bulk1"), env={"TORC_MAX_REQUEST_BODY_MB": "1"}
    ) as srv:
        yield srv


def test_bulk_jobs_limit_follows_torc_max_request_body_mb(
    small_bulk_server: ServerProcess,
) -> None:
    url = small_bulk_server.url
    wf = new_workflow(url)
    assert_413(post(f"{url}/bulk_jobs", bulk_jobs_body(wf, MIB + MIB // 2)))
    accepted = post(f"{url}/bulk_jobs", bulk_jobs_body(wf, MIB // 2))
    assert accepted.status_code == 200, accepted.text[:300]


def test_bulk_jobs_may_exceed_2_mib_when_the_limit_allows(server: ServerProcess) -> None:
    wf = new_workflow(server.url)
    body = bulk_jobs_body(wf, 3 * MIB)
    response = post(f"{server.url}/bulk_jobs", body)
    assert response.status_code == 200, response.text[:300]
    assert len(response.json()["jobs"]) == len(json.loads(body)["jobs"])


def test_limit_that_is_not_a_number_stops_startup(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="TORC_MAX_REQUEST_BODY_MB"):
        start_server(tmp_path, env={"TORC_MAX_REQUEST_BODY_MB": "lots"})


def test_a_saturated_server_answers_503_with_retry_after_and_the_client_waits_it_out(
    tmp_path: Path,
) -> None:
    """One request held in flight (headers sent, body withheld) fills a server that takes one
    at a time: the next gets 503 with Retry-After at once; pytorc's client retries it after the
    advertised second and succeeds once the first request is done."""
    import socket
    import threading
    import time

    from pytorc.client.api import TorcClient

    with start_server(tmp_path / "srv", "--max-in-flight-requests", "1") as server:
        held = socket.create_connection(("127.0.0.1", server.port))
        held.sendall(
            b"POST /torc-service/v1/workflows HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: 40\r\n\r\n"
        )
        try:

            def busy() -> bool:
                return httpx.get(f"{server.url}/ping").status_code == 503

            wait_until(busy, timeout=10, what="the held request to fill the server")
            answer = httpx.get(f"{server.url}/ping")
            assert answer.headers["retry-after"] == "1"
            assert "server busy" in answer.json()["errorMessage"]
            release = threading.Timer(0.3, held.close)  # the held request ends (client gone)
            release.start()
            client = TorcClient(server.url, retry_seconds=30)
            asked = time.monotonic()
            assert client.ping()["status"] == "ok"
            assert time.monotonic() - asked >= 1.0  # it waited the Retry-After before retrying
            client.close()
            release.join()
        finally:
            held.close()
