"""/slurm_stats endpoints."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["slurm_stats"])
