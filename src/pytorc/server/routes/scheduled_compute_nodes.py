"""/scheduled_compute_nodes endpoints."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["scheduled_compute_nodes"])
