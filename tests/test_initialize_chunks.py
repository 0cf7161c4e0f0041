"""A big workflow is initialized chunk by chunk (one write transaction each): other writes go
between the chunks, none of its jobs is claimed until the last chunk is done, and the result
is the one a single transaction gives, also after the server dies half way."""

from __future__ import annotations

import contextlib
import shutil
import signal
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from helpers import (
    ServerProcess,
    compute_node,
    initialize_in_one_transaction,
    start_server,
    wait_until,
)
from pytorc.server.services import initialization

SWEEP = 100_000
CHUNK = ["--chunk-jobs", "500"]  # 200 chunks for the sweep


def _big(c: httpx.Client) -> int:
    """setup -> j1..j100000 -> all: a workflow whose initialization takes 200 chunks."""
    created = c.post("/workflows", params={"creating": "true"}, json={"name": "b", "user": "t"})
    wf = int(created.json()["id"])
    setup = c.post("/jobs", json={"workflow_id": wf, "name": "setup", "command": "true"})
    last = c.post("/jobs", json={"workflow_id": wf, "name": "all", "command": "true"})
    template = {"name": "j{i}", "command": "true", "depends_on_job_ids": [setup.json()["id"]]}
    sweep = c.post(
        f"/workflows/{wf}/job_sweeps",
        json={
            "job": {"workflow_id": wf, **template},
            "parameters": {"i": f"1:{SWEEP}"},
            "dependent_job_ids": [last.json()["id"]],
        },
        timeout=120,
    )
    assert sweep.status_code == 200, sweep.text
    assert c.post(f"/workflows/{wf}/creation_complete").status_code == 200
    assert c.post(f"/workflows/{wf}/reset_status").status_code == 200
    return wf


def _marked(db: sqlite3.Connection, wf: int) -> bool:
    sql = "SELECT 1 FROM workflow_initializing WHERE workflow_id = ?"
    return db.execute(sql, (wf,)).fetchone() is not None


def _counts_are_exact(db: sqlite3.Connection, wf: int) -> dict[int, int]:
    kept = dict(
        db.execute(
            "SELECT status, n FROM job_status_count WHERE workflow_id = ? AND n != 0", (wf,)
        ).fetchall()
    )
    real = dict(
        db.execute(
            "SELECT status, count(*) FROM job WHERE workflow_id = ? GROUP BY status", (wf,)
        ).fetchall()
    )
    assert kept == real
    return real


class Initializing:
    """POST initialize_jobs on a thread of its own; the answer once it is done."""

    def __init__(self, url: str, wf: int, **params: str) -> None:
        self.answer: httpx.Response | Exception | None = None
        self.thread = threading.Thread(target=self._send, args=(url, wf, params), daemon=True)
        self.thread.start()

    def _send(self, url: str, wf: int, params: dict[str, str]) -> None:
        try:
            self.answer = httpx.post(
                f"{url}/workflows/{wf}/initialize_jobs", params=params, timeout=300
            )
        except httpx.HTTPError as exc:  # the server died under it
            self.answer = exc

    def result(self) -> httpx.Response:
        self.thread.join(timeout=300)
        assert isinstance(self.answer, httpx.Response), self.answer
        return self.answer


@pytest.fixture
def big(tmp_path: Path) -> Iterator[tuple[ServerProcess, httpx.Client, sqlite3.Connection, int]]:
    with start_server(tmp_path, *CHUNK) as server, httpx.Client(base_url=server.url) as c:
        wf = _big(c)
        db = sqlite3.connect(f"file:{server.db_path}?mode=ro", uri=True)
        try:
            yield server, c, db, wf
        finally:
            db.close()


