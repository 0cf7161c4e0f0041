"""Repair with real processes: a run that ends with work left says so, and `sync-status`
requeues exactly the jobs a killed runner held."""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from cli_helpers import TORC, cli_env, torc
from helpers import ServerProcess, wait_until


def _spec(tmp_path: Path, spec: dict[str, Any]) -> Path:
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    return path


def _statuses(url: str, workflow_id: int) -> Counter[str]:
    items = httpx.get(f"{url}/jobs", params={"workflow_id": workflow_id}).json()["items"]
    return Counter(j["status"] for j in items)


def test_a_run_that_ends_with_work_left_says_so_and_exits_nonzero(
    server: ServerProcess, tmp_path: Path
) -> None:
    spec = _spec(
        tmp_path,
        {
            "name": "too-big",
            "compute_node_wait_for_new_jobs_seconds": 1,
            "resource_requirements": [
                {"name": "huge", "num_cpus": 64, "memory": "1g", "runtime": "PT1M"}
            ],
            "jobs": [
                {"name": "fine", "command": "true"},
                {"name": "big", "command": "true", "resource_requirements": "huge"},
            ],
        },
    )
    proc = torc(server.url, "run", str(spec), "-p", "0.2", "-o", "out", cwd=tmp_path, expect=1)
    assert "work left" in proc.stdout and "1 ready" in proc.stdout, proc.stdout
    as_json = torc(
        server.url, "-f", "json", "run", str(spec), "-p", "0.2", "-o", "out", cwd=tmp_path, expect=1
    )
    summary = json.loads(as_json.stdout)
    assert summary["is_complete"] is False and summary["jobs_left"] == 1


def test_sync_status_requeues_exactly_the_jobs_of_a_killed_local_runner(
    server: ServerProcess, tmp_path: Path
) -> None:
    spec = _spec(
        tmp_path,
        {
            "name": "stuck",
            "jobs": [
                {"name": "quick", "command": "true"},
                *(
                    {"name": f"slow{i}", "command": "sleep 60", "depends_on": ["quick"]}
                    for i in range(4)
                ),
            ],
        },
    )
    wf = int(
        json.loads(
            torc(server.url, "-f", "json", "workflows", "create", str(spec), cwd=tmp_path).stdout
        )["id"]
    )
    runner = subprocess.Popen(
        [TORC, "--url", server.url, "run", str(wf), "-p", "0.2", "--num-cpus", "2", "-o", "out"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=tmp_path,
        env=cli_env(tmp_path),
    )
    try:
        wait_until(
            lambda: _statuses(server.url, wf)["running"] == 2, timeout=30, what="2 jobs running"
        )
    finally:
        runner.kill()
        runner.wait()
    stuck = _statuses(server.url, wf)
    assert stuck["completed"] == 1 and stuck["running"] == 2
    held = stuck["running"] + stuck["pending"]
    dry = torc(server.url, "workflows", "sync-status", str(wf), "--dry-run", cwd=tmp_path)
    assert "is gone" in dry.stdout and "would be made ready" in dry.stdout, dry.stdout
    assert _statuses(server.url, wf) == stuck  # a dry run changes nothing
    done = json.loads(
        torc(server.url, "-f", "json", "workflows", "sync-status", str(wf), cwd=tmp_path).stdout
    )
    [gone] = done["gone_runners"]
    assert gone["pid"] == runner.pid and len(gone["requeued_jobs"]) == held
    assert _statuses(server.url, wf) == {"completed": 1, "ready": 4}
    again = json.loads(
        torc(server.url, "-f", "json", "workflows", "sync-status", str(wf), cwd=tmp_path).stdout
    )
    assert again["gone_runners"] == []  # the node is inactive now: nothing left to repair


def test_a_workflow_whose_creation_was_cut_short_cannot_run_and_is_flagged(
    server: ServerProcess, tmp_path: Path
) -> None:
    """SIGKILL of `torc workflows create` in the middle of uploading 49,995 jobs (five sweeps
    each just under the size the server would expand, so the client uploads them in bulk)."""
    sweeps = [
        {"name": f"{p}{{i}}", "command": "true", "parameters": {"i": "1:9999"}} for p in "abcde"
    ]
    spec = _spec(tmp_path, {"name": "cut-short", "jobs": sweeps})
    creator = subprocess.Popen(
        [TORC, "--url", server.url, "workflows", "create", str(spec)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=tmp_path,
        env=cli_env(tmp_path),
    )

    def uploading() -> int | None:
        for wf in httpx.get(f"{server.url}/workflows").json()["items"]:
            if wf["name"] == "cut-short":
                page = httpx.get(f"{server.url}/jobs", params={"workflow_id": wf["id"], "limit": 1})
                if page.json()["total_count"] > 0:
                    return int(wf["id"])
        return None

    try:
        wf = wait_until(uploading, timeout=60, interval=0.01, what="the upload to start")
    finally:
        creator.kill()
        creator.wait()
    stored = httpx.get(f"{server.url}/jobs", params={"workflow_id": wf, "limit": 1}).json()
    assert 0 < stored["total_count"] < 49995, "the upload finished before the kill"
    listed = torc(server.url, "workflows", "list", cwd=tmp_path)
    assert "cut-short (INCOMPLETE)" in listed.stdout
    assert f"torc workflows delete {wf}" in listed.stderr
    as_json = json.loads(torc(server.url, "-f", "json", "workflows", "list", cwd=tmp_path).stdout)
    assert [w.get("creation_incomplete") for w in as_json if w["id"] == wf] == [True]
    for args in (("workflows", "initialize", str(wf), "--no-prompts"), ("run", str(wf))):
        refused = torc(server.url, *args, cwd=tmp_path, expect=None)
        assert refused.returncode != 0 and "creation did not finish" in refused.stderr, args
    assert Counter(
        j["status"]
        for j in httpx.get(f"{server.url}/jobs", params={"workflow_id": wf, "limit": 10}).json()[
            "items"
        ]
    ) == {"uninitialized": 10}
    torc(server.url, "workflows", "delete", str(wf), "--no-prompts", cwd=tmp_path)
    assert wf not in set(httpx.get(f"{server.url}/incomplete_workflows").json()["workflow_ids"])
