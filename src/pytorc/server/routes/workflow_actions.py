"""/workflows/{id}/actions: create, list, pending, claim."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from pytorc.models import ClaimActionRequest, ClaimActionResponse, WorkflowActionModel
from pytorc.server.db import workflow_actions as actions
from pytorc.server.db.common import require
from pytorc.server.routes.common import Db, Json, ok

router = APIRouter(tags=["workflow_actions"])


@router.post("/workflows/{id}/actions", response_model=WorkflowActionModel)
def create_workflow_action(id: int, body: WorkflowActionModel, db: Db) -> Json:
    with db.transaction() as conn:
        return ok(actions.create(conn, id, body))


@router.get("/workflows/{id}/actions", response_model=list[WorkflowActionModel])
def get_workflow_actions(id: int, db: Db) -> Json:
    with db.reader() as conn:
        require(conn, "workflow", id)
        return ok(actions.list_all(conn, id))


@router.get("/workflows/{id}/actions/pending", response_model=list[WorkflowActionModel])
def get_pending_actions(
    id: int, db: Db, trigger_type: Annotated[list[str] | None, Query()] = None
) -> Json:
    """Pending actions, optionally of the given trigger types (repeat the parameter)."""
    with db.snapshot_reader() as conn:
        found, changed = actions.pending(conn, id, trigger_type)
    if changed:
        with db.transaction() as conn:
            actions.store_counts(conn, changed)
    return ok(found)


@router.post("/workflows/{id}/actions/{action_id}/claim", response_model=ClaimActionResponse)
def claim_action(id: int, action_id: int, body: ClaimActionRequest, db: Db) -> Json:
    with db.transaction() as conn:  # BEGIN IMMEDIATE: two runners never both claim one action
        return ok(actions.claim(conn, id, action_id, body.compute_node_id))
