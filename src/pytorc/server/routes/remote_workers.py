"""/remote_workers endpoints."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["remote_workers"])
