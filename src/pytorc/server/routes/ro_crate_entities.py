"""/ro_crate_entities endpoints."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["ro_crate_entities"])
