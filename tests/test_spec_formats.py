"""One workflow written as YAML, .yml, JSON, JSON5 and KDL creates the same server state."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from helpers import ServerProcess
from pytorc.client.api import TorcClient
from pytorc.spec import create_workflow_from_spec, load_spec
from pytorc.spec.load import read_data
from spec_helpers import DATA, server_state

FORMATS = ("yaml", "yml", "json", "json5", "kdl")


@pytest.fixture(scope="module")
def client(server: ServerProcess) -> Iterator[TorcClient]:
    with TorcClient(server.url, retry_seconds=5) as c:
        yield c


def spec_file(tmp_path: Path, fmt: str) -> Path:
    source = DATA / f"formats.{'yaml' if fmt == 'yml' else fmt}"
    target = tmp_path / f"formats.{fmt}"
    shutil.copy(source, target)
    return target


@pytest.fixture(scope="module")
def states(client: TorcClient, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("formats")
    out = {}
    for fmt in FORMATS:
        wf = create_workflow_from_spec(client, spec_file(tmp, fmt), user="tester")
        out[fmt] = server_state(client, int(wf["id"]))
    return out


def test_every_format_parses_to_the_same_data() -> None:
    data = {fmt: read_data(DATA / f"formats.{fmt}") for fmt in ("yaml", "json", "json5", "kdl")}
    assert data["json"] == data["yaml"]
    assert data["json5"] == data["yaml"]
    assert data["kdl"] == data["yaml"]


def test_every_format_loads_to_the_same_model(tmp_path: Path) -> None:
    models = {fmt: load_spec(spec_file(tmp_path, fmt)) for fmt in FORMATS}
    for fmt in FORMATS:
        assert models[fmt] == models["yaml"], fmt


@pytest.mark.parametrize("fmt", FORMATS[1:])
def test_every_format_creates_identical_server_state(states: dict[str, Any], fmt: str) -> None:
    assert states[fmt] == states["yaml"]


def test_the_created_state_is_what_the_spec_says(states: dict[str, Any]) -> None:
    state = states["kdl"]
    assert state["workflow"]["user"] == "tester"  # not the spec's user; here none is given
    assert state["workflow"]["compute_node_wait_for_new_jobs_seconds"] == 90
    assert state["workflow"]["metadata"] == {"owner": "tests", "tags": ["a", "b"]}
    assert state["workflow"]["slurm_defaults"] == {"qos": "high", "cpus-per-task": 4}
    assert state["workflow"]["resource_monitor_config"]["granularity"] == "time_series"
    jobs = state["jobs"]
    assert sorted(jobs) == sorted(
        ["fetch_1", "fetch_2", "fetch_3", "report"]
        + [f"train_{i}_{s}" for i in (1, 2, 3) for s in ("0.50", "1.50")]
    )
    assert jobs["fetch_2"]["output_files"] == ["raw_2"]
    assert jobs["fetch_2"]["command"] == "fetch --out data/raw_2.csv"
    assert jobs["fetch_2"]["priority"] == 5
    train = jobs["train_2_1.50"]
    assert train["input_files"] == ["raw_2"] and train["input_user_data"] == ["config"]
    assert (train["scheduler"], train["failure_handler"]) == ("short", "retry_oom")
    assert train["command"].startswith("train data/raw_2.csv --scale 1.5 {")
    report = jobs["report"]
    assert report["depends_on"] == sorted(n for n in jobs if n.startswith("train_"))
    assert report["cancel_on_blocking_job_failure"] is False
    assert report["invocation_script"] == "bash -eu"
    assert report["resource_requirements"] == "default"  # the server's default
    assert state["resource_requirements"]["big"]["memory"] == "2g"
    assert state["files"]["raw_3"] == "data/raw_3.csv"
    assert state["user_data"]["config"] == ({"alpha": 0.1, "layers": [64, 32]}, False)
    assert state["failure_handlers"]["retry_oom"][0] == {
        "exit_codes": [137],
        "match_all_exit_codes": False,
        "max_retries": 2,
    }
    schedule, run = state["actions"]
    assert schedule["action_config"]["scheduler_id"] == "short"
    assert schedule["action_config"]["num_allocations"] == 2
    assert run == {
        "trigger_type": "on_jobs_complete",
        "action_type": "run_commands",
        "action_config": {"commands": ["echo done"]},
        "jobs": ["report"],
        "persistent": False,
    }
