"""Refuse request bodies over the size limit with a 413 before they are read into memory."""

from __future__ import annotations

import json
from typing import Any

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

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _TooLarge:
            await _reject(send, limit)


class _TooLarge(Exception):
    pass


async def _reject(send: Send, limit: int) -> None:
    body: Any = error_body(413, f"request body is larger than the limit of {limit} bytes")
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": payload})
