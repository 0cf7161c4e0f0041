"""/user_data endpoints."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["user_data"])
