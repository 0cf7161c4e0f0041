"""Successor hints: a runner starts a job the moment its last blocker completes there, and the
server applies that start only when a completion of the same exchange released the job."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from helpers import ServerProcess, compute_node
from pytorc.server.db.connection import apply_migrations
from pytorc.server.services import successors

TORC = str(Path(sys.executable).parent / "torc")


@pytest.fixture
def client(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url) as c:
        yield c


def _chain(c: httpx.Client, n: int, fan: int = 0) -> tuple[int, list[int]]:
    """A workflow c0 -> c1 -> ... (plus `fan` jobs that also wait for c0), initialized."""
    wf = c.post("/workflows", json={"name": "hints", "user": "tester"}).json()["id"]
    ids: list[int] = []
    for i in range(n):
        deps = [ids[-1]] if ids else []
        job = {"workflow_id": wf, "name": f"c{i}", "command": "true", "depends_on_job_ids": deps}
        ids.append(c.post("/jobs", json=job).json()["id"])
    for i in range(fan):
        job = {"workflow_id": wf, "name": f"f{i}", "command": "true", "depends_on_job_ids": ids[:1]}
        c.post("/jobs", json=job).raise_for_status()
    c.post(f"/workflows/{wf}/reset_status").raise_for_status()
    c.post(f"/workflows/{wf}/initialize_jobs").raise_for_status()
    return wf, ids


def _node(c: httpx.Client, wf: int) -> int:
    return int(c.post("/compute_nodes", json=compute_node(wf)).json()["id"])


def _done(wf: int, node: int, job: int, rc: int = 0) -> dict[str, Any]:
    status = "completed" if rc == 0 else "failed"
    result = {"job_id": job, "workflow_id": wf, "run_id": 1, "compute_node_id": node,
              "return_code": rc, "exec_time_minutes": 0.0, "completion_time": "now",
              "status": status}  # fmt: skip
    return {"job_id": job, "run_id": 1, "status": status, "result": result}


def _exchange(c: httpx.Client, wf: int, node: int, **body: Any) -> dict[str, Any]:
    answer = c.post(
        f"/workflows/{wf}/exchange_jobs", json={"run_id": 1, "compute_node_id": node, **body}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def _statuses(c: httpx.Client, wf: int) -> dict[str, str]:
    jobs = c.get("/jobs", params={"workflow_id": wf, "limit": 1000}).json()["items"]
    return {j["name"]: j["status"] for j in jobs}


def test_hints_name_the_jobs_waiting_only_for_this_node_and_what_they_wait_for(
    client: httpx.Client,
) -> None:
    wf, ids = _chain(client, 20)
    node = _node(client, wf)
    answer = _exchange(client, wf, node, claim={"limit": 1}, successors=16)
    assert [j["id"] for j in answer["jobs"]] == ids[:1]
    hints = [(h["job"]["id"], h["after"]) for h in answer["successors"]]
    # As many levels as asked for (a runner reports a chain several links at a time, so one
    # answer must refill that many): c1 waits for c0 (claimed here), c2 for c1, and so on.
    assert hints == [(ids[i], [ids[i - 1]]) for i in range(1, 17)]
    assert answer["successors"][0]["job"]["command"] == "true"
    # A node asking nothing gets nothing; another node holds nothing these jobs wait for.
    assert _exchange(client, wf, node, claim={"limit": 1})["successors"] == []
    other = _node(client, wf)
    assert _exchange(client, wf, other, claim={"limit": 1}, successors=16)["successors"] == []


def test_hints_the_node_holds_are_not_sent_again_and_count_as_held(
    client: httpx.Client,
) -> None:
    wf, ids = _chain(client, 12)
    node = _node(client, wf)
    first = _exchange(client, wf, node, claim={"limit": 1}, successors=4)
    held = [h["job"]["id"] for h in first["successors"]]
    assert held == ids[1:5]
    # c0 ran and c1 started on its hint: only the links past the held ones come back, each
    # waiting for the one before (c5 waits for c4, held only as a hint).
    answer = _exchange(
        client, wf, node,
        started=[{"job_id": ids[1]}], completions=[_done(wf, node, ids[0])],
        successors=2, hinted=held[1:],
    )  # fmt: skip
    assert answer["errors"] == [] and answer["started"] == [ids[1]]
    assert [(h["job"]["id"], h["after"]) for h in answer["successors"]] == [
        (ids[5], [ids[4]]),
        (ids[6], [ids[5]]),
    ]
    # Held hints are walked only within this workflow: another workflow's job leads nowhere.
    _, other = _chain(client, 3)
    assert _exchange(client, wf, node, successors=4, hinted=[other[0]])["successors"] == []
    bad = client.post(
        f"/workflows/{wf}/exchange_jobs",
        json={"run_id": 1, "compute_node_id": node, "hinted": list(range(1001))},
    )
    assert bad.status_code == 422 and "hinted" in bad.text


def test_a_start_released_by_a_completion_of_the_same_exchange_is_applied_in_order(
    client: httpx.Client,
) -> None:
    wf, ids = _chain(client, 4)
    node = _node(client, wf)
    _exchange(client, wf, node, claim={"limit": 1}, successors=16)
    # c0, c1 and c2 ran here one after the other, c3 is running: all reported at once.
    answer = _exchange(
        client, wf, node,
        started=[{"job_id": id} for id in ids],
        completions=[_done(wf, node, id) for id in ids[:3]],
        successors=16,
    )  # fmt: skip
    assert answer["errors"] == []
    assert answer["started"] == ids and answer["completed"] == ids[:3]
    assert list(_statuses(client, wf).values()) == ["completed"] * 3 + ["running"]
    # Resent (its answer lost): acknowledged, applied once.
    again = _exchange(
        client, wf, node,
        started=[{"job_id": id} for id in ids],
        completions=[_done(wf, node, id) for id in ids[:3]],
        reclaim=True,
    )  # fmt: skip
    assert again["errors"] == [] and again["completed"] == ids[:3]
    results = client.get("/results", params={"workflow_id": wf, "limit": 100}).json()["items"]
    assert sorted(r["job_id"] for r in results) == ids[:3]


def test_a_blocked_job_cannot_be_started_without_the_completion_that_releases_it(
    client: httpx.Client,
) -> None:
    wf, ids = _chain(client, 3)
    node = _node(client, wf)
    _exchange(client, wf, node, claim={"limit": 1})
    # c1 reported started while c0 still runs: refused, nothing changes.
    answer = _exchange(client, wf, node, started=[{"job_id": ids[0]}, {"job_id": ids[1]}])
    assert [e["job_id"] for e in answer["errors"]] == [ids[1]]
    assert "blocked" in answer["errors"][0]["message"]
    # c0 completes in one exchange; c1, now ready, started in the next: refused too (anyone
    # may have claimed it in between), and claimable as any ready job.
    _exchange(client, wf, node, completions=[_done(wf, node, ids[0])])
    late = _exchange(client, wf, node, started=[{"job_id": ids[1]}])
    assert [e["job_id"] for e in late["errors"]] == [ids[1]]
    assert _statuses(client, wf)["c1"] == "ready"
    # A failed blocker releases nothing to start here.
    wf2, ids2 = _chain(client, 2)
    node2 = _node(client, wf2)
    _exchange(client, wf2, node2, claim={"limit": 1})
    failed = _exchange(
        client, wf2, node2,
        started=[{"job_id": ids2[0]}, {"job_id": ids2[1]}],
        completions=[_done(wf2, node2, ids2[0], rc=1)],
    )  # fmt: skip
    assert [e["job_id"] for e in failed["errors"]] == [ids2[1]]
    assert _statuses(client, wf2) == {"c0": "failed", "c1": "canceled"}


def _run(server: ServerProcess, tmp_path: Path, spec: dict[str, Any], *flags: str) -> Any:
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    argv = [TORC, "--url", server.url, "-f", "json", "run", str(path), "-p", "0.1",
            "-o", str(tmp_path / "out"), *flags]  # fmt: skip
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    return proc


def test_chains_on_two_runners_run_each_job_once_in_order(
    server: ServerProcess, tmp_path: Path
) -> None:
    """Two chains of 60 and a fan-out of 20 after the first link, on two runners at once:
    every job runs once, after its blocker ended."""
    jobs: list[dict[str, Any]] = []
    for chain in "ab":
        for i in range(60):
            deps = [f"{chain}{i - 1}"] if i else []
            cmd = f"date +%s.%N > {tmp_path}/{chain}{i}.t"
            jobs.append({"name": f"{chain}{i}", "command": cmd, "depends_on": deps})
    jobs += [{"name": f"f{i}", "command": "true", "depends_on": ["a0"]} for i in range(20)]
    path = tmp_path / "spec.json"
    path.write_text(json.dumps({"name": "two_chains", "jobs": jobs}))
    created = subprocess.run([TORC, "--url", server.url, "-f", "json", "workflows", "create",
                              str(path)], capture_output=True, text=True, check=True)  # fmt: skip
    wf = str(json.loads(created.stdout)["id"])
    subprocess.run([TORC, "--url", server.url, "workflows", "initialize", wf], check=True,
                   capture_output=True)  # fmt: skip
    runners = [
        subprocess.Popen(
            [
                TORC,
                "--url",
                server.url,
                "-f",
                "json",
                "run",
                wf,
                "-p",
                "0.1",
                "--max-parallel-jobs",
                "2",
                "-o",
                str(tmp_path / f"out{i}"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    outputs = [r.communicate(timeout=120) for r in runners]
    ran = sum(json.loads(out)["jobs_run_here"] for out, _ in outputs)
    assert ran == len(jobs), outputs
    with httpx.Client(base_url=server.url) as c:
        results = c.get("/results", params={"workflow_id": wf, "limit": 1000}).json()["items"]
        statuses = Counter(_statuses(c, int(wf)).values())
    assert statuses == {"completed": len(jobs)}
    assert max(Counter(r["job_id"] for r in results).values()) == 1
    for chain in "ab":
        times = [float((tmp_path / f"{chain}{i}.t").read_text()) for i in range(60)]
        assert times == sorted(times)


def test_a_failed_link_leaves_the_rest_of_the_chain_to_the_server(
    server: ServerProcess, tmp_path: Path
) -> None:
    jobs = [
        {"name": "a", "command": "true"},
        {"name": "b", "command": "exit 3", "depends_on": ["a"]},
        {"name": "c", "command": "true", "depends_on": ["b"]},
        {"name": "d", "command": "true", "depends_on": ["c"]},
    ]
    proc = _run(server, tmp_path, {"name": "broken_chain", "jobs": jobs})
    assert proc.returncode != 0
    with httpx.Client(base_url=server.url) as c:
        wf = c.get("/workflows", params={"limit": 100}).json()["items"][-1]["id"]
        expected = {"a": "completed", "b": "failed", "c": "canceled", "d": "canceled"}
        assert _statuses(c, wf) == expected
        results = c.get("/results", params={"workflow_id": wf, "limit": 100}).json()["items"]
    assert sorted(r["return_code"] for r in results) == [0, 3]  # c and d never ran


@pytest.mark.parametrize(("roots", "hinted"), [(2, True), (9, False)])
def test_a_join_is_hinted_only_when_it_waits_for_few_jobs_all_held_here(
    client: httpx.Client, roots: int, hinted: bool
) -> None:
    """A fan-in waiting for more than a few jobs gets no hint: finding it would walk all of
    its edges on every exchange."""
    wf = client.post("/workflows", json={"name": "join", "user": "tester"}).json()["id"]
    ids = [
        client.post("/jobs", json={"workflow_id": wf, "name": f"r{i}", "command": "true"}).json()[
            "id"
        ]
        for i in range(roots)
    ]
    join = {"workflow_id": wf, "name": "join", "command": "true", "depends_on_job_ids": ids}
    join_id = client.post("/jobs", json=join).json()["id"]
    client.post(f"/workflows/{wf}/reset_status").raise_for_status()
    client.post(f"/workflows/{wf}/initialize_jobs").raise_for_status()
    node = _node(client, wf)
    answer = _exchange(client, wf, node, claim={"limit": 100}, successors=16)
    assert len(answer["jobs"]) == roots
    expected = [(join_id, sorted(ids))] if hinted else []
    assert [(h["job"]["id"], sorted(h["after"])) for h in answer["successors"]] == expected


def test_the_hint_lookup_walks_from_the_jobs_at_hand_not_the_blocked_jobs(tmp_path: Path) -> None:
    """Left to choose, SQLite read every blocked job of the workflow for each level of hints:
    a chain of 1,000 cost the server ~2 ms an exchange more than a chain of 10 (O(n^2) in
    all). The plan must start from the jobs at hand and reach the rest by key."""
    conn = sqlite3.connect(tmp_path / "plan.db", isolation_level=None)
    apply_migrations(conn)
    params = {"at_hand": "[1]", "wf": 1, "node": 1, "hinted": "[]", "limit": 16}
    plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + successors._HINTS, params)]
    assert plan[0].startswith("SCAN h"), plan
    assert not any("job_workflow_status" in step for step in plan), plan
    assert any("job_depends_on_upstream (depends_on_job_id=?)" in step for step in plan), plan


def test_the_runner_knows_when_its_hints_run_low_by_release_or_by_failure() -> None:
    """The runner's side: a chain's results may wait while 8 or more hints are in hand; the
    end that takes them below 8 (a release, or a failure that drops the rest) says so once,
    which is what wakes the reporter to send the waiting results."""
    from pytorc.runner.successors import HINTS_LOW, Successors

    def chain(n: int) -> Successors:
        hints = Successors()
        hints.add(({"job": {"id": i}, "after": [i - 1]} for i in range(1, n + 1)), held={0})
        return hints

    hints = chain(HINTS_LOW)
    assert hints.plenty() and not hints.ran_low
    assert [j["id"] for j in hints.ended(0, completed=True)] == [1]
    assert hints.ran_low and not hints.plenty()
    hints.ran_low = False
    hints.ended(1, completed=True)
    assert not hints.ran_low  # only the crossing says so
    failed = chain(HINTS_LOW + 2)
    assert failed.ended(0, completed=False) == [] and failed.waiting == {}
    assert failed.ran_low
