"""/workflows/{id}/remote_workers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body
from pydantic import Field

from pytorc.models import Name, RemoteWorkerModel
from pytorc.server.db import remote_workers
from pytorc.server.db.common import require
from pytorc.server.routes.common import Db, Json, ok

router = APIRouter(tags=["remote_workers"])

Workers = Annotated[list[Name], Field(max_length=100_000), Body()]


@router.post("/workflows/{id}/remote_workers", response_model=list[RemoteWorkerModel])
def create_remote_workers(id: int, body: Workers, db: Db) -> Json:
    with db.transaction() as conn:
        require(conn, "workflow", id)
        return ok(remote_workers.add(conn, id, body))


@router.get("/workflows/{id}/remote_workers", response_model=list[RemoteWorkerModel])
def list_remote_workers(id: int, db: Db) -> Json:
    with db.reader() as conn:
        require(conn, "workflow", id)
        return ok(remote_workers.list_all(conn, id))


@router.delete("/workflows/{id}/remote_workers/{worker:path}", response_model=RemoteWorkerModel)
def delete_remote_worker(id: int, worker: str, db: Db) -> Json:
    with db.transaction() as conn:
        require(conn, "workflow", id)
        return ok(remote_workers.delete(conn, id, worker))
