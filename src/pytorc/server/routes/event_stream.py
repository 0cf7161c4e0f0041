"""GET /workflows/{id}/events/stream: a workflow's events as Server-Sent Events, live.

Torc's route, kept out of the OpenAPI schema as Torc keeps it. Unlike Torc's ephemeral
broadcast, the stream reads the stored events, so a client that reconnects with `Last-Event-ID`
(or `since_id`) misses nothing. It looks for new events every POLL_SECONDS with one indexed read,
and sends a comment line when nothing happened for KEEPALIVE_SECONDS so that proxies keep the
connection open. It ends when the client goes or the server stops.
"""

from __future__ import annotations

import asyncio
import functools
import json
import sqlite3
import time
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from pytorc.errors import InvalidInput
from pytorc.server.db import events
from pytorc.server.db.common import Row, require
from pytorc.server.routes.common import Db

router = APIRouter(tags=["events"])

POLL_SECONDS = 0.2
KEEPALIVE_SECONDS = 15.0
BATCH = 500


@router.get("/workflows/{id}/events/stream", include_in_schema=False)
async def stream_events(
    id: int, request: Request, db: Db, level: str = "info", since_id: int | None = None
) -> StreamingResponse:
    """Events of workflow `id` at `level` or above, from after `since_id` (or the
    Last-Event-ID header); without either, from now on."""
    if level not in events.LEVELS:
        raise InvalidInput(f"level {level!r}: use one of {', '.join(events.LEVELS)}")
    header = request.headers.get("last-event-id", "")
    if since_id is None and header.isdigit():
        since_id = int(header)

    def start(conn: sqlite3.Connection) -> int:
        require(conn, "workflow", id)
        if since_id is not None:
            return since_id
        latest = events.latest(conn, id)
        return 0 if latest is None else int(latest["id"])

    last = await db.read(start)  # a missing workflow is a 404 before any byte is streamed
    minimum = events.LEVELS.index(level)
    should_stop = getattr(request.app.state, "should_stop", lambda: False)

    async def frames() -> AsyncIterator[bytes]:
        nonlocal last
        quiet_since = time.monotonic()
        yield b": connected\n\n"
        while not should_stop() and not await request.is_disconnected():
            rows = await db.read(functools.partial(_newer, workflow_id=id, last_id=last))
            for row in rows:
                last = row["id"]
                event = events.to_dict(row)
                severity = events.severity(event["data"])
                if events.LEVELS.index(severity) >= minimum:
                    yield _frame(event, severity)
                    quiet_since = time.monotonic()
            if len(rows) == BATCH:
                continue
            if time.monotonic() - quiet_since >= KEEPALIVE_SECONDS:
                yield b": keep-alive\n\n"
                quiet_since = time.monotonic()
            await asyncio.sleep(POLL_SECONDS)

    return StreamingResponse(
        frames(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _newer(conn: sqlite3.Connection, workflow_id: int, last_id: int) -> list[Row]:
    return events.after_id(conn, workflow_id, last_id, BATCH)


def _frame(event: dict[str, object], severity: str) -> bytes:
    data = event["data"]
    category = data.get("category") if isinstance(data, dict) else None
    kind = str(category or "event").replace("\n", " ")
    body = {
        "id": event["id"],
        "workflow_id": event["workflow_id"],
        "timestamp": event["timestamp"],
        "event_type": kind,
        "severity": severity,
        "data": data,
    }
    return f"id: {event['id']}\nevent: {kind}\ndata: {json.dumps(body)}\n\n".encode()
