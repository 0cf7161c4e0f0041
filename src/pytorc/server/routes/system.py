"""Liveness and version."""

from __future__ import annotations

from fastapi import APIRouter

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
