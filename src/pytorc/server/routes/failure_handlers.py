"""/failure_handlers endpoints."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["failure_handlers"])
