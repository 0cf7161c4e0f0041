"""Keep web pages from driving the API through a visitor's browser (cross-site request forgery).

A page can make a browser send a "simple" request to any address without asking it first: a
POST with a text/plain, form or multipart body, or with no body at all. Such a request to a
server on the visitor's machine or cluster could create and run jobs. Browsers mark every
cross-origin request with Origin (and Sec-Fetch-Site); torc's own clients send neither. So a
state-changing request is refused when it comes from another origin, and any body that is not
JSON is refused whatever its origin. No CORS headers are ever sent, so a page cannot read
answers either.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

from pytorc.server.errors_http import error_body

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
JSON_TYPES = (b"application/json",)


class BrowserGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        content_type = headers.get(b"content-type")
        if content_type is not None and not _is_json(content_type):
            await _refuse(send, 415, "request bodies must be JSON (Content-Type: application/json)")
            return
        if _cross_site(headers):
            await _refuse(send, 403, "cross-origin requests may not change anything here")
            return
        await self.app(scope, receive, send)


def _is_json(content_type: bytes) -> bool:
    return content_type.split(b";")[0].strip().lower() in JSON_TYPES


def _cross_site(headers: dict[bytes, bytes]) -> bool:
    """Whether a browser sent this from a page of another origin."""
    if headers.get(b"sec-fetch-site", b"").lower() in (b"cross-site", b"same-site"):
        return True
    origin = headers.get(b"origin")
    if origin is None:
        return False
    host = headers.get(b"host", b"")
    return origin.split(b"://", 1)[-1].rstrip(b"/").lower() != host.lower()


async def _refuse(send: Send, status: int, message: str) -> None:
    body = json.dumps(error_body(status, message)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
