"""The exchange fast path (server/fast_path.py) bypasses nothing the app adds, and refuses bad
numbers with a 4xx like the application does.

The first tests serve the app in-process, since they add a middleware or a route dependency to
it as later code (authentication, access control) would; the last ones use the real server.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from helpers import ServerProcess
from pytorc.config import ServerSettings
from pytorc.server import app as app_module
from pytorc.server.app import BASE_PATH, create_app
from pytorc.server.db.connection import Database
from pytorc.server.fast_path import ExchangeFastPath
from pytorc.server.routes import workflow_jobs

TOKEN = (b"x-token", b"let-me-in")


class Gate:
    """A stand-in for authentication added after create_app: without the token, a 401."""

    def __init__(self, app: ASGIApp, seen: list[str]) -> None:
        self.app = app
        self.seen = seen

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.seen.append(scope["path"])
            if TOKEN not in scope["headers"]:
                await JSONResponse({"detail": "no token"}, status_code=401)(scope, receive, send)
                return
        await self.app(scope, receive, send)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(str(tmp_path / "torc.db"))
    yield database
    database.close()


@pytest.fixture
def answered(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every answer the fast path gave itself (so a test knows it did not fall back)."""
    answers: list[bytes] = []
    original = ExchangeFastPath._answer

    async def spy(self: ExchangeFastPath, workflow_id: int, body: bytes) -> bytes | None:
        answer = await original(self, workflow_id, body)
        if answer is not None:
            answers.append(answer)
        return answer

    monkeypatch.setattr(ExchangeFastPath, "_answer", spy)
    return answers


def serve(app: FastAPI, test: Callable[[httpx.AsyncClient], Awaitable[None]]) -> None:
    async def main() -> None:
        transport = httpx.ASGITransport(app=app)
        base = f"http://test{BASE_PATH}"
        async with httpx.AsyncClient(transport=transport, base_url=base, timeout=30) as c:
            await test(c)

    asyncio.run(main())


async def ready_job(c: httpx.AsyncClient, headers: dict[str, str]) -> tuple[int, int, int]:
    """(workflow, compute node, job): one ready job of a fresh workflow in run 1."""
    wf = (await c.post("/workflows", json={"name": "fp", "user": "t"}, headers=headers)).json()
    node = {
        "workflow_id": wf["id"],
        "hostname": "h",
        "pid": 1,
        "start_time": "now",
        "num_cpus": 4,
        "memory_gb": 4.0,
        "num_gpus": 0,
        "num_nodes": 1,
        "compute_node_type": "local",
    }
    node_id = (await c.post("/compute_nodes", json=node, headers=headers)).json()["id"]
    job = {"workflow_id": wf["id"], "name": "only", "command": "true"}
    job_id = (await c.post("/jobs", json=job, headers=headers)).json()["id"]
    for step in ("reset_status", "initialize_jobs"):
        (await c.post(f"/workflows/{wf['id']}/{step}", headers=headers)).raise_for_status()
    return wf["id"], node_id, job_id


def claim(node: int) -> dict[str, Any]:
    return {"run_id": 1, "compute_node_id": node, "claim": {"limit": 1}}


def test_a_middleware_added_after_create_app_sees_every_exchange(
    db: Database, answered: list[bytes]
) -> None:
    seen: list[str] = []
    app = create_app(ServerSettings(warm_up=False), db)
    app.add_middleware(Gate, seen=seen)
    assert app.user_middleware[-1].cls is ExchangeFastPath  # innermost: run after all others
    ok = {TOKEN[0].decode(): TOKEN[1].decode()}

    async def test(c: httpx.AsyncClient) -> None:
        wf, node, job = await ready_job(c, ok)
        path = f"/workflows/{wf}/exchange_jobs"
        refused = await c.post(path, json=claim(node))
        assert refused.status_code == 401, refused.text
        assert answered == []  # the fast path never ran: the gate answered first
        assert (await c.get(f"/jobs/{job}", headers=ok)).json()["status"] == "ready"
        served = await c.post(path, json=claim(node), headers=ok)
        assert served.status_code == 200, served.text
        assert [j["id"] for j in served.json()["jobs"]] == [job]
        assert len(answered) == 1  # ... and this one the fast path answered, behind the gate
        assert seen.count(BASE_PATH + path) == 2

    serve(app, test)