def test_writes_go_between_the_chunks_and_no_job_is_claimed_before_the_last(
    big: tuple[ServerProcess, httpx.Client, sqlite3.Connection, int],
) -> None:
    """While the initialization runs: another workflow's write is answered and a claim on
    this workflow gets nothing (its setup job is ready after the first chunk); a second
    initialization (two `torc run ID` starting together) waits for the first, then runs.
    Afterwards the counts are exact and the setup job is claimed."""
    server, c, db, wf = big
    other = c.post("/workflows", json={"name": "other", "user": "t"}).json()["id"]
    first = Initializing(server.url, wf)
    wait_until(lambda: _marked(db, wf), timeout=60, interval=0.005, what="the first chunk")
    second = Initializing(server.url, wf)
    added = c.post("/jobs", json={"workflow_id": other, "name": "x", "command": "true"})
    claimed = c.post(f"/workflows/{wf}/claim_next_jobs", params={"limit": 5})
    assert _marked(db, wf), "the initialization ended before the requests were answered"
    assert added.status_code == 200
    assert claimed.status_code == 200 and claimed.json()["jobs"] == []
    assert second.thread.is_alive()  # it waits for the first

    for running in (first, second):
        answer = running.result()
        assert answer.status_code == 200, answer.text
        summary = answer.json()
        assert (summary["initialized_jobs"], summary["ready"]) == (SWEEP + 2, 1)
        assert summary["blocked"] == SWEEP + 1
    assert not _marked(db, wf)
    assert _counts_are_exact(db, wf) == {1: SWEEP + 1, 2: 1}
    jobs = c.post(f"/workflows/{wf}/claim_next_jobs", params={"limit": 5}).json()["jobs"]
    assert [j["name"] for j in jobs] == ["setup"]


def test_start_run_if_uninitialized_starts_one_run_and_tells_the_others_it_had_started(
    big: tuple[ServerProcess, httpx.Client, sqlite3.Connection, int],
) -> None:
    """Two `torc run ID` on a workflow never started (the extension's use): the first starts
    run 2 and initializes in chunks; the second waits, then changes nothing and says so. A
    runner's exchange meanwhile is not told the workflow is stalled (it would exit)."""
    server, c, db, wf = big
    once = {"start_run_if_uninitialized": "true"}
    node = c.post("/compute_nodes", json=compute_node(wf)).json()["id"]
    first = Initializing(server.url, wf, **once)
    wait_until(lambda: _marked(db, wf), timeout=60, interval=0.005, what="the first chunk")
    second = Initializing(server.url, wf, **once)
    body = {"run_id": 2, "compute_node_id": node, "claim": {"limit": 5}}
    exchange = c.post(f"/workflows/{wf}/exchange_jobs", json=body).json()
    assert _marked(db, wf), "the initialization ended before the exchange was answered"
    assert exchange["jobs"] == [] and not exchange["is_stalled"] and not exchange["is_complete"]
    assert second.thread.is_alive()  # it waits for the first

    started, waited = first.result().json(), second.result().json()
    assert (started["initialized_jobs"], started["run_id"], started["ready"]) == (SWEEP + 2, 2, 1)
    assert "already_initialized" not in started
    assert waited["already_initialized"] is True
    assert (waited["initialized_jobs"], waited["run_id"], waited["ready"]) == (0, 2, 1)
    assert c.get(f"/workflows/{wf}").json()["run_id"] == 2
    assert _counts_are_exact(db, wf) == {1: SWEEP + 1, 2: 1}
    exchange = c.post(f"/workflows/{wf}/exchange_jobs", json=body).json()
    assert [j["name"] for j in exchange["jobs"]] == ["setup"]


@pytest.mark.parametrize("again_params", [{}, {"start_run_if_uninitialized": "true"}])
def test_a_server_killed_half_way_leaves_the_workflow_unclaimable_until_initialized_again(
    tmp_path: Path,
    big: tuple[ServerProcess, httpx.Client, sqlite3.Connection, int],
    again_params: dict[str, str],
) -> None:
    """SIGKILL while chunks are being written: after a restart nothing of the workflow is
    claimed (some jobs are ready, others not counted yet); initializing it again takes the
    mark over and gives the full result, also as `torc run ID` asks (its jobs are no longer
    all uninitialized, but the dead mark says the initialization is unfinished)."""
    server, _, db, wf = big
    running = Initializing(server.url, wf)

    def half_way() -> bool:
        ready = db.execute(
            "SELECT count(*) FROM job WHERE workflow_id = ? AND status = 1", (wf,)
        ).fetchone()[0]
        return _marked(db, wf) and ready > 0

    wait_until(half_way, timeout=60, interval=0.005, what="some chunks to be written")
    server.stop(signal.SIGKILL)
    running.thread.join(timeout=30)
    uninitialized = db.execute(
        "SELECT count(*) FROM job WHERE workflow_id = ? AND status = 0", (wf,)
    ).fetchone()[0]
    assert uninitialized > 0, "the initialization finished before the kill"

    with start_server(tmp_path, *CHUNK) as again, httpx.Client(base_url=again.url) as c2:
        claimed = c2.post(f"/workflows/{wf}/claim_next_jobs", params={"limit": 5})
        assert claimed.status_code == 200 and claimed.json()["jobs"] == []
        _counts_are_exact(db, wf)
        answer = c2.post(f"/workflows/{wf}/initialize_jobs", params=again_params, timeout=300)
        assert answer.status_code == 200, answer.text
        assert answer.json()["ready"] == 1 and not _marked(db, wf)
        assert "already_initialized" not in answer.json()
        assert _counts_are_exact(db, wf) == {1: SWEEP + 1, 2: 1}
        jobs = c2.post(f"/workflows/{wf}/claim_next_jobs", params={"limit": 5}).json()["jobs"]
        assert [j["name"] for j in jobs] == ["setup"]


