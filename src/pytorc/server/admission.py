"""Load shedding: a server with too many requests in flight answers 503 at once.

Past `limit` requests being handled together, a new one gets `503` with `Retry-After` (and the
usual ErrorResponse body) before anything else is done for it, instead of queueing until its
client times out; pytorc's client retries 503s after the advertised wait plus full jitter
(client/api.py). Live event streams never end on their own, so they are not counted.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

from pytorc.server.errors_http import error_body

RETRY_AFTER_SECONDS = 1
UNCOUNTED_SUFFIX = "/events/stream"


class Admission:
    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.in_flight = 0  # touched only on the event loop: no lock needed
        self.shed = 0  # requests answered 503, for the log and tests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].endswith(UNCOUNTED_SUFFIX):
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            self.shed += 1
            await _busy(send, self.limit)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


async def _busy(send: Send, limit: int) -> None:
    message = (
        f"server busy: {limit} requests in flight (max_in_flight_requests); retry after"
        f" {RETRY_AFTER_SECONDS} s"
    )
    payload = json.dumps(error_body(503, message)).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
