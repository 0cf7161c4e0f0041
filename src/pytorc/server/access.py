"""Access control (--enforce-access-control): a workflow, and every record that belongs to it,
is visible and changeable only by its owner, members of the access groups it is shared with,
and admins (--admin-user). Lists of workflows show only those (with counts to match).

An ASGI middleware just inside authentication: it finds the workflow a request touches (in the
path, the workflow_id query parameter, or the workflow_id of a JSON body) and answers 403 when
the user may not touch it. Managing access groups and reloading the auth file is for admins.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pytorc.server.db import access_control as acl
from pytorc.server.db.connection import Database
from pytorc.server.errors_http import error_body

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_WORKFLOW_PATH = re.compile(r"/(?:workflows|access_check)/(\d+)(?:/|$)")
_RECORD_PATH = re.compile(r"/([a-z_]+)/(\d+)(?:/|$)")
_QUERY_ID = re.compile(rb"(?:^|&)workflow_id=(\d+)(?:&|$)")


class AccessControl:
    def __init__(self, app: ASGIApp, db: Database, base_path: str, admins: Collection[str]) -> None:
        self.app, self.db, self.base, self.admins = app, db, base_path, frozenset(admins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        user = scope.get("state", {}).get("user")
        if user in self.admins:
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})["restrict_to"] = user
        path = scope["path"].removeprefix(self.base)
        refusal = self._admin_only(scope["method"], path, user)
        body: bytes | None = None
        data: Any = None  # the body as JSON, parsed once (a bulk body can be large)
        if refusal is None and scope["method"] not in SAFE_METHODS:
            body = await _read_body(receive)
            data = _json(body)
            refusal = self._owner_only(path, data, user)
        if refusal is None:
            ids = self._workflow_ids(path, scope.get("query_string", b""), data)
            refusal = await self._check(ids, user)
        if refusal is not None:
            await _forbid(send, refusal)
            return
        await self.app(scope, _replay(body, receive) if body is not None else receive, send)

    def _admin_only(self, method: str, path: str, user: str | None) -> str | None:
        if path.startswith("/admin/") or (
            path.startswith("/access_groups") and method not in SAFE_METHODS
        ):
            return "only an admin (--admin-user) may do this"
        mine = re.fullmatch(r"/users/([^/]+)/groups", path)
        if mine and mine[1] != user:
            return "only an admin may list another user's groups"
        return None

    def _owner_only(self, path: str, data: Any, user: str | None) -> str | None:
        """A workflow is created for the user who creates it."""
        if path != "/workflows":
            return None
        owner = data.get("user") if isinstance(data, dict) else None
        if owner is not None and owner != user:
            return f"a workflow you create is yours: its user must be {user!r}"
        return None

    def _workflow_ids(self, path: str, query: bytes, data: Any) -> dict[str, Any]:
        found: dict[str, Any] = {}
        if match := _WORKFLOW_PATH.match(path):
            found["workflow"] = int(match[1])
        elif (match := _RECORD_PATH.match(path)) and match[1] in acl.OWNED_BY_WORKFLOW:
            found["record"] = (match[1], int(match[2]))
        if in_query := _QUERY_ID.search(query):
            found["query"] = int(in_query[1])
        if data is not None:
            found["body"] = _body_workflow_ids(data)
        return found

    async def _check(self, ids: dict[str, Any], user: str | None) -> str | None:
        if not ids:
            return None

        def check(conn: Any) -> str | None:
            wanted = set(ids.get("body", ()))
            for key in ("workflow", "query"):
                if key in ids:
                    wanted.add(ids[key])
            if "record" in ids:
                owner = acl.workflow_of(conn, *ids["record"])
                if owner is not None:
                    wanted.add(owner)
            for workflow_id in sorted(wanted):
                if acl.may_access(conn, workflow_id, user or "") is False:
                    return f"user {user!r} may not access workflow {workflow_id}"
            return None

        return await self.db.read(check)


def _json(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None  # the route answers the malformed body


def _body_workflow_ids(data: Any) -> list[int]:
    """workflow_id at the top of a body, or in the records of a top-level list (bulk bodies)."""
    found: list[int] = []
    if isinstance(data, dict):
        if isinstance(data.get("workflow_id"), int):
            found.append(data["workflow_id"])
        for value in data.values():
            if isinstance(value, list):
                found += [
                    v["workflow_id"]
                    for v in value
                    if isinstance(v, dict) and isinstance(v.get("workflow_id"), int)
                ]
    return found


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _forbid(send: Send, message: str) -> None:
    body = json.dumps(error_body(403, message)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 403, "headers": headers})
    await send({"type": "http.response.body", "body": body})
