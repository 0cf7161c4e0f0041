"""/tasks/{id} and /workflows/{id}/active_task."""

from __future__ import annotations

from fastapi import APIRouter

from pytorc.models import ActiveTaskResponse, TaskModel
from pytorc.server.db import tasks
from pytorc.server.db.common import require
from pytorc.server.routes.common import Db, Json, ok

router = APIRouter(tags=["tasks"])


@router.get("/tasks/{id}", response_model=TaskModel)
def get_task(id: int, db: Db) -> Json:
    with db.reader() as conn:
        return ok(tasks.get(conn, id))


@router.get("/workflows/{id}/active_task", response_model=ActiveTaskResponse)
def get_active_task_for_workflow(id: int, db: Db) -> Json:
    with db.reader() as conn:
        require(conn, "workflow", id)
        return ok({"task": tasks.active(conn, id)})
