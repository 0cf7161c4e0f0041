"""`torc events ...`: what happened in a workflow, newest last, and live as it happens."""

from __future__ import annotations

import json
import queue
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from pytorc.cli import output
from pytorc.cli.common import (
    CliState,
    Limit,
    Offset,
    ReverseSort,
    SortBy,
    WorkflowArg,
    group,
    paging,
    resolve_workflow_id,
    state,
)
from pytorc.errors import ApiError

app = group(
    "What happened in a workflow: failures, runners started, stopped or declared dead,"
    " requeues, retries, cancels, completion."
)

LEVELS = ("debug", "info", "warning", "error")
COLUMNS = ("id", "time", "severity", "category", "message")
RECONNECT_SECONDS = 1.0


def _readable(event: dict[str, Any]) -> dict[str, Any]:
    """An event as a table row: local time, and the data's usual fields pulled out."""
    data = event.get("data")
    fields = data if isinstance(data, dict) else {}
    stamp = datetime.fromtimestamp(event["timestamp"] / 1000).astimezone()
    return {
        "id": event["id"],
        "time": stamp.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
        "severity": fields.get("severity", "info"),
        "category": fields.get("category", ""),
        "message": fields.get("message", "" if fields else json.dumps(data)),
    }


@app.command("list")
def list_events(
    ctx: typer.Context,
    workflow_id: WorkflowArg = None,
    category: Annotated[
        str | None, typer.Option("-t", "--type", "--category", help="Only this category.")
    ] = None,
    limit: Limit = None,
    offset: Offset = 0,
    sort_by: SortBy = None,
    reverse_sort: ReverseSort = False,
) -> None:
    """List a workflow's events (-f json: as stored, timestamps in ms since the epoch).

    Example: torc events list 3 -t job_failed
    """
    st = state(ctx)
    wf_id = resolve_workflow_id(st, workflow_id)
    items = st.client.iter_pages(
        "/events",
        workflow_id=wf_id,
        category=category,
        **paging(limit, offset, sort_by, reverse_sort),
    )
    if st.format != "json":
        items = (_readable(e) for e in items)
    output.records(st.format, items, COLUMNS)


@app.command("create")
def create(
    ctx: typer.Context,
    workflow_id: WorkflowArg = None,
    data: Annotated[
        str, typer.Option("-d", "--data", help='The event as JSON, e.g. \'{"category": "note"}\'.')
    ] = "{}",
) -> None:
    """Add an event of your own to a workflow's record.

    Example: torc events create 3 -d '{"category": "note", "message": "inputs refreshed"}'
    """
    st = state(ctx)
    wf_id = resolve_workflow_id(st, workflow_id)
    try:
        body = json.loads(data)
    except ValueError as exc:
        raise typer.BadParameter(f"not JSON: {exc}", param_hint="--data") from None
    event = {"workflow_id": wf_id, "timestamp": int(time.time() * 1000), "data": body}
    output.record(st.format, st.client.post("/events", event))


@app.command("get-latest-event")
def get_latest_event(ctx: typer.Context, workflow_id: WorkflowArg = None) -> None:
    """Show a workflow's newest event.

    Example: torc events get-latest-event 3
    """
    st = state(ctx)
    wf_id = resolve_workflow_id(st, workflow_id)
    page = st.client.get("/events", workflow_id=wf_id, limit=1, reverse_sort=True)
    if not page["items"]:
        output.message(st.format, f"workflow {wf_id} has no events", None)
        return
    event = page["items"][0]
    output.record(st.format, event if st.format == "json" else _readable(event))


@app.command("delete")
def delete(ctx: typer.Context, event_id: Annotated[int, typer.Argument(help="Event id.")]) -> None:
    """Delete one event.

    Example: torc events delete 42
    """
    st = state(ctx)
    output.deleted(st.format, "event", [st.client.delete(f"/events/{event_id}")])


