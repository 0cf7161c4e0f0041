"""`torc workflows ...`: create, inspect, start, rerun, cancel and archive workflows."""

from pathlib import Path
from typing import Annotated, Any

import typer

from pytorc.cli import output, workflow_repair
from pytorc.cli.common import (
    Limit,
    Offset,
    ReverseSort,
    SortBy,
    WorkflowArg,
    confirm,
    group,
    paging,
    parse_json,
    resolve_workflow_id,
    state,
    user_name,
)
from pytorc.cli.run import run as run_command
from pytorc.cli.submit import (
    Account,
    GroupByOpt,
    Multiplier,
    ProfileOpt,
    SingleAllocation,
    WalltimeStrategyOpt,
    create_planned,
    plan_options,
)
from pytorc.errors import InvalidInput

app = group("Create, inspect, start, rerun, cancel and archive workflows.")

COLUMNS = ("id", "name", "user", "description", "run_id", "is_canceled", "is_archived")
Force = Annotated[bool, typer.Option("--force", help="Go on despite failed checks.")]
DryRun = Annotated[
    bool, typer.Option("--dry-run", help="Report what would happen; change nothing.")
]
NoPrompts = Annotated[bool, typer.Option("--no-prompts", help="Do not ask for confirmation.")]


@app.command("create")
def create(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Workflow spec: .yaml, .yml, .json, .json5, .kdl")],
    dry_run: DryRun = False,
) -> None:
    """Create a workflow from a spec file, owned by $USER.

    With --dry-run the spec is checked and the plan printed; nothing is created.

    Example: torc workflows create diamond.yaml
    """
    from pytorc.spec import create_workflow, load_for_upload, load_spec, plan, spec_warnings

    st = state(ctx)
    st.may_create_db = True  # -s: the first workflow starts a private database
    if dry_run:  # the plan lists the warnings
        spec = load_spec(file)
        if st.format == "json":
            output.emit_json(plan(spec).to_dict())
        else:
            output.message(st.format, plan(spec).describe(), None)
        return
    spec, sweeps = load_for_upload(file)
    for warning in spec_warnings(spec):
        typer.echo(f"warning: {warning}", err=True)
    result = create_workflow(st.client, spec, str(file), user=user_name(), sweeps=sweeps)
    output.message(st.format, f"created workflow {result['id']} ({result['name']})", result)


@app.command("new")
def new(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("-n", "--name", help="Workflow name.")],
    description: Annotated[
        str | None, typer.Option("-d", "--description", help="What it is for.")
    ] = None,
) -> None:
    """Create an empty workflow owned by $USER, to fill with `torc jobs create`.

    Example: torc workflows new -n sweep -d "parameter sweep"
    """
    st = state(ctx)
    st.may_create_db = True  # -s: the first workflow starts a private database
    body = {"name": name, "user": user_name(), "description": description}
    wf = st.client.create_workflow(body)
    output.message(st.format, f"created workflow {wf['id']} ({wf['name']})", wf)


@app.command("list")
def list_workflows(
    ctx: typer.Context,
    archived_only: Annotated[
        bool, typer.Option("--archived-only", help="Only archived workflows.")
    ] = False,
    include_archived: Annotated[
        bool, typer.Option("--include-archived", help="Archived workflows too.")
    ] = False,
    all_users: Annotated[
        bool, typer.Option("--all-users", help="Every user's workflows, not only $USER's.")
    ] = False,
    limit: Limit = None,
    offset: Offset = 0,
    sort_by: SortBy = None,
    reverse_sort: ReverseSort = False,
) -> None:
    """List your workflows (unarchived ones unless asked).

    Example: torc workflows list --include-archived
    """
    st = state(ctx)
    archived: bool | None = True if archived_only else None if include_archived else False
    user = None if all_users else user_name()
    items = list(
        st.client.iter_workflows(
            user=user, is_archived=archived, **paging(limit, offset, sort_by, reverse_sort)
        )
    )
    cut_short = set(st.client.get("/incomplete_workflows")["workflow_ids"])
    for item in items:
        if item["id"] in cut_short:
            item["creation_incomplete"] = True
            if st.format != "json":
                item["name"] = f"{item['name']} (INCOMPLETE)"
    output.records(st.format, items, COLUMNS)
    shown = [item["id"] for item in items if item["id"] in cut_short]
    if shown and st.format != "json":
        ids = " ".join(map(str, shown))
        typer.echo(
            f"INCOMPLETE: the creation of workflow(s) {ids} was cut short (a client or server"
            f" was killed during the upload); they cannot run: `torc workflows delete {ids}`",
            err=True,
        )


@app.command("get")
def get(ctx: typer.Context, workflow_id: WorkflowArg = None) -> None:
    """Show one workflow.

    Example: torc -f json workflows get 3
    """
    st = state(ctx)
    output.record(st.format, st.client.get_workflow(resolve_workflow_id(st, workflow_id)))


