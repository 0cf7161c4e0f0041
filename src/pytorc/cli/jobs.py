"""`torc jobs ...`: create, list, inspect, change and delete jobs."""

import contextlib
from pathlib import Path
from typing import Annotated, Any

import typer

from pytorc.cli import output
from pytorc.cli.common import (
    Limit,
    Offset,
    ReverseSort,
    SortBy,
    WorkflowArg,
    confirm,
    group,
    paging,
    resolve_workflow_id,
    split_ids,
    state,
)
from pytorc.errors import InvalidInput

app = group("Create, list, inspect, change and delete jobs.")

COLUMNS = ("id", "name", "status", "priority", "attempt_id", "compute_node_id", "command")


@app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("-n", "--name", help="Job name.")],
    command: Annotated[str, typer.Option("-c", "--command", help="Command (bash -c).")],
    workflow_id: WorkflowArg = None,
    resource_requirements_id: Annotated[
        int | None, typer.Option("-r", "--resource-requirements-id", help="Resources it needs.")
    ] = None,
    blocking_job_ids: Annotated[
        list[str] | None,
        typer.Option("-b", "--blocking-job-ids", help="Jobs it waits for (ids, repeatable)."),
    ] = None,
    input_file_ids: Annotated[
        list[str] | None,
        typer.Option("-i", "--input-file-ids", help="Files it reads (ids, repeatable)."),
    ] = None,
    output_file_ids: Annotated[
        list[str] | None,
        typer.Option("-o", "--output-file-ids", help="Files it writes (ids, repeatable)."),
    ] = None,
) -> None:
    """Add one job to a workflow.

    Example: torc jobs create 3 -n post -c 'python post.py' -b 10,11 -i 4
    """
    st = state(ctx)
    wf_id = resolve_workflow_id(st, workflow_id)
    body: dict[str, Any] = {
        "workflow_id": wf_id,
        "name": name,
        "command": command,
        "resource_requirements_id": resource_requirements_id,
        "depends_on_job_ids": split_ids(blocking_job_ids),
        "input_file_ids": split_ids(input_file_ids),
        "output_file_ids": split_ids(output_file_ids),
    }
    job = st.client.post("/jobs", body)
    output.message(st.format, f"created job {job['id']} ({job['name']})", job)


@app.command("create-from-file")
def create_from_file(
    ctx: typer.Context,
    workflow_id: Annotated[int, typer.Argument(help="Workflow id.")],
    file: Annotated[Path, typer.Argument(help="Text file: one command per line; # comments.")],
    cpus_per_job: Annotated[int, typer.Option("--cpus-per-job", min=1)] = 1,
    memory_per_job: Annotated[str, typer.Option("--memory-per-job", help="e.g. 512m, 8g")] = "1m",
    runtime_per_job: Annotated[
        str, typer.Option("--runtime-per-job", help="ISO 8601, e.g. PT30M")
    ] = "P0DT1M",
) -> None:
    """Create one job per line of a file, named job<N> after the jobs already there.

    All of them share one new resource-requirements record with the given amounts.

    Example: torc jobs create-from-file 3 commands.txt --cpus-per-job 4 --memory-per-job 8g
    """
    st = state(ctx)
    try:
        lines = file.read_text().splitlines()
    except OSError as exc:
        raise InvalidInput(f"cannot read {file}: {exc.strerror}") from None
    commands = [
        line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")
    ]
    if not commands:
        raise InvalidInput(f"{file} holds no commands")
    existing = int(st.client.get("/jobs", workflow_id=workflow_id, limit=1)["total_count"])
    rr = st.client.post(
        "/resource_requirements",
        {
            "workflow_id": workflow_id,
            "name": f"{file.stem}_{existing + 1}",
            "num_cpus": cpus_per_job,
            "memory": memory_per_job,
            "runtime": runtime_per_job,
        },
    )
    jobs = st.client.create_jobs(
        [
            {
                "workflow_id": workflow_id,
                "name": f"job{existing + n}",
                "command": cmd,
                "resource_requirements_id": rr["id"],
            }
            for n, cmd in enumerate(commands, start=1)
        ]
    )
    output.message(st.format, f"created {len(jobs)} jobs in workflow {workflow_id}", jobs)


