"""/compute_nodes endpoints."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["compute_nodes"])
