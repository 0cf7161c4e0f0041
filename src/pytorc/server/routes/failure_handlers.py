"""/failure_handlers and /workflows/{id}/failure_handlers."""

from __future__ import annotations

from fastapi import APIRouter

from pytorc.models import FailureHandlerModel, Page
from pytorc.server.db import failure_handlers
from pytorc.server.db.common import require
from pytorc.server.routes.common import Db, Json, ok

router = APIRouter(tags=["failure_handlers"])


@router.post("/failure_handlers", response_model=FailureHandlerModel)
def create_failure_handler(body: FailureHandlerModel, db: Db) -> Json:
    with db.transaction() as conn:
        return ok(failure_handlers.create(conn, body))


@router.get("/failure_handlers/{id}", response_model=FailureHandlerModel)
def get_failure_handler(id: int, db: Db) -> Json:
    with db.reader() as conn:
        return ok(failure_handlers.get(conn, id))


@router.delete("/failure_handlers/{id}", response_model=FailureHandlerModel)
def delete_failure_handler(id: int, db: Db) -> Json:
    with db.transaction() as conn:
        return ok(failure_handlers.delete(conn, id))


@router.get("/workflows/{id}/failure_handlers", response_model=Page[FailureHandlerModel])
def list_failure_handlers(id: int, db: Db, offset: int = 0, limit: int | None = None) -> Json:
    with db.snapshot_reader() as conn:
        require(conn, "workflow", id)
        return ok(failure_handlers.list_page(conn, id, offset=offset, limit=limit))