def _job_states(path: Path) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(
            "SELECT id, status, num_blocking, input_hash FROM job ORDER BY id"
        ).fetchall()
    finally:
        conn.close()


@pytest.mark.parametrize("only_uninitialized", [False, True])
def test_chunks_of_two_jobs_give_what_one_transaction_gives(
    tmp_path: Path, only_uninitialized: bool
) -> None:
    """A DAG with files, user data, a chain, a fan-out and a fan-in, one job already
    completed: initialized in chunks of two job ids and in one transaction, every job's
    status, blocker count and input hash are the same, and so are the kept counts."""
    with start_server(tmp_path / "srv") as server, httpx.Client(base_url=server.url) as c:
        wf = c.post("/workflows", json={"name": "dag", "user": "t"}).json()["id"]
        made = c.post("/files", json={"workflow_id": wf, "name": "f", "path": "f.txt"}).json()
        data = c.post("/user_data", json={"workflow_id": wf, "name": "d", "data": {"k": 1}})
        ids: list[int] = []

        def job(name: str, **rel: Any) -> None:
            body = {"workflow_id": wf, "name": name, "command": f"echo {name}", **rel}
            answer = c.post("/jobs", json=body)
            assert answer.status_code == 200, answer.text
            ids.append(answer.json()["id"])

        job("a", output_file_ids=[made["id"]])
        job("b", input_file_ids=[made["id"]])  # after a, through the file
        job("c", depends_on_job_ids=[ids[1]], input_user_data_ids=[data.json()["id"]])
        for i in range(4):
            job(f"fan{i}", depends_on_job_ids=[ids[0]])
        job("join", depends_on_job_ids=ids[3:7])
        job("free")
        assert c.post(f"/workflows/{wf}/reset_status").status_code == 200
    one, chunked = tmp_path / "one.db", tmp_path / "chunked.db"
    shutil.copy(server.db_path, one)
    shutil.copy(server.db_path, chunked)
    for path, size in ((one, None), (chunked, 2)):
        conn = sqlite3.connect(path, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute(f"UPDATE job SET status = 5 WHERE id = {ids[0]}")  # a completed
        conn.execute("BEGIN IMMEDIATE")
        if size is None:
            initialize_in_one_transaction(conn, wf, only_uninitialized)
        else:
            plan = initialization.begin(conn, wf, only_uninitialized, size)
            assert len(plan.chunks) == 5
            for first, last in plan.chunks:
                initialization.initialize_chunk(conn, plan, first, last)
            initialization.finish(conn, plan)
        conn.execute("COMMIT")
        _counts_are_exact(conn, wf)
        conn.close()
    states = _job_states(one)
    assert states == _job_states(chunked)
    assert len({s[3] for s in states}) == len(states)  # every job hashed, all different


def test_a_big_workflow_is_deleted_chunk_by_chunk_and_leaves_nothing(
    big: tuple[ServerProcess, httpx.Client, sqlite3.Connection, int],
) -> None:
    """DELETE of the 100,002-job workflow (a setup job with 100,000 edges out, a fan-in with
    100,000 in) goes in chunks: while it runs the workflow is canceled and another workflow's
    write is answered; afterwards no row of it is left anywhere and the other is intact."""
    server, c, db, wf = big
    assert c.post(f"/workflows/{wf}/initialize_jobs", timeout=300).status_code == 200
    other = c.post("/workflows", json={"name": "other", "user": "t"}).json()["id"]
    kept = c.post("/jobs", json={"workflow_id": other, "name": "k", "command": "true"}).json()
    answer: list[httpx.Response] = []
    deleting = threading.Thread(
        target=lambda: answer.append(httpx.delete(f"{server.url}/workflows/{wf}", timeout=300))
    )
    deleting.start()

    def under_way() -> bool:
        canceled = db.execute("SELECT is_canceled FROM workflow WHERE id = ?", (wf,)).fetchone()
        return bool(canceled and canceled[0])

    wait_until(under_way, timeout=60, interval=0.005, what="the deletion to begin")
    added = c.post("/jobs", json={"workflow_id": other, "name": "x", "command": "true"})
    left = db.execute("SELECT count(*) FROM job WHERE workflow_id = ?", (wf,)).fetchone()[0]
    assert added.status_code == 200 and left > 0, "the deletion ended before the write"
    deleting.join(timeout=300)
    assert answer[0].status_code == 200 and answer[0].json()["id"] == wf
    for table in ("job", "job_depends_on", "job_status_count", "workflow_initializing"):
        rows = db.execute(f"SELECT count(*) FROM {table} WHERE workflow_id = ?", (wf,))
        assert rows.fetchone()[0] == 0, table
    assert c.get(f"/workflows/{wf}").status_code == 404
    assert c.get(f"/jobs/{kept['id']}").json()["name"] == "k"
    assert _counts_are_exact(db, other) == {0: 2}


def test_resetting_every_job_goes_in_chunks_and_holds_the_jobs_back_meanwhile(
    big: tuple[ServerProcess, httpx.Client, sqlite3.Connection, int],
) -> None:
    """reset_job_status of the initialized 100,002-job workflow: while it runs another
    workflow's write is answered and a claim gets nothing (the ready setup job is not handed
    out from a half-reset workflow); afterwards every job is uninitialized, counts exact."""
    server, c, db, wf = big
    assert c.post(f"/workflows/{wf}/initialize_jobs", timeout=300).status_code == 200
    other = c.post("/workflows", json={"name": "other", "user": "t"}).json()["id"]
    answer: list[httpx.Response] = []
    url = f"{server.url}/workflows/{wf}/reset_job_status"
    resetting = threading.Thread(target=lambda: answer.append(httpx.post(url, timeout=300)))
    resetting.start()
    wait_until(lambda: _marked(db, wf), timeout=60, interval=0.005, what="the reset to begin")
    added = c.post("/jobs", json={"workflow_id": other, "name": "x", "command": "true"})
    claimed = c.post(f"/workflows/{wf}/claim_next_jobs", params={"limit": 5})
    assert _marked(db, wf), "the reset ended before the requests were answered"
    assert added.status_code == 200
    assert claimed.status_code == 200 and claimed.json()["jobs"] == []
    resetting.join(timeout=300)
    assert answer[0].status_code == 200, answer[0].text
    assert answer[0].json()["updated_count"] == SWEEP + 2
    assert not _marked(db, wf)
    assert _counts_are_exact(db, wf) == {0: SWEEP + 2}


def test_a_server_killed_while_deleting_leaves_a_canceled_workflow_that_deletes_again(
    tmp_path: Path,
    big: tuple[ServerProcess, httpx.Client, sqlite3.Connection, int],
) -> None:
    """SIGKILL while the chunks of a DELETE are being written: after a restart the workflow is
    there, canceled (nothing of it is claimed) with part of its jobs; deleting it again
    finishes the job and leaves no row of it."""
    server, _, db, wf = big
    assert httpx.post(f"{server.url}/workflows/{wf}/initialize_jobs", timeout=300).is_success

    def delete() -> None:
        with contextlib.suppress(httpx.HTTPError):  # the server dies under it
            httpx.delete(f"{server.url}/workflows/{wf}", timeout=300)

    deleting = threading.Thread(target=delete, daemon=True)
    deleting.start()

    def half_way() -> bool:
        jobs = db.execute("SELECT count(*) FROM job WHERE workflow_id = ?", (wf,)).fetchone()[0]
        return 0 < jobs < SWEEP + 2

    wait_until(half_way, timeout=120, interval=0.005, what="some chunks to be deleted")
    server.stop(signal.SIGKILL)
    deleting.join(timeout=30)
    with start_server(tmp_path, *CHUNK) as again, httpx.Client(base_url=again.url) as c:
        assert c.get(f"/workflows/{wf}").json()["is_canceled"] is True
        claimed = c.post(f"/workflows/{wf}/claim_next_jobs", params={"limit": 5})
        assert claimed.status_code == 200 and claimed.json()["jobs"] == []
        _counts_are_exact(db, wf)
        assert c.delete(f"/workflows/{wf}", timeout=300).status_code == 200
        for table in ("job", "job_depends_on", "job_status_count"):
            rows = db.execute(f"SELECT count(*) FROM {table} WHERE workflow_id = ?", (wf,))
            assert rows.fetchone()[0] == 0, table
