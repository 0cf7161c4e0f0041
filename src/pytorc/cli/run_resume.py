"""`torc run`'s resuming and dry run (see client/resume.py for what resuming means)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from pytorc.cli import output
from pytorc.cli.common import CliState
from pytorc.client.api import TorcClient
from pytorc.client.resume import interrupted, resume, unfinished_from


def offer(client: TorcClient, name: str, user: str) -> int | None:
    """The unfinished workflow made from this spec, if the user takes it up: asked on a
    terminal; elsewhere (scripts) a new workflow is made and a note says how to resume."""
    earlier = unfinished_from(client, name, user)
    if earlier is None:
        return None
    wf = int(earlier["id"])
    if sys.stdin.isatty():
        question = f"workflow {wf} ({name}) from this spec is unfinished: resume it?"
        if typer.confirm(question, default=True, err=True):
            return wf
        return None
    typer.echo(
        f"note: workflow {wf} ({name}) from this spec is unfinished; `torc run {wf}` resumes"
        " it. Creating a new one (--new does so without this note).",
        err=True,
    )
    return None


def resume_workflow(client: TorcClient, workflow_id: int) -> int:
    """Run again what a stop interrupted; says so when there is anything."""
    jobs = interrupted(client, workflow_id)
    if jobs:
        resume(client, workflow_id, jobs)
        names = ", ".join(job["name"] for job in jobs[:5]) + (", ..." if len(jobs) > 5 else "")
        typer.echo(
            f"resuming workflow {workflow_id}: {len(jobs)} interrupted job(s) run again: {names}",
            err=True,
        )
    return workflow_id


def describe_run(st: CliState, spec_or_id: str) -> None:
    """--dry-run: what `torc run` would do, changing nothing."""
    from pytorc.cli.run import is_spec_path

    if is_spec_path(spec_or_id):
        from pytorc.spec import load_spec, plan

        creation = plan(load_spec(Path(spec_or_id)))
        lines = [creation.describe(), "then it would be initialized and run here"]
        output.message(st.format, lines, creation.to_dict())
        return
    workflow_id = int(spec_or_id)
    client = st.client
    counts = client.workflow_status(workflow_id)["jobs_by_status"]
    again = interrupted(client, workflow_id)
    data: dict[str, Any] = {
        "workflow_id": workflow_id,
        "jobs_by_status": counts,
        "interrupted_jobs_to_run_again": [job["name"] for job in again],
    }
    lines = [
        f"workflow {workflow_id}: {counts['ready']} ready, {counts['blocked']} blocked,"
        f" {counts['uninitialized']} uninitialized",
        f"{len(again)} interrupted job(s) would run again"
        + (": " + ", ".join(data["interrupted_jobs_to_run_again"][:5]) if again else ""),
    ]
    output.message(st.format, lines, data)


def where_it_is(st: CliState, workflow_id: int) -> str:
    """After a run on a private server: its database, and the command to look at it again."""
    from pytorc.client.standalone import DEFAULT_DB, database_of

    database = database_of(st.database)
    if database == ":memory:":
        database = st.snapshot_path or str(DEFAULT_DB)  # where the final snapshot went
    db_flag = "" if database == str(DEFAULT_DB) else f" --db {database}"
    return (
        f"private server database: {database}; look at it again:"
        f" torc -s{db_flag} workflows status {workflow_id}"
    )