def test_the_fast_path_stands_aside_for_a_dependency_added_to_the_exchange_route(
    db: Database, answered: list[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(request: Request) -> None:
        if request.url.path.endswith("/exchange_jobs"):
            raise HTTPException(403, "not yours")

    # What a router-level auth dependency looks like: the router included behind a check.
    guarded = APIRouter(dependencies=[Depends(refuse)])
    guarded.include_router(workflow_jobs.router)
    routers = [guarded if r is workflow_jobs.router else r for r in app_module.ROUTERS]
    monkeypatch.setattr(app_module, "ROUTERS", routers)
    app = create_app(ServerSettings(warm_up=False), db)

    async def test(c: httpx.AsyncClient) -> None:
        wf, node, job = await ready_job(c, {})
        refused = await c.post(f"/workflows/{wf}/exchange_jobs", json=claim(node))
        assert refused.status_code == 403, refused.text
        assert answered == []
        assert (await c.get(f"/jobs/{job}")).json()["status"] == "ready"

    serve(app, test)


def test_the_fast_path_answers_behind_the_body_limit(db: Database, answered: list[bytes]) -> None:
    app = create_app(ServerSettings(warm_up=False), db)

    async def test(c: httpx.AsyncClient) -> None:
        wf, node, _ = await ready_job(c, {})
        padding = [{"job_id": 1, "start_time": "x" * 1000}] * 3000  # ~3 MiB, over 2 MiB
        body = {**claim(node), "started": padding}
        refused = await c.post(f"/workflows/{wf}/exchange_jobs", json=body)
        assert refused.status_code == 413, refused.text[:300]
        assert answered == []
        served = await c.post(f"/workflows/{wf}/exchange_jobs", json=claim(node))
        assert served.status_code == 200 and len(answered) == 1

    serve(app, test)


@pytest.mark.parametrize(
    "workflow_id",
    ["9223372036854775808", "9" * 19, "9" * 40, "9" * 5000, "٣"],
    ids=["2**63", "19-nines", "40-digits", "5000-digits", "arabic-indic-digit"],
)
def test_an_exchange_for_an_impossible_workflow_id_is_a_4xx(
    server: ServerProcess, workflow_id: str
) -> None:
    body = {"run_id": 1, "compute_node_id": 1, "claim": {"limit": 1}}
    with httpx.Client(base_url=server.url, timeout=30) as c:
        response = c.post(f"/workflows/{workflow_id}/exchange_jobs", json=body)
    assert 400 <= response.status_code < 500, response.text[:300]


@pytest.mark.parametrize(
    "body",
    [
        {"run_id": 2**64, "compute_node_id": 1},
        {"run_id": 1, "compute_node_id": -(2**63) - 1},
        {"run_id": 1, "compute_node_id": 1, "started": [{"job_id": 2**70, "start_time": "t"}]},
        {"run_id": 1, "compute_node_id": 1, "release": [10**30]},
        {"run_id": 1, "compute_node_id": 1, "claim": {"limit": 10**20}},
        {"run_id": 1e308, "compute_node_id": 1},
    ],
)
def test_an_exchange_with_numbers_out_of_range_is_a_422(
    server: ServerProcess, body: dict[str, Any]
) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as c:
        wf = c.post("/workflows", json={"name": "fp-range", "user": "t"}).json()["id"]
        response = c.post(f"/workflows/{wf}/exchange_jobs", json=body)
    assert response.status_code == 422, response.text[:300]