@app.command("list")
def list_jobs(
    ctx: typer.Context,
    workflow_id: WorkflowArg = None,
    status: Annotated[str | None, typer.Option("-s", "--status", help="Only this status.")] = None,
    upstream_job_id: Annotated[
        int | None, typer.Option("--upstream-job-id", help="Only jobs waiting for this job.")
    ] = None,
    include_relationships: Annotated[
        bool,
        typer.Option("--include-relationships", help="Add dependency and file/user-data ids."),
    ] = False,
    limit: Limit = None,
    offset: Offset = 0,
    sort_by: SortBy = None,
    reverse_sort: ReverseSort = False,
) -> None:
    """List a workflow's jobs.

    Example: torc jobs list 3 -s failed
    """
    st = state(ctx)
    wf_id = resolve_workflow_id(st, workflow_id)
    items = st.client.iter_jobs(
        wf_id,
        status=status,
        upstream_job_id=upstream_job_id,
        include_relationships=include_relationships or None,
        **paging(limit, offset, sort_by, reverse_sort),
    )
    columns: tuple[str, ...] = COLUMNS
    if include_relationships:
        columns = (*COLUMNS[:-1], "depends_on_job_ids", "input_file_ids", "output_file_ids")
    output.records(st.format, items, columns)


JobRef = Annotated[str, typer.Argument(help="Job id, or name with -w.", metavar="JOB")]
JobRefs = Annotated[list[str], typer.Argument(help="Job ids, or names with -w.", metavar="JOB...")]
InWorkflow = Annotated[
    int | None, typer.Option("--workflow", "-w", help="The workflow of jobs given by name.")
]


def _job_ids(st: Any, refs: list[str], workflow_id: int | None) -> list[int]:
    from pytorc.client.job_logs import resolve_job

    return [int(resolve_job(st.client, ref, workflow_id)["id"]) for ref in refs]


@app.command("get")
def get(ctx: typer.Context, job: JobRef, workflow_id: InWorkflow = None) -> None:
    """Show one job, with its dependencies and files.

    Examples: torc -f json jobs get 42; torc jobs get train_3 -w 7
    """
    st = state(ctx)
    output.record(st.format, st.client.get_job(_job_ids(st, [job], workflow_id)[0]))


@app.command("update")
def update(
    ctx: typer.Context,
    job: JobRef,
    name: Annotated[str | None, typer.Option("-n", "--name", help="New name.")] = None,
    command: Annotated[str | None, typer.Option("-c", "--command", help="New command.")] = None,
    runtime: Annotated[
        str | None, typer.Option("--runtime", help="New runtime on its resource requirements.")
    ] = None,
    resource_requirements_id: Annotated[
        int | None, typer.Option("--resource-requirements-id", help="Use these resources.")
    ] = None,
    priority: Annotated[
        int | None, typer.Option("--priority", min=0, help="Higher is claimed first.")
    ] = None,
    workflow_id: InWorkflow = None,
) -> None:
    """Change a job that has not been initialized yet.

    Example: torc jobs update 42 -c 'python work.py --fast' --runtime PT2H
    """
    st = state(ctx)
    job_id = _job_ids(st, [job], workflow_id)[0]
    record = st.client.get_job(job_id)
    if runtime is not None:
        rr_id = resource_requirements_id or record.get("resource_requirements_id")
        if rr_id is None:
            raise InvalidInput(f"job {job_id} has no resource requirements to set a runtime on")
        rr = st.client.get_resource_requirements(rr_id)
        st.client.put(f"/resource_requirements/{rr_id}", {**rr, "runtime": runtime})
    changes = {
        "name": name,
        "command": command,
        "resource_requirements_id": resource_requirements_id,
        "priority": priority,
    }
    record.update({k: v for k, v in changes.items() if v is not None})
    updated = st.client.put(f"/jobs/{job_id}", record)
    output.message(st.format, f"updated job {job_id}", updated)


@app.command("delete")
def delete(
    ctx: typer.Context,
    jobs: JobRefs,
    workflow_id: InWorkflow = None,
) -> None:
    """Delete jobs.

    Example: torc jobs delete 42 43
    """
    st = state(ctx)
    ids = _job_ids(st, jobs, workflow_id)
    output.deleted(st.format, "job", [st.client.delete(f"/jobs/{i}") for i in ids])


@app.command("delete-all")
def delete_all(
    ctx: typer.Context,
    workflow_id: WorkflowArg = None,
    no_prompts: Annotated[bool, typer.Option("--no-prompts", help="Do not ask.")] = False,
) -> None:
    """Delete every job of a workflow.

    Example: torc jobs delete-all 3 --no-prompts
    """
    st = state(ctx)
    wf_id = resolve_workflow_id(st, workflow_id)
    confirm(f"Delete all jobs of workflow {wf_id}?", no_prompts)
    answer = st.client.delete("/jobs", workflow_id=wf_id)
    output.message(st.format, f"deleted {answer['count']} jobs", answer)