@app.command("update")
def update(
    ctx: typer.Context,
    workflow_id: WorkflowArg = None,
    name: Annotated[str | None, typer.Option("-n", "--name", help="New name.")] = None,
    description: Annotated[
        str | None, typer.Option("-d", "--description", help="New description.")
    ] = None,
    owner_user: Annotated[str | None, typer.Option("--owner-user", help="New owner.")] = None,
    project: Annotated[str | None, typer.Option("--project", help="New project.")] = None,
    metadata: Annotated[
        str | None, typer.Option("--metadata", help="New metadata, a JSON object.")
    ] = None,
) -> None:
    """Change a workflow's name, description, owner, project or metadata.

    Example: torc workflows update 3 -n sweep-v2 --metadata '{"round": 2}'
    """
    st = state(ctx)
    wf_id = resolve_workflow_id(st, workflow_id)
    wf = st.client.get_workflow(wf_id)
    changes: dict[str, Any] = {
        "name": name,
        "description": description,
        "user": owner_user,
        "project": project,
        "metadata": None if metadata is None else parse_json(metadata, "--metadata"),
    }
    wf.update({k: v for k, v in changes.items() if v is not None})
    updated = st.client.update_workflow(wf_id, wf)
    output.message(st.format, f"updated workflow {wf_id}", updated)


@app.command("delete")
def delete(
    ctx: typer.Context,
    workflow_ids: Annotated[
        list[int] | None, typer.Argument(help="Workflow ids; omitted: your only workflow.")
    ] = None,
    no_prompts: NoPrompts = False,
) -> None:
    """Delete workflows and everything in them.

    Example: torc workflows delete 3 4 --no-prompts
    """
    st = state(ctx)
    ids = workflow_ids or [resolve_workflow_id(st, None)]
    confirm(f"Delete workflow(s) {', '.join(map(str, ids))} and all their records?", no_prompts)
    deleted = [st.client.delete_workflow(i) for i in ids]
    output.message(
        st.format, [f"deleted workflow {w['id']} ({w['name']})" for w in deleted], deleted
    )


@app.command("status")
def status(ctx: typer.Context, workflow_id: WorkflowArg = None) -> None:
    """Show job counts by status, run time and active runners.

    Example: torc workflows status 3
    """
    st = state(ctx)
    answer = st.client.workflow_status(resolve_workflow_id(st, workflow_id))
    if st.format == "json":
        output.emit_json(answer)
        return
    flat = {k: v for k, v in answer.items() if k != "jobs_by_status"}
    flat.update({f"jobs {k}": v for k, v in answer.get("jobs_by_status", {}).items() if v})
    output.record(st.format, flat)


@app.command("initialize")
def initialize(
    ctx: typer.Context,
    workflow_id: WorkflowArg = None,
    force: Force = False,
    no_prompts: NoPrompts = False,
    dry_run: DryRun = False,
) -> None:
    """Start a workflow from scratch: every job will run.

    Checks that input files exist and consumed user data is set (--force skips this), warns
    about output files that would be overwritten, starts a new run, records file modification
    times and sets jobs blocked or ready.

    Example: torc workflows initialize 3
    """
    from pytorc.client.reinit import initialize as do_initialize

    st = state(ctx)
    wf_id = resolve_workflow_id(st, workflow_id)
    check = do_initialize(st.client, wf_id, force=force, dry_run=True)
    if check.existing_output_files and not dry_run:
        typer.echo(
            f"warning: {len(check.existing_output_files)} output file(s) exist and may be"
            " overwritten: " + ", ".join(check.existing_output_files[:10]),
            err=True,
        )
        confirm("Initialize anyway?", no_prompts)
    report = check if dry_run else do_initialize(st.client, wf_id, force=force)
    lines = []
    if report.missing_files:
        lines.append("missing input files: " + ", ".join(report.missing_files))
    if report.missing_user_data:
        lines.append("missing user data ids: " + ", ".join(map(str, report.missing_user_data)))
    refused = bool(report.missing_files or report.missing_user_data) and not force
    if dry_run:
        verdict = "cannot (yet) be initialized" if refused else "can be initialized"
        lines.append(f"dry run: workflow {wf_id} {verdict}")
    else:
        init = report.initialize or {}
        lines.append(
            f"initialized workflow {wf_id} run {report.run_id}: {init.get('ready', 0)} ready,"
            f" {init.get('blocked', 0)} blocked"
        )
    output.message(st.format, lines, report.to_json())
    if dry_run and refused:
        raise typer.Exit(1)  # as initializing for real would fail


