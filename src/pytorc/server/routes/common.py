"""What every router shares: the database dependency and the fast JSON answer."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response

from pytorc.server.db.connection import Database


async def get_db(request: Request) -> Database:
    return request.app.state.db  # type: ignore[no-any-return]


Db = Annotated[Database, Depends(get_db)]


class Json(Response):
    """A JSON answer built from plain dicts; skips re-validating what the DB layer produced."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return json.dumps(content, separators=(",", ":"), ensure_ascii=False).encode()


def ok(content: Any) -> Json:
    return Json(content)