def _decide(st: Any, job_ids: list[int], verb: str) -> list[dict[str, Any]]:
    """Send each job's decision in its workflow's current run; the jobs as they are after."""
    runs: dict[int, int] = {}
    decided = []
    for job_id in job_ids:
        job = st.client.get(f"/jobs/{job_id}")
        wf = int(job["workflow_id"])
        if wf not in runs:
            runs[wf] = int(st.client.get_workflow(wf)["run_id"])
        if verb == "retry":  # a person's retry is always allowed one more attempt
            attempts = int(job.get("attempt_id") or 1) + 1
            path = f"/jobs/{job_id}/retry/{runs[wf]}"
            decided.append(st.client.post(path, max_retries=attempts))
        else:
            decided.append(st.client.post(f"/jobs/{job_id}/fail/{runs[wf]}"))
    return decided


@app.command("retry")
def retry(ctx: typer.Context, jobs: JobRefs, workflow_id: InWorkflow = None) -> None:
    """Run failed, terminated or pending_failed jobs again (as their next attempt); their
    dependents wait for them again.

    Examples: torc jobs retry 42 43 (then: torc run WF_ID); torc jobs retry train_3 -w 7
    """
    st = state(ctx)
    decided = _decide(st, _job_ids(st, jobs, workflow_id), "retry")
    lines = [
        f"job {j['id']} ({j['name']}) ready again as attempt {j['attempt_id']}" for j in decided
    ]
    output.message(st.format, lines, decided)


@app.command("fail")
def fail(ctx: typer.Context, jobs: JobRefs, workflow_id: InWorkflow = None) -> None:
    """Decide that pending_failed jobs failed (workflows with use_pending_failed): their
    dependents are released or canceled as for any failure.

    Example: torc jobs list 3 -s pending_failed; torc jobs fail 42 (or: fail train_3 -w 3)
    """
    st = state(ctx)
    decided = _decide(st, _job_ids(st, jobs, workflow_id), "fail")
    output.message(st.format, [f"job {j['id']} ({j['name']}) failed" for j in decided], decided)


@app.command("logs")
def logs(
    ctx: typer.Context,
    job: Annotated[str, typer.Argument(help="Job id, or name (with -w).")],
    workflow_id: Annotated[
        int | None, typer.Option("-w", "--workflow", help="The workflow of a job name.")
    ] = None,
    stdout_only: Annotated[bool, typer.Option("--stdout", help="Only its stdout.")] = False,
    stderr_only: Annotated[bool, typer.Option("--stderr", help="Only its stderr.")] = False,
    lines: Annotated[
        int | None, typer.Option("-n", "--tail", min=0, help="Only the last N lines.")
    ] = None,
    follow: Annotated[
        bool, typer.Option("-f", "--follow", help="Keep printing what it writes (Ctrl-C ends).")
    ] = False,
) -> None:
    """Print a job's stdout and stderr (its latest attempt, or the one running), found through
    the output directory its runner recorded.

    Example: torc jobs logs 42 --stderr --tail 20; torc jobs logs train -w 3 -f
    """
    from pytorc.client.job_logs import resolve_job, stdio_of

    st = state(ctx)
    if not job.isdigit() and workflow_id is None:
        workflow_id = resolve_workflow_id(st, None)
    record = resolve_job(st.client, job, workflow_id)
    found = stdio_of(st.client, record)
    if found.stdout is None or found.stderr is None:
        raise InvalidInput(
            f"job {record['id']} ({record['name']}) has no output yet: it has not run, or its"
            " runner recorded no output directory"
        )
    wanted = [("stdout", found.stdout), ("stderr", found.stderr)]
    if stdout_only != stderr_only:
        wanted = wanted[:1] if stdout_only else wanted[1:]
    if st.format == "json":
        output.emit_json(
            {
                "job_id": record["id"],
                "run_id": found.run_id,
                "attempt_id": found.attempt_id,
                **{name: str(path) for name, path in wanted},
            }
        )
        return
    _print_stdio(wanted, lines, follow, len(wanted) > 1)


def _print_stdio(
    files: list[tuple[str, Path]], lines: int | None, follow: bool, titled: bool
) -> None:
    from pytorc.client.job_logs import tail

    offsets: dict[Path, int] = {}
    for name, path in files:
        if titled:
            typer.echo(f"==> {name}: {path} <==")
        if not path.is_file():
            typer.echo(f"({path} does not exist)")
            continue
        text = (
            tail(path, lines)
            if lines is not None
            else path.read_text(errors="replace").splitlines()
        )
        for line in text:
            typer.echo(line)
        offsets[path] = path.stat().st_size
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends a --follow
        _follow(offsets, follow)


def _follow(offsets: dict[Path, int], follow: bool) -> None:
    import time

    while follow:
        time.sleep(0.5)
        for path, offset in offsets.items():
            size = path.stat().st_size if path.exists() else 0
            if size > offset:
                with open(path, "rb") as f:
                    f.seek(offset)
                    typer.echo(f.read(size - offset).decode(errors="replace"), nl=False)
                offsets[path] = size
