"""`torc slurm create|update|list|get|delete` and `torc scheduled-compute-nodes
list|get|list-jobs` against a real server: `-f json` prints what the API stores, bad input is
refused before anything is written."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cli_helpers import run_ready_jobs, torc, torc_json
from helpers import ServerProcess
from pytorc.client.api import TorcClient
from pytorc.units import UnitError, slurm_time_seconds


@pytest.fixture(scope="module")
def client(server: ServerProcess) -> Iterator[TorcClient]:
    with TorcClient(server.url) as c:
        yield c


def _workflow(client: TorcClient) -> int:
    wf = client.create_workflow({"name": f"slurm-{uuid.uuid4().hex[:6]}", "user": "tester"})
    return int(wf["id"])


def test_slurm_configs_round_trip_through_the_cli(
    server: ServerProcess, client: TorcClient, tmp_path: Path
) -> None:
    wf = str(_workflow(client))

    def cli(*args: str) -> Any:
        return torc_json(server.url, "slurm", *args, cwd=tmp_path)

    created = cli(
        "create",
        wf,
        "-n",
        "short",
        "-a",
        "proj",
        "-p",
        "debug",
        "-N",
        "2",
        "-W",
        "00:30:00",
        "-g",
        "gpu:1",
        "-m",
        "10G",
        "-e",
        "--exclusive",
    )
    stored = client.get(f"/slurm_schedulers/{created['id']}")
    assert created == stored
    assert (stored["account"], stored["partition"], stored["nodes"]) == ("proj", "debug", 2)
    assert (stored["walltime"], stored["qos"], stored["extra"]) == (
        "00:30:00",
        "normal",
        "--exclusive",
    )

    updated = cli("update", str(created["id"]), "-W", "1-00:00:00", "-N", "4", "-n", "long")
    assert (updated["walltime"], updated["nodes"], updated["name"]) == ("1-00:00:00", 4, "long")
    assert updated["account"] == "proj"  # what was not named stays
    assert cli("get", str(created["id"])) == updated

    other = cli("create", wf, "-n", "defaults", "-a", "proj")
    assert (other["nodes"], other["walltime"], other["qos"]) == (1, "04:00:00", "normal")
    assert [c["name"] for c in cli("list", wf)] == ["long", "defaults"]

    table = torc(server.url, "slurm", "list", wf, cwd=tmp_path).stdout
    assert "long" in table and "1-00:00:00" in table

    deleted = cli("delete", str(other["id"]))
    assert [d["id"] for d in deleted] == [other["id"]]
    assert [c["name"] for c in cli("list", wf)] == ["long"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create", "{wf}", "-n", "x", "-a", "p", "-W", "4 hours"], "invalid walltime '4 hours'"),
        (["create", "{wf}", "-n", "x", "-a", "p", "-N", "0"], "-N"),
        (["create", "{wf}", "-n", "x"], "--account"),
        (["update", "{cfg}"], "nothing to change"),
        (["update", "{cfg}", "-W", "1:2:3:4"], "invalid walltime '1:2:3:4'"),
        (["get", "999999"], "999999"),
    ],
)
def test_bad_slurm_input_is_refused_and_changes_nothing(
    server: ServerProcess, client: TorcClient, tmp_path: Path, args: list[str], message: str
) -> None:
    wf = _workflow(client)
    cfg = client.post(
        "/slurm_schedulers",
        {"workflow_id": wf, "name": "keep", "account": "p", "nodes": 1, "walltime": "01:00:00"},
    )
    argv = [a.format(wf=wf, cfg=cfg["id"]) for a in args]
    proc = torc(server.url, "slurm", *argv, cwd=tmp_path, expect=None)
    assert proc.returncode != 0
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert list(client.iter_pages("/slurm_schedulers", workflow_id=wf)) == [cfg]


def test_scheduled_compute_nodes_and_the_jobs_their_runners_ran(
    server: ServerProcess, client: TorcClient, tmp_path: Path
) -> None:
    wf = _workflow(client)
    cfg = client.post(
        "/slurm_schedulers",
        {"workflow_id": wf, "name": "c", "account": "p", "nodes": 1, "walltime": "01:00:00"},
    )

    def allocation(slurm_job_id: int, status: str) -> dict[str, Any]:
        return client.post(
            "/scheduled_compute_nodes",
            {
                "workflow_id": wf,
                "scheduler_id": slurm_job_id,
                "scheduler_config_id": cfg["id"],
                "scheduler_type": "slurm",
                "status": status,
            },
        )

    ran, idle = allocation(1001, "complete"), allocation(1002, "pending")
    for name in ("a", "b"):
        client.post("/jobs", {"workflow_id": wf, "name": name, "command": "true"})
    client.post(f"/workflows/{wf}/initialize_jobs")
    scheduler = {"scheduler_id": ran["id"], "type": "slurm", "slurm_job_id": "1001"}
    assert sorted(
        run_ready_jobs(client, wf, tmp_path, scheduler=scheduler, compute_node_type="slurm")
    ) == ["a", "b"]

    def cli(*args: str) -> Any:
        return torc_json(server.url, "scheduled-compute-nodes", *args, cwd=tmp_path)

    assert cli("list", str(wf)) == [ran, idle]
    assert cli("list", str(wf), "--status", "pending") == [idle]
    assert cli("list", str(wf), "--scheduler-id", "1001") == [ran]
    assert cli("get", str(ran["id"])) == ran
    jobs = {j["name"]: j["id"] for j in client.iter_jobs(wf)}
    assert cli("list-jobs", str(ran["id"])) == {
        "scheduled_compute_node_id": ran["id"],
        "workflow_id": wf,
        "compute_node_count": 1,
        "job_ids": sorted(jobs.values()),
    }
    assert cli("list-jobs", str(idle["id"]))["job_ids"] == []


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30", 1800),
        ("30:15", 1815),
        ("04:00:00", 14400),
        ("1-12", 129600),
        ("1-12:30", 131400),
        ("1-12:30:05", 131405),
        (" 2:00:00 ", 7200),
    ],
)
def test_slurm_time_limits_in_every_sbatch_form(text: str, seconds: int) -> None:
    assert slurm_time_seconds(text) == seconds


@pytest.mark.parametrize("text", ["", "x", "1:2:3:4", "-5", "1-", "4h", "1:2:345"])
def test_a_slurm_time_that_sbatch_would_refuse_is_an_error_naming_it(text: str) -> None:
    with pytest.raises(UnitError, match=f"invalid walltime {text!r}"):
        slurm_time_seconds(text)


def test_schedule_nodes_needs_one_config_and_says_which_to_choose(
    server: ServerProcess, client: TorcClient, tmp_path: Path
) -> None:
    wf = str(_workflow(client))
    none = torc(server.url, "slurm", "schedule-nodes", wf, cwd=tmp_path, expect=None)
    assert none.returncode != 0 and "has no Slurm config" in none.stderr
    for name in ("a", "b"):
        torc(server.url, "slurm", "create", wf, "-n", name, "-a", "proj", cwd=tmp_path)
    several = torc(server.url, "slurm", "schedule-nodes", wf, cwd=tmp_path, expect=None)
    assert several.returncode != 0 and "--scheduler-config-id" in several.stderr
    other = _workflow(client)
    foreign = client.post(
        "/slurm_schedulers",
        {"workflow_id": other, "name": "x", "account": "p", "nodes": 1, "walltime": "01:00:00"},
    )
    wrong = torc(
        server.url,
        "slurm",
        "schedule-nodes",
        wf,
        "--scheduler-config-id",
        str(foreign["id"]),
        cwd=tmp_path,
        expect=None,
    )
    assert wrong.returncode != 0 and f"belongs to workflow {other}" in wrong.stderr
    assert list(client.iter_pages("/scheduled_compute_nodes", workflow_id=int(wf))) == []