@app.command("monitor")
def monitor(
    ctx: typer.Context,
    workflow_id: WorkflowArg = None,
    duration: Annotated[
        float | None,
        typer.Option(
            "-d", "--duration", help="Stop after this many minutes (default: never).", min=0
        ),
    ] = None,
    level: Annotated[
        str, typer.Option("--level", help="Lowest severity shown: debug|info|warning|error.")
    ] = "info",
    filename: Annotated[
        Path | None,
        typer.Option("--filename", help="Also append each event to this file (JSON lines)."),
    ] = None,
) -> None:
    """Show a workflow's events as they happen (Ctrl-C to stop); reconnects if the server
    restarts, without losing events.

    Example: torc events monitor 3 --level warning -d 60
    """
    if level not in LEVELS:
        raise typer.BadParameter(f"use one of {', '.join(LEVELS)}", param_hint="--level")
    st = state(ctx)
    wf_id = resolve_workflow_id(st, workflow_id)
    events: queue.Queue[dict[str, Any] | str] = queue.Queue()
    reader = threading.Thread(
        target=_follow, args=(st, wf_id, level, events), name="torc-events", daemon=True
    )
    reader.start()
    deadline = None if duration is None else time.monotonic() + duration * 60
    sink = open(filename, "a") if filename else None  # noqa: SIM115 (closed below)
    try:
        while deadline is None or time.monotonic() < deadline:
            wait = 1.0 if deadline is None else max(0.0, min(1.0, deadline - time.monotonic()))
            try:
                item = events.get(timeout=wait)
            except queue.Empty:
                continue
            if isinstance(item, str):  # a fatal error from the reader
                raise ApiError(0, item)
            _show(st.format, item)
            if sink is not None:
                sink.write(json.dumps(item) + "\n")
                sink.flush()
    except KeyboardInterrupt:
        pass
    finally:
        if sink is not None:
            sink.close()


def _show(fmt: str, frame: dict[str, Any]) -> None:
    if fmt == "json":
        sys.stdout.write(json.dumps(frame) + "\n")
    else:
        row = _readable(frame)
        sys.stdout.write(
            f"{row['time']}  {row['severity']:<7}  {row['category']}: {row['message']}\n"
        )
    sys.stdout.flush()


def _follow(
    st: CliState, workflow_id: int, level: str, events: queue.Queue[dict[str, Any] | str]
) -> None:
    """Read the stream into `events`; reconnect from the last event seen when it breaks."""
    last: int | None = None
    broke_at: float | None = None
    connected = False
    while True:
        try:
            for frame in _frames(st, workflow_id, level, last):
                if not connected:
                    sys.stderr.write(
                        f"watching workflow {workflow_id}'s events at {level} or above;"
                        " Ctrl-C to stop\n"
                    )
                    connected = True
                if broke_at is not None:
                    sys.stderr.write("event stream reconnected\n")
                    broke_at = None
                if frame is None:
                    continue
                last = int(frame["id"])
                events.put(frame)
        except ApiError as exc:
            if exc.status:  # refused (404, 403, 422): reconnecting will not help
                events.put(str(exc))
                return
            if broke_at is None:
                broke_at = time.monotonic()
                sys.stderr.write(f"event stream lost ({exc}); reconnecting\n")
        time.sleep(RECONNECT_SECONDS)


def _frames(
    st: CliState, workflow_id: int, level: str, since_id: int | None
) -> Iterator[dict[str, Any] | None]:
    """Each event of the stream (None for a comment, so the caller sees the connection live)."""
    lines = st.client.stream_lines(
        f"/workflows/{workflow_id}/events/stream", level=level, since_id=since_id
    )
    data: list[str] = []
    for line in lines:
        if line.startswith(":"):
            yield None
        elif line.startswith("data:"):
            data.append(line[5:].strip())
        elif not line and data:
            yield json.loads("\n".join(data))
            data = []
