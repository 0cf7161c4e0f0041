"""/workflow_actions endpoints."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["workflow_actions"])
