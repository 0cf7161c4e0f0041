"""The runner's round trip served beside FastAPI rather than through it.

POST /workflows/{id}/exchange_jobs is the one request a runner makes per batch of jobs, so its
cost is paid once per job batch, and in a chain of jobs once per job. FastAPI's middleware,
routing and dependency layers cost the server about 0.5 ms of CPU per request before the route
runs. This ASGI wrapper answers that route itself when the request is well formed and succeeds;
anything else (a bad body, a refused exchange, a body over the size limit) is handed, unread
bytes and all, to the full application, which gives the same answer and error it always does.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from pydantic import ValidationError
from pydantic_core import to_json
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pytorc.errors import TorcError
from pytorc.models import ExchangeJobsRequest
from pytorc.server.body_limit import DEFAULT_LIMIT
from pytorc.server.db.connection import Database
from pytorc.server.services import exchange


class ExchangeFastPath:
    def __init__(self, app: ASGIApp, db: Database, base_path: str) -> None:
        self.app = app
        self.db = db
        self.route = re.compile(rf"{re.escape(base_path)}/workflows/(\d+)/exchange_jobs")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = None
        if scope["type"] == "http" and scope["method"] == "POST":
            match = self.route.fullmatch(scope["path"])
        if match is None or _declared_length(scope) > DEFAULT_LIMIT:
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
        """The encoded answer, or None when the full application should answer instead."""
        try:
            request = ExchangeJobsRequest.model_validate_json(body)
            write = self.db.write_long if exchange.is_large(request) else self.db.write
            answer = await write(lambda conn: exchange.exchange(conn, workflow_id, request))
        except (ValidationError, TorcError):
            return None  # rolled back; the application repeats it and renders the error
        return to_json(answer)


def _declared_length(scope: Scope) -> int:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else 0
    return 0


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