@app.command("reinitialize")
def reinitialize(
    ctx: typer.Context,
    workflow_id: WorkflowArg = None,
    force: Force = False,
    dry_run: DryRun = False,
) -> None:
    """Start a new run that reruns only what changed, and everything downstream of it.

    A job reruns when an input file's modification time changed (or the file appeared or
    vanished), when it completed but an output file is missing, when its command, dependencies
    or input user data changed, or when it was canceled or terminated after its upstream jobs
    completed. Completed jobs with nothing changed stay completed.

    Example: torc workflows reinitialize 3 --dry-run
    """
    from pytorc.client.reinit import reinitialize as do_reinitialize

    st = state(ctx)
    wf_id = resolve_workflow_id(st, workflow_id)
    report = do_reinitialize(st.client, wf_id, force=force, dry_run=dry_run)
    output.message(st.format, _reinit_lines(report), report.to_json())


def _reinit_lines(report: Any) -> list[str]:
    prefix = "dry run: would rerun" if report.dry_run else "rerunning"
    lines = [f"file {c.name} ({c.path}) {c.reason}" for c in report.changed_files]
    lines += [
        f"{prefix} job {r.name} (id {r.id}, was {r.status}): {r.reason}" for r in report.reset_jobs
    ]
    lines += [f"{prefix} job {n}: its inputs changed" for n in report.changed_input_jobs]
    lines += [
        f"{prefix} job {d['name']} (id {d['id']}): downstream" for d in report.downstream_jobs
    ]
    if report.missing_files:
        lines.append("missing input files: " + ", ".join(report.missing_files))
    total = len(report.reset_jobs) + len(report.changed_input_jobs) + len(report.downstream_jobs)
    if report.dry_run:
        lines.append(f"dry run: {total} job(s) would rerun in workflow {report.workflow_id}")
    else:
        init = report.initialize or {}
        lines.append(
            f"reinitialized workflow {report.workflow_id} run {report.run_id}: {total} job(s)"
            f" to rerun; {init.get('ready', 0)} ready, {init.get('blocked', 0)} blocked"
        )
    return lines


@app.command("reset-status")
def reset_status(
    ctx: typer.Context,
    workflow_id: WorkflowArg = None,
    failed_only: Annotated[
        bool,
        typer.Option("--failed-only", help="Only failed/canceled/terminated jobs + downstream."),
    ] = False,
    reinitialize_after: Annotated[
        bool, typer.Option("-r", "--reinitialize", help="Reinitialize afterwards.")
    ] = False,
    force: Force = False,
    no_prompts: NoPrompts = False,
) -> None:
    """Start a new run and make jobs uninitialized again (all, or the failed ones).

    With --failed-only, failed, canceled, terminated and pending_failed jobs and everything
    downstream of them are reset; with -r the workflow is then reinitialized, so those jobs and
    any whose inputs changed rerun while the rest stay completed.

    Example: torc workflows reset-status 3 --failed-only -r
    """
    st = state(ctx)
    wf_id = resolve_workflow_id(st, workflow_id)
    which = "failed" if failed_only else "all"
    confirm(f"Reset {which} jobs of workflow {wf_id}?", no_prompts)
    run = st.client.reset_workflow_status(wf_id, force=force)
    jobs = st.client.reset_job_status(wf_id, failed_only=failed_only)
    data: dict[str, Any] = {"reset_status": run, "reset_job_status": jobs}
    lines = [f"workflow {wf_id} run {run['run_id']}: {jobs['updated_count']} job(s) reset"]
    if reinitialize_after:
        from pytorc.client.reinit import reinitialize as do_reinitialize

        report = do_reinitialize(st.client, wf_id, force=force, new_run=False)
        data["reinitialize"] = report.to_json()
        lines += _reinit_lines(report)
    output.message(st.format, lines, data)


@app.command("cancel")
def cancel(ctx: typer.Context, workflow_id: WorkflowArg = None) -> None:
    """Cancel a workflow: its pending and running jobs become canceled, runners stop, and its
    Slurm allocations that are still queued or running are scancel'ed.

    Example: torc workflows cancel 3
    """
    from pytorc.slurm.cancel import cancel_allocations

    st = state(ctx)
    wf_id = resolve_workflow_id(st, workflow_id)
    answer = st.client.cancel_workflow(wf_id)
    lines = [f"canceled workflow {wf_id}"]
    canceled, problem = cancel_allocations(st.client, wf_id)
    if canceled:
        lines.append(f"scancel'ed Slurm job(s) {', '.join(canceled)}")
    if problem:
        typer.echo(f"warning: {problem}", err=True)
    output.message(st.format, lines, {**answer, "scanceled": canceled})


