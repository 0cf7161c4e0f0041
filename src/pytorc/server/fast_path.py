"""The runner's round trip served beside FastAPI's routing rather than through it.

POST /workflows/{id}/exchange_jobs is the one request a runner makes per batch of jobs, so its
cost is paid once per job batch, and in a chain of jobs once per job. FastAPI's routing and
dependency layers cost the server about 0.5 ms of CPU per request before the route runs. This
ASGI middleware answers that route itself when the request is well formed and succeeds;
anything else (a bad body, a refused exchange, a number out of range) is handed, unread bytes
and all, to the application, which gives the same answer and error it always does.

It bypasses nothing the app adds: create_app installs it as the innermost middleware (Starlette
puts each later `add_middleware` outside it), so body limits, authentication or access control
added as middleware see every request first. A check the app adds as a route dependency is
one it cannot see, so it stands aside (answers nothing) when the exchange route has any
dependency besides the database; tests/test_fast_path.py holds both promises.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Awaitable, Callable

import fastapi.routing
from fastapi import FastAPI
from pydantic import ValidationError
from pydantic_core import to_json
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pytorc.errors import TorcError
from pytorc.models import ExchangeJobsRequest
from pytorc.server.body_limit import DEFAULT_LIMIT
from pytorc.server.db.connection import Database
from pytorc.server.routes.common import get_db
from pytorc.server.services import exchange

EXCHANGE_PATH = "/workflows/{id}/exchange_jobs"
# What the application answers with a 4xx (errors_http): leave those requests to it.
_APP_ANSWERS = (ValidationError, TorcError, OverflowError, sqlite3.IntegrityError)


class ExchangeFastPath:
    def __init__(self, app: ASGIApp, db: Database, base_path: str, api: FastAPI) -> None:
        self.app = app
        self.db = db
        # An id of more than 19 digits is out of SQLite's range: the application refuses it.
        self.route = re.compile(rf"{re.escape(base_path)}/workflows/([0-9]{{1,19}})/exchange_jobs")
        # Starlette builds middleware at the app's first ASGI call: every route is in place.
        self.enabled = _only_needs_the_database(api, base_path + EXCHANGE_PATH)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = None
        if self.enabled and scope["type"] == "http" and scope["method"] == "POST":
            match = self.route.fullmatch(scope["path"])
        if match is None:
            await self.app(scope, receive, send)
            return
        body, complete = await _read_body(receive, DEFAULT_LIMIT)
        answer = await self._answer(int(match[1]), body) if complete else None
        if answer is None:
            await self.app(scope, _replay(body, complete, receive), send)
            return
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(answer)).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": answer})

    async def _answer(self, workflow_id: int, body: bytes) -> bytes | None:
        """The encoded answer, or None when the application should answer instead."""
        try:
            request = ExchangeJobsRequest.model_validate_json(body)
            write = self.db.write_long if exchange.is_large(request) else self.db.write
            answer = await write(lambda conn: exchange.exchange(conn, workflow_id, request))
        except _APP_ANSWERS:
            return None  # rolled back; the application repeats it and renders the error
        return to_json(answer)


def _only_needs_the_database(api: FastAPI, path: str) -> bool:
    """Whether the exchange route depends on nothing but the database (no added checks).

    Not found, or not understood, means no: the fast path then stands aside.
    """
    # Recent FastAPI includes routers lazily; iter_route_contexts lists the routes as served.
    listed = getattr(fastapi.routing, "iter_route_contexts", None)
    routes = listed(api.router.routes) if listed is not None else api.router.routes
    for route in routes:
        if getattr(route, "path", None) == path and "POST" in (getattr(route, "methods", ()) or ()):
            dependant = getattr(route, "dependant", None)
            calls = [d.call for d in getattr(dependant, "dependencies", [None])]
            return calls == [get_db]
    return False


async def _read_body(receive: Receive, limit: int) -> tuple[bytes, bool]:
    """The body, and False if it grew past `limit` (or the client left) before it ended."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), True
        if size > limit:
            return b"".join(chunks), False


def _replay(body: bytes, complete: bool, receive: Receive) -> Callable[[], Awaitable[Message]]:
    """A receive that first gives back what was read, then continues from the client."""
    pending = [{"type": "http.request", "body": body, "more_body": not complete}]

    async def replayed() -> Message:
        return pending.pop() if pending else await receive()

    return replayed
