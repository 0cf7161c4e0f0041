"""SQL for events."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from pytorc.server.db.common import dumps


def record(conn: sqlite3.Connection, workflow_id: int, category: str, message: str,
           **data: Any) -> None:
    """Store a server-side event: data carries `category` and `message`, as Torc's do."""
    conn.execute(
        "INSERT INTO event (workflow_id, timestamp, data) VALUES (?, ?, ?)",
        (workflow_id, int(time.time() * 1000), dumps({"category": category, "message": message, **data})),
    )