@app.command("archive")
def archive(
    ctx: typer.Context,
    is_archived: Annotated[str, typer.Argument(help="true to archive, false to unarchive.")],
    workflow_ids: Annotated[
        list[int] | None, typer.Argument(help="Workflow ids; omitted: your only workflow.")
    ] = None,
) -> None:
    """Archive (hide from `list`) or unarchive workflows.

    Example: torc workflows archive true 3 4
    """
    flag = {"true": True, "false": False}.get(is_archived.lower())
    if flag is None:
        raise InvalidInput(f"archive takes true or false, not {is_archived!r}")
    st = state(ctx)
    ids = workflow_ids or [resolve_workflow_id(st, None)]
    done = [st.client.post(f"/workflows/{i}/archive", {"is_archived": flag}) for i in ids]
    verb = "archived" if flag else "unarchived"
    output.message(st.format, [f"{verb} workflow {w['id']}" for w in done], done)


@app.command("is-complete")
def is_complete(ctx: typer.Context, workflow_id: WorkflowArg = None) -> None:
    """Say whether every job is done (or the workflow was canceled).

    Example: torc -f json workflows is-complete 3
    """
    st = state(ctx)
    wf_id = resolve_workflow_id(st, workflow_id)
    answer = st.client.is_complete(wf_id)
    text = f"workflow {wf_id} is {'complete' if answer['is_complete'] else 'not complete'}"
    if answer.get("is_canceled"):
        text += " (canceled)"
    output.message(st.format, text, answer)


@app.command("execution-plan")
def execution_plan(
    ctx: typer.Context,
    spec_or_id: Annotated[str, typer.Argument(help="A spec file, or a workflow id.")],
) -> None:
    """Show the order jobs can run in: stages by dependency level.

    Stage 1 holds jobs that wait for nothing; each later stage waits only for earlier ones.

    Example: torc workflows execution-plan diamond.yaml
    """
    st = state(ctx)
    if spec_or_id.isdigit() and not Path(spec_or_id).exists():
        plan = _plan_for_workflow(st.client, int(spec_or_id))
    else:
        from pytorc.spec import load_spec
        from pytorc.spec import plan as spec_plan

        levels = spec_plan(load_spec(Path(spec_or_id))).levels
        plan = {
            "spec": spec_or_id,
            "stages": [{"stage": n, "jobs": names} for n, names in enumerate(levels, start=1)],
        }
    if st.format == "json":
        output.emit_json(plan)
        return
    rows = [
        {"stage": s["stage"], "jobs": len(s["jobs"]), "names": _names(s["jobs"])}
        for s in plan["stages"]
    ]
    output.records(st.format, rows, ("stage", "jobs", "names"))


def _names(names: list[str], most: int = 8) -> str:
    shown = ", ".join(names[:most])
    return shown + (f", ... (+{len(names) - most})" if len(names) > most else "")


def _plan_for_workflow(client: Any, workflow_id: int) -> dict[str, Any]:
    from pytorc.client.graph import stages

    jobs = {j["id"]: j for j in client.iter_jobs(workflow_id, include_relationships=True)}
    return {
        "workflow_id": workflow_id,
        "stages": [
            {"stage": n, "jobs": [jobs[j]["name"] for j in level]}
            for n, level in enumerate(stages(jobs), start=1)
        ],
    }


@app.command("list-actions")
def list_actions(ctx: typer.Context, workflow_id: WorkflowArg = None) -> None:
    """List a workflow's actions and whether they ran.

    Example: torc workflows list-actions 3
    """
    st = state(ctx)
    wf_id = resolve_workflow_id(st, workflow_id)
    actions = st.client.get(f"/workflows/{wf_id}/actions")
    columns = ("id", "trigger_type", "action_type", "executed", "executed_at", "job_ids")
    output.records(st.format, actions, columns)


app.command("run")(run_command)  # `torc workflows run ID` is `torc run ID`


@app.command("create-slurm")
def create_slurm(
    ctx: typer.Context,
    spec_file: Annotated[Path, typer.Argument(help="A workflow spec file.")],
    account: Account,
    profile: ProfileOpt = None,
    single_allocation: SingleAllocation = False,
    group_by: GroupByOpt = "resource-requirements",
    walltime_strategy: WalltimeStrategyOpt = "max-job-runtime",
    walltime_multiplier: Multiplier = 1.5,
) -> None:
    """Create a workflow with Slurm schedulers and schedule_nodes actions planned for it from
    an HPC profile (as `torc slurm generate`); `torc submit ID` then submits it.

    Example: torc workflows create-slurm sweep.yaml -a myproject --profile kestrel
    """
    st = state(ctx)
    options = plan_options(
        account, single_allocation, group_by, walltime_strategy, walltime_multiplier
    )
    created, schedulers, chosen = create_planned(st, spec_file, options, profile)
    text = (
        f"created workflow {created['id']} ({created['name']}) with {schedulers} Slurm"
        f" scheduler(s) planned on {chosen}"
    )
    output.message(st.format, text, created)


app.command("sync-status")(workflow_repair.sync_status)
app.command("correct-resources")(workflow_repair.correct_resources)
