"""Refuse request bodies over the size limit with a 413 before they are read into memory."""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pytorc.server.errors_http import error_body

DEFAULT_LIMIT = 2 * 1024 * 1024
BULK_SUFFIXES = ("/bulk_jobs", "/bulk_files", "/bulk_user_data", "/batch_complete_jobs")


class BodyLimit:
    """2 MiB for ordinary routes; `bulk_limit` for bulk creation and batch completion."""

    def __init__(self, app: ASGIApp, bulk_limit: int) -> None:
        self.app = app
        self.bulk_limit = bulk_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        limit = self.bulk_limit if path.endswith(BULK_SUFFIXES) else DEFAULT_LIMIT
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await _reject(send, limit)
                return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            # A body without Content-Length (chunked) is counted as it arrives.
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # An HTTPException, so FastAPI's body parsing passes it on (it turns any
                    # other exception into a 400) and the app's handler renders the 413.
                    raise BodyTooLarge(limit)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except BodyTooLarge:
            if started:
                raise
            await _reject(send, limit)


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, _message(limit))


def _message(limit: int) -> str:
    return f"request body is larger than the limit of {limit} bytes"


async def _reject(send: Send, limit: int) -> None:
    payload = json.dumps(error_body(413, _message(limit))).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
