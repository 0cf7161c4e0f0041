"""Small conventions a new user expects: -h, a server URL without the API's base path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_helpers import torc, torc_json
from helpers import ServerProcess


@pytest.mark.parametrize("command", [[], ["workflows"], ["workflows", "list"], ["jobs", "logs"]])
def test_dash_h_is_help_everywhere(tmp_path: Path, command: list[str]) -> None:
    short = torc(None, *command, "-h", cwd=tmp_path)
    assert short.stdout.startswith("Usage: torc") and "--help" in short.stdout
    assert short.stdout == torc(None, *command, "--help", cwd=tmp_path).stdout


def test_a_server_url_without_the_base_path_reaches_the_api(
    server: ServerProcess, tmp_path: Path
) -> None:
    bare = server.url.removesuffix("/torc-service/v1")
    assert bare != server.url
    made = torc_json(bare + "/", "workflows", "new", "-n", "bare_url", cwd=tmp_path)
    listed = torc_json(server.url, "workflows", "list", cwd=tmp_path)
    assert made["id"] in [w["id"] for w in listed]


def test_the_output_format_may_follow_the_subcommand(server: ServerProcess, tmp_path: Path) -> None:
    torc_json(server.url, "workflows", "new", "-n", "formats", cwd=tmp_path)
    before = torc_json(server.url, "workflows", "list", cwd=tmp_path)
    after = torc(server.url, "workflows", "list", "-f", "json", cwd=tmp_path).stdout
    assert json.loads(after) == before
    equals = torc(server.url, "workflows", "list", "--format=json", cwd=tmp_path).stdout
    assert json.loads(equals) == before
    # A command whose own -f means something else keeps it.
    shown = torc(None, "config", "show", "-f", "json", cwd=tmp_path).stdout
    assert "client" in json.loads(shown)


@pytest.mark.parametrize(
    ("argv", "named"),
    [(["tui"], "torc tui"), (["workflows", "export", "1"], "torc workflows export")],
)
def test_a_torc_command_pytorc_lacks_says_so(tmp_path: Path, argv: list[str], named: str) -> None:
    done = torc(None, *argv, cwd=tmp_path, expect=2)
    assert f"error: `{named}` is a Torc command that pytorc does not have yet" in done.stderr
    unknown = torc(None, "frobnicate", cwd=tmp_path, expect=2)
    assert "No such command 'frobnicate'" in unknown.stderr


def test_job_commands_take_a_name_within_a_workflow(server: ServerProcess, tmp_path: Path) -> None:
    spec = tmp_path / "named.yaml"
    spec.write_text("name: named\njobs:\n  - {name: flaky, command: 'exit 1'}\n")
    run = torc(server.url, "-f", "json", "run", str(spec), "-p", "0.1", cwd=tmp_path, expect=1)
    wf = str(json.loads(run.stdout)["workflow_id"])
    got = torc_json(server.url, "jobs", "get", "flaky", "-w", wf, cwd=tmp_path)
    assert got["name"] == "flaky" and got["status"] == "failed"
    again = torc_json(server.url, "jobs", "retry", "flaky", "-w", wf, cwd=tmp_path)
    assert again[0]["id"] == got["id"] and again[0]["attempt_id"] == 2
    missing = torc(server.url, "jobs", "get", "nope", "-w", wf, cwd=tmp_path, expect=1)
    assert f"workflow {wf} has no job named 'nope'" in missing.stderr
    unnamed = torc(server.url, "jobs", "get", "flaky", cwd=tmp_path, expect=1)
    assert "say which workflow (-w/--workflow)" in unnamed.stderr
    results = torc_json(server.url, "results", "list", wf, "-j", "flaky", cwd=tmp_path)
    assert [r["job_id"] for r in results] == [got["id"]]
    out = str(tmp_path / "output")
    report = torc_json(server.url, "reports", "results", wf, "-o", out, "-j", "flaky",
                       cwd=tmp_path)  # fmt: skip
    assert [r["job_id"] for r in report["results"]] == [got["id"]]
    fresh = str(torc_json(server.url, "workflows", "create", str(spec), cwd=tmp_path)["id"])
    renamed = torc_json(server.url, "jobs", "update", "flaky", "-w", fresh, "-n", "steady",
                        cwd=tmp_path)  # fmt: skip
    assert renamed["name"] == "steady"  # only an uninitialized job may change
    gone = torc_json(server.url, "jobs", "delete", "steady", "-w", fresh, cwd=tmp_path)
    assert [j["id"] for j in gone] == [renamed["id"]]
