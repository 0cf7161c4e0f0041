"""Liveness and version."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from pytorc import API_VERSION, __version__
from pytorc.models import PingResponse, VersionResponse
from pytorc.server.routes.common import Json, ok

router = APIRouter(tags=["system"])


@router.get("/ping", response_model=PingResponse)
async def ping() -> Json:
    return ok({"status": "ok"})


@router.get("/version", response_model=VersionResponse)
async def get_version() -> Json:
    return ok({"version": __version__, "api_version": API_VERSION, "git_hash": None})


@router.post("/admin/reload-auth", response_model=dict[str, Any])
def reload_auth(request: Request) -> Response:
    """Reread the auth file (users added or removed take effect, cached credentials are
    dropped); 400 when the server has no auth file, 500 naming the problem when the file
    cannot be used (the users read before stay in force)."""
    from pytorc.server.auth import AuthFileError
    from pytorc.server.errors_http import error_response

    credentials = request.app.state.credentials
    if credentials is None:
        return error_response(400, "authentication is not configured (no --auth-file)")
    try:
        count = credentials.reload()
    except AuthFileError as exc:
        return error_response(500, f"auth file not reloaded: {exc}")
    return ok({"message": "authentication file reloaded", "user_count": count})
