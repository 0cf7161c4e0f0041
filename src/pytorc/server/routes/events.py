"""/events."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from pytorc.models import DeleteCountResponse, EventModel, Page
from pytorc.server.db import events
from pytorc.server.db.common import delete_where_workflow, require
from pytorc.server.routes.common import Db, Json, ok

router = APIRouter(tags=["events"])


@router.post("/events", response_model=EventModel)
def create_event(body: EventModel, db: Db) -> Json:
    with db.transaction() as conn:
        return ok(events.create(conn, body))


@router.get("/events", response_model=Page[EventModel])
def list_events(
    db: Db,
    workflow_id: int,
    offset: int = 0,
    limit: int | None = None,
    sort_by: str | None = None,
    reverse_sort: bool | None = None,
    category: str | None = None,
    after_timestamp: int | None = None,
) -> Json:
    with db.snapshot_reader() as conn:
        require(conn, "workflow", workflow_id)
        return ok(
            events.list_page(
                conn,
                workflow_id,
                category=category,
                after_timestamp=after_timestamp,
                offset=offset,
                limit=limit,
                sort_by=sort_by,
                reverse_sort=reverse_sort,
            )
        )


@router.delete("/events", response_model=DeleteCountResponse)
def delete_events(workflow_id: int, db: Db) -> Json:
    with db.transaction() as conn:
        require(conn, "workflow", workflow_id)
        return ok({"count": delete_where_workflow(conn, "event", workflow_id)})


@router.get("/events/{id}", response_model=EventModel)
def get_event(id: int, db: Db) -> Json:
    with db.reader() as conn:
        return ok(events.get(conn, id))


@router.put("/events/{id}", response_model=EventModel)
def update_event(id: int, db: Db, body: Annotated[Any, Body()] = None) -> Json:
    """The body is any JSON value; it becomes the event's data."""
    with db.transaction() as conn:
        return ok(events.update(conn, id, body))


@router.delete("/events/{id}", response_model=EventModel)
def delete_event(id: int, db: Db) -> Json:
    with db.transaction() as conn:
        return ok(events.delete(conn, id))
