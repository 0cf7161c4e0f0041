"""Spec files through the CLI: create, dry run, execution plan, bad specs, a rerun cycle."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli_helpers import run_ready_jobs, statuses, torc, torc_json
from helpers import ServerProcess
from pytorc.client.api import TorcClient

PIPELINE = """\
name: pipeline
description: split, work on each part, merge
files:
  - name: raw
    path: raw.txt
  - name: part_{i}
    path: part_{i}.txt
    parameters:
      i: "1:3"
  - name: merged
    path: merged.txt
jobs:
  - name: split
    command: "for i in 1 2 3; do cat ${files.input.raw} > part_$i.txt; done"
    output_files: [part_1, part_2, part_3]
  - name: work_{i}
    command: "wc -c ${files.input.part_{i}}"
    parameters:
      i: "1:3"
  - name: merge
    command: "cat part_*.txt > ${files.output.merged}"
    depends_on_regexes: ["work_.*"]
"""


@pytest.fixture(scope="module")
def client(server: ServerProcess) -> Iterator[TorcClient]:
    with TorcClient(server.url) as c:
        yield c


def test_spec_create_plan_run_and_rerun_a_touched_input(
    server: ServerProcess, client: TorcClient, tmp_path: Path
) -> None:
    user = f"u{uuid.uuid4().hex[:8]}"
    spec = tmp_path / "pipeline.yaml"
    spec.write_text(PIPELINE)
    (tmp_path / "raw.txt").write_text("data\n")

    dry = torc_json(
        server.url, "workflows", "create", str(spec), "--dry-run", cwd=tmp_path, user=user
    )
    assert dry["num_jobs"] == 5
    assert torc_json(server.url, "workflows", "list", cwd=tmp_path, user=user) == []
    text = torc(server.url, "workflows", "create", "--dry-run", str(spec), cwd=tmp_path).stdout
    assert "pipeline" in text and "5" in text

    plan = torc_json(server.url, "workflows", "execution-plan", str(spec), cwd=tmp_path, user=user)
    stages = [sorted(s["jobs"]) for s in plan["stages"]]
    assert stages == [["split"], ["work_1", "work_2", "work_3"], ["merge"]]

    created = torc_json(server.url, "workflows", "create", str(spec), cwd=tmp_path, user=user)
    wf_id = created["id"]
    assert created == client.get_workflow(wf_id) and created["user"] == user
    by_id = torc_json(server.url, "workflows", "execution-plan", str(wf_id), cwd=tmp_path)
    assert [sorted(s["jobs"]) for s in by_id["stages"]] == stages

    torc(server.url, "workflows", "initialize", cwd=tmp_path, user=user)  # the user's only one
    assert len(run_ready_jobs(client, wf_id, tmp_path)) == 5
    assert (tmp_path / "merged.txt").read_text() == "data\n" * 3

    # Touch one intermediate file: only its consumer and what follows rerun.
    later = os.stat(tmp_path / "part_2.txt").st_mtime + 5
    os.utime(tmp_path / "part_2.txt", (later, later))
    report = torc_json(server.url, "workflows", "reinitialize", cwd=tmp_path, user=user)
    assert [r["name"] for r in report["reset_jobs"]] == ["work_2"]
    assert [d["name"] for d in report["downstream_jobs"]] == ["merge"]
    assert sorted(run_ready_jobs(client, wf_id, tmp_path)) == ["merge", "work_2"]
    assert set(statuses(client, wf_id).values()) == {"completed"}


def test_bad_spec_is_one_line_and_creates_nothing(server: ServerProcess, tmp_path: Path) -> None:
    user = f"u{uuid.uuid4().hex[:8]}"
    spec = tmp_path / "bad.yaml"
    spec.write_text('name: bad\njobs:\n  - {name: a, command: "true", depends_on: [nope]}\n')
    proc = torc(server.url, "workflows", "create", str(spec), cwd=tmp_path, user=user, expect=1)
    assert proc.stderr.count("\n") == 1
    assert proc.stderr.startswith("error: ") and "bad.yaml" in proc.stderr and "nope" in proc.stderr
    assert torc_json(server.url, "workflows", "list", cwd=tmp_path, user=user) == []
    missing = torc(server.url, "workflows", "create", "absent.yaml", cwd=tmp_path, expect=1)
    assert "absent.yaml" in missing.stderr and missing.stderr.count("\n") == 1
