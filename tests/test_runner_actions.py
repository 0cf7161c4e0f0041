"""Workflow actions run by real runners (`torc run`): each fires once when its trigger comes
true, persistent ones once per runner, and a failing command does not stop the workflow."""

from __future__ import annotations

import subprocess
from pathlib import Path

from cli_helpers import TORC, cli_env, torc, torc_json
from helpers import ServerProcess

SPEC = """
name: actions
jobs:
  - {name: a, command: "true"}
  - {name: b, command: "true", depends_on: [a]}
actions:
  - {trigger_type: on_workflow_start, action_type: run_commands, commands: ["echo start >> log"]}
  - trigger_type: on_jobs_ready
    action_type: run_commands
    jobs: [b]
    commands: ["echo b-ready >> log"]
  - trigger_type: on_jobs_complete
    action_type: run_commands
    jobs: [a]
    commands: ["echo a-done >> log", "false", "echo never >> log"]
  - {trigger_type: on_workflow_complete, action_type: run_commands, commands: ["echo end >> log"]}
  - trigger_type: on_worker_start
    action_type: run_commands
    persistent: true
    commands: ["echo worker-start >> log"]
  - trigger_type: on_worker_complete
    action_type: run_commands
    persistent: true
    commands: ["echo worker-end >> log"]
"""


def test_each_action_runs_once_when_its_trigger_comes_true(
    server: ServerProcess, tmp_path: Path
) -> None:
    spec = tmp_path / "wf.yaml"
    spec.write_text(SPEC)
    out = tmp_path / "out"
    done = torc(server.url, "run", str(spec), "-o", str(out), "-p", "0.2", cwd=tmp_path)
    assert "warning: actions" not in done.stderr
    lines = (out / "log").read_text().split()
    assert sorted(lines) == sorted(
        ["start", "worker-start", "b-ready", "a-done", "end", "worker-end"]
    ), lines
    assert lines.index("start") < lines.index("a-done") < lines.index("end")
    assert lines[-1] == "worker-end"


def test_two_runners_share_one_shot_actions_and_each_runs_persistent_ones(
    server: ServerProcess, tmp_path: Path
) -> None:
    spec = tmp_path / "wf.yaml"
    spec.write_text(
        SPEC.replace('command: "true", depends_on: [a]', 'command: "sleep 1", depends_on: [a]')
    )
    out = tmp_path / "out"
    workflow_id = str(torc_json(server.url, "workflows", "create", str(spec), cwd=tmp_path)["id"])
    torc(server.url, "workflows", "initialize", workflow_id, cwd=tmp_path)
    runners = [
        subprocess.Popen(
            [str(TORC), "--url", server.url, "run", workflow_id, "-o", str(out), "-p", "0.2"],
            cwd=tmp_path,
            env=cli_env(tmp_path),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    assert [r.wait(timeout=120) for r in runners] == [0, 0]
    lines = (out / "log").read_text().split()
    one_shot = [line for line in lines if not line.startswith("worker")]
    assert sorted(one_shot) == ["a-done", "b-ready", "end", "start"]  # once, not per runner
    assert lines.count("worker-start") == 2 and lines.count("worker-end") == 2
