"""Writes never hold the event loop: async code awaits the writer, blocking calls refuse the loop,
and /ping stays quick while a large workflow initializes and a runner writes elsewhere."""

from __future__ import annotations

import asyncio
import sqlite3
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from helpers import start_server, wait_until
from pytorc.errors import InvalidInput
from pytorc.server.db.connection import Database


@pytest.fixture(params=["file", "memory"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    database = Database(str(tmp_path / "torc.db") if request.param == "file" else ":memory:")
    with database.transaction() as conn:
        conn.execute("CREATE TABLE t (x INTEGER)")
    yield database
    database.close()


def values(conn: sqlite3.Connection) -> list[int]:
    return [r[0] for r in conn.execute("SELECT x FROM t ORDER BY rowid")]


def insert(x: int) -> Any:
    return lambda conn: conn.execute("INSERT INTO t VALUES (?)", (x,)).rowcount


class HeldWriter:
    """A worker thread inside a write transaction until `release()`."""

    def __init__(self, db: Database) -> None:
        self.holding = threading.Event()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._hold, args=(db,))
        self.thread.start()
        assert self.holding.wait(10), "the worker thread never got the writer"

    def _hold(self, db: Database) -> None:
        with db.transaction() as conn:
            conn.execute("INSERT INTO t VALUES (1)")
            self.holding.set()
            self.done.wait(30)

    def release(self) -> None:
        self.done.set()
        self.thread.join(10)


def test_blocking_database_calls_refuse_to_run_on_the_event_loop(db: Database) -> None:
    async def on_the_loop() -> None:
        for call in (db.transaction, db.reader, db.snapshot_reader):
            with pytest.raises(RuntimeError, match="event loop"), call():
                pass
        with pytest.raises(RuntimeError, match="event loop"):
            db.vacuum_into("/nonexistent/copy.db")

    asyncio.run(on_the_loop())


def test_a_write_waits_for_a_busy_writer_without_holding_the_event_loop(db: Database) -> None:
    async def main() -> None:
        held = HeldWriter(db)
        queued = [asyncio.ensure_future(db.write(insert(x))) for x in (2, 3, 4)]
        ticks = 0
        while ticks < 20:  # the loop keeps turning while the writes wait
            await asyncio.sleep(0)
            ticks += 1
        assert not any(w.done() for w in queued)
        if not db.in_memory:  # a file database's readers answer meanwhile
            assert await db.read(values) == []
        held.release()
        assert await asyncio.wait_for(asyncio.gather(*queued), 10) == [1, 1, 1]
        assert await db.read(values) == [1, 2, 3, 4]  # in arrival order

    asyncio.run(main())


def test_a_failed_write_rolls_back_and_raises_to_its_awaiter(db: Database) -> None:
    def half_then_refuse(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO t VALUES (9)")
        raise InvalidInput("no")

    async def main() -> None:
        with pytest.raises(InvalidInput):  # inline: the writer was free
            await db.write(half_then_refuse)
        with pytest.raises(InvalidInput):  # on the writer thread
            await db.write_long(half_then_refuse)
        held = HeldWriter(db)
        waiting = asyncio.ensure_future(db.write(half_then_refuse))
        held.release()
        with pytest.raises(InvalidInput):  # queued behind a busy writer
            await asyncio.wait_for(waiting, 10)
        assert await db.read(values) == [1]

    asyncio.run(main())


# -- /ping during a long write, on a real server ------------------------------------------------

BIG = 50_000
CHUNK = 10_000


def _workflow(c: httpx.Client, name: str, jobs: int) -> int:
    wf = c.post("/workflows", json={"name": name, "user": "tester"}).json()["id"]
    for start in range(0, jobs, CHUNK):
        chunk = [
            {"workflow_id": wf, "name": f"j{i}", "command": "true"}
            for i in range(start, min(start + CHUNK, jobs))
        ]
        c.post("/bulk_jobs", json={"jobs": chunk}, timeout=120).raise_for_status()
    return int(wf)


def _node(c: httpx.Client, wf: int) -> int:
    node = {
        "workflow_id": wf,
        "hostname": "h",
        "pid": 1,
        "start_time": "now",
        "num_cpus": 2,
        "memory_gb": 4.0,
        "num_gpus": 0,
        "num_nodes": 1,
        "compute_node_type": "local",
    }
    return int(c.post("/compute_nodes", json=node).json()["id"])


class Runner(threading.Thread):
    """Claims, starts and completes the small workflow's jobs one by one, until stopped."""

    def __init__(self, url: str, wf: int, node: int) -> None:
        super().__init__()
        self.url, self.wf, self.node = url, wf, node
        self.stop = threading.Event()
        self.rounds = 0
        self.failures: list[str] = []

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=120) as c:
            while not self.stop.is_set():
                claimed = c.post(f"/workflows/{self.wf}/claim_next_jobs", params={"limit": 1})
                if claimed.status_code != 200 or not claimed.json()["jobs"]:
                    self.failures.append(claimed.text)
                    return
                job = claimed.json()["jobs"][0]["id"]
                result = {
                    "workflow_id": self.wf,
                    "job_id": job,
                    "run_id": 1,
                    "compute_node_id": self.node,
                    "return_code": 0,
                    "exec_time_minutes": 0.0,
                    "completion_time": "now",
                    "status": "completed",
                }
                for answer in (
                    c.put(f"/jobs/{job}/start_job/1/{self.node}"),
                    c.post(f"/jobs/{job}/complete_job/completed/1", json=result),
                ):
                    if answer.status_code != 200:
                        self.failures.append(answer.text)
                self.rounds += 1


class Prober(threading.Thread):
    """GET /ping on its own connection, about every 5 ms; records (sent, answered)."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self.stop = threading.Event()
        self.pings: list[tuple[float, float]] = []

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=120) as c:
            while not self.stop.wait(0.005):  # pacing only, not synchronisation
                sent = time.perf_counter()
                c.get("/ping").raise_for_status()
                self.pings.append((sent, time.perf_counter()))


def test_ping_stays_quick_while_a_large_workflow_initializes(tmp_path: Path) -> None:
    server = start_server(tmp_path / "srv")
    try:
        with httpx.Client(base_url=server.url, timeout=120) as c:
            big = _workflow(c, "big", BIG)
            small = _workflow(c, "small", 5_000)
            node = _node(c, small)
            for step in ("reset_status", "initialize_jobs"):
                c.post(f"/workflows/{small}/{step}").raise_for_status()
            runner, prober = Runner(server.url, small, node), Prober(server.url)
            runner.start()
            prober.start()
            try:
                wait_until(lambda: runner.rounds >= 5 and len(prober.pings) >= 5, timeout=60)
                start = time.perf_counter()
                c.post(f"/workflows/{big}/initialize_jobs", timeout=300).raise_for_status()
                end = time.perf_counter()
                rounds_at_end = runner.rounds
                wait_until(lambda: runner.rounds > rounds_at_end, timeout=60, what="runner")
            finally:
                runner.stop.set()
                prober.stop.set()
                runner.join(60)
                prober.join(60)
    finally:
        server.stop()
    during = sorted(
        answered - sent for sent, answered in prober.pings if end > sent and answered > start
    )
    assert during, f"no ping overlapped a {end - start:.2f} s initialize"
    p99 = during[min(len(during) - 1, int(0.99 * len(during)))]
    summary = (
        f"{len(during)} pings during a {end - start:.2f} s initialize: median "
        f"{1000 * statistics.median(during):.1f} ms, p99 {1000 * p99:.1f} ms"
    )
    assert p99 < 0.5, summary
    assert len(during) >= 3, summary  # pings kept coming while it ran
    assert runner.failures == []
