"""`torc slurm ...`: the Slurm scheduler configs (sbatch settings) of a workflow."""

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
    group,
    paging,
    resolve_workflow_id,
    state,
)
from pytorc.cli.submit import (
    Account,
    GroupByOpt,
    Multiplier,
    ProfileOpt,
    SingleAllocation,
    WalltimeStrategyOpt,
    plan_options,
)
from pytorc.errors import InvalidInput
from pytorc.units import UnitError, slurm_time_seconds

app = group("Slurm scheduler configs: the sbatch settings of a workflow's allocations.")

COLUMNS = ("id", "name", "account", "partition", "qos", "nodes", "walltime", "mem", "gres")
ConfigId = Annotated[int, typer.Argument(help="Scheduler config id.")]
Gres = Annotated[str | None, typer.Option("-g", "--gres", help="Generic resources, e.g. gpu:2.")]
Mem = Annotated[str | None, typer.Option("-m", "--mem", help="Memory per node, e.g. 180G.")]
Partition = Annotated[str | None, typer.Option("-p", "--partition", help="Partition.")]
Tmp = Annotated[str | None, typer.Option("-t", "--tmp", help="Local scratch per node.")]
Extra = Annotated[
    str | None,
    typer.Option("-e", "--extra", help="More sbatch options, e.g. '--reservation=r1'."),
]


def _checked(fields: dict[str, Any]) -> dict[str, Any]:
    """The given fields (None dropped), with the walltime checked before the server sees it."""
    given = {k: v for k, v in fields.items() if v is not None}
    if "walltime" in given:
        try:
            slurm_time_seconds(given["walltime"])
        except UnitError as exc:
            raise InvalidInput(str(exc)) from None
    return given


@app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("-n", "--name", help="Name jobs and actions refer to.")],
    account: Annotated[str, typer.Option("-a", "--account", help="Account to charge.")],
    workflow_id: WorkflowArg = None,
    gres: Gres = None,
    mem: Mem = None,
    nodes: Annotated[int, typer.Option("-N", "--nodes", min=1, help="Nodes per allocation.")] = 1,
    partition: Partition = None,
    qos: Annotated[str, typer.Option("-q", "--qos", help="Quality of service.")] = "normal",
    tmp: Tmp = None,
    walltime: Annotated[
        str, typer.Option("-W", "--walltime", help="Time limit: H:M:S or D-H:M:S.")
    ] = "04:00:00",
    extra: Extra = None,
) -> None:
    """Add a Slurm scheduler config to a workflow.

    Example: torc slurm create 3 -n short -a myproject -p debug -N 2 -W 00:30:00
    """
    st = state(ctx)
    body = _checked(
        {
            "workflow_id": resolve_workflow_id(st, workflow_id),
            "name": name,
            "account": account,
            "gres": gres,
            "mem": mem,
            "nodes": nodes,
            "partition": partition,
            "qos": qos,
            "tmp": tmp,
            "walltime": walltime,
            "extra": extra,
        }
    )
    created = st.client.post("/slurm_schedulers", body)
    output.message(st.format, f"created Slurm config {created['id']} ({name})", created)


@app.command("update")
def update(
    ctx: typer.Context,
    config_id: ConfigId,
    name: Annotated[str | None, typer.Option("-n", "--name", help="New name.")] = None,
    account: Annotated[str | None, typer.Option("-a", "--account", help="Account.")] = None,
    gres: Gres = None,
    mem: Mem = None,
    nodes: Annotated[int | None, typer.Option("-N", "--nodes", min=1, help="Nodes.")] = None,
    partition: Partition = None,
    qos: Annotated[str | None, typer.Option("-q", "--qos", help="Quality of service.")] = None,
    tmp: Tmp = None,
    walltime: Annotated[str | None, typer.Option("-W", "--walltime", help="Time limit.")] = None,
    extra: Extra = None,
) -> None:
    """Change a Slurm scheduler config; allocations submitted later use the new settings.

    Example: torc slurm update 4 -W 02:00:00 -N 4
    """
    st = state(ctx)
    changes = _checked(
        {
            "name": name,
            "account": account,
            "gres": gres,
            "mem": mem,
            "nodes": nodes,
            "partition": partition,
            "qos": qos,
            "tmp": tmp,
            "walltime": walltime,
            "extra": extra,
        }
    )
    if not changes:
        raise InvalidInput("nothing to change: pass at least one option (see --help)")
    config = st.client.get(f"/slurm_schedulers/{config_id}")
    config.update(changes)
    updated = st.client.put(f"/slurm_schedulers/{config_id}", config)
    output.message(st.format, f"updated Slurm config {config_id}", updated)


@app.command("list")
def list_configs(
    ctx: typer.Context,
    workflow_id: WorkflowArg = None,
    limit: Limit = None,
    offset: Offset = 0,
    sort_by: SortBy = None,
    reverse_sort: ReverseSort = False,
) -> None:
    """List a workflow's Slurm scheduler configs.

    Example: torc -f json slurm list 3
    """
    st = state(ctx)
    items = st.client.iter_pages(
        "/slurm_schedulers",
        workflow_id=resolve_workflow_id(st, workflow_id),
        **paging(limit, offset, sort_by, reverse_sort),
    )
    output.records(st.format, items, COLUMNS)


@app.command("get")
def get(ctx: typer.Context, config_id: ConfigId) -> None:
    """Show one Slurm scheduler config.

    Example: torc slurm get 4
    """
    st = state(ctx)
    output.record(st.format, st.client.get(f"/slurm_schedulers/{config_id}"))


@app.command("delete")
def delete(
    ctx: typer.Context, config_ids: Annotated[list[int], typer.Argument(help="Ids.")]
) -> None:
    """Delete Slurm scheduler configs.

    Example: torc slurm delete 4 5
    """
    st = state(ctx)
    records = [st.client.delete(f"/slurm_schedulers/{i}") for i in config_ids]
    output.deleted(st.format, "Slurm config", records)


NumHpcJobs = Annotated[
    int, typer.Option("-n", "--num-hpc-jobs", min=1, help="Allocations to submit.")
]
SchedulerConfigId = Annotated[
    int | None,
    typer.Option("--scheduler-config-id", help="Slurm config; default: the workflow's only one."),
]
RunnerOutput = Annotated[
    Path, typer.Option("-o", "--output", help="Where runners write logs and job output.")
]
RunnerPoll = Annotated[
    float, typer.Option("-p", "--poll-interval", min=0.1, help="Runner poll interval, s.")
]
RunnerJobs = Annotated[
    int | None, typer.Option("-m", "--max-parallel-jobs", min=1, help="Jobs at once per runner.")
]
PerNode = Annotated[
    bool, typer.Option("--start-one-worker-per-node", help="One runner on every node (srun).")
]
KeepScripts = Annotated[
    bool, typer.Option("--keep-submission-scripts", help="Keep the sbatch scripts.")
]
JobPrefix = Annotated[str, typer.Option("-j", "--job-prefix", help="Prefix of Slurm job names.")]


@app.command("schedule-nodes")
def schedule_nodes(
    ctx: typer.Context,
    workflow_id: WorkflowArg = None,
    num_hpc_jobs: NumHpcJobs = 1,
    scheduler_config_id: SchedulerConfigId = None,
    output_dir: RunnerOutput = Path("output"),
    poll_interval: RunnerPoll = 60.0,
    max_parallel_jobs: RunnerJobs = None,
    one_worker_per_node: PerNode = False,
    keep_submission_scripts: KeepScripts = False,
    job_prefix: JobPrefix = "",
) -> None:
    """Submit Slurm allocations that run the workflow's jobs (torc-slurm-job-runner in each).

    The workflow must be initialized. The runners reach the server at the URL this command
    uses, so it must be one the compute nodes can reach (not localhost on a real cluster).

    Example: torc slurm schedule-nodes 3 -n 2 --start-one-worker-per-node
    """
    from pytorc.slurm import schedule
    from pytorc.slurm.commands import SlurmError

    st = state(ctx)
    request = schedule.ScheduleRequest(
        workflow_id=resolve_workflow_id(st, workflow_id),
        scheduler_config_id=scheduler_config_id,
        num_allocations=num_hpc_jobs,
        output_dir=output_dir,
        poll_interval=poll_interval,
        max_parallel_jobs=max_parallel_jobs,
        one_worker_per_node=one_worker_per_node,
        keep_scripts=keep_submission_scripts or st.settings.client.slurm.keep_submission_scripts,
        job_prefix=job_prefix,
    )
    chosen = schedule.plan(st.client, request)
    typer.echo(
        f"{chosen.runners} runner(s) in {num_hpc_jobs} allocation(s) of Slurm config"
        f" {chosen.config['id']} ({chosen.config['name']}); startup window"
        f" {chosen.startup_window:g} s",
        err=True,
    )
    try:
        submitted = schedule.submit(st.client, request, chosen)
    except SlurmError as exc:
        raise InvalidInput(str(exc)) from None
    _print_submitted(st.format, submitted, request.keep_scripts)


def _print_submitted(fmt: str, submitted: list[Any], keep_scripts: bool) -> None:
    records = [
        {"slurm_job_id": s.slurm_job_id, "scheduled_compute_node_id": s.scheduled_compute_node_id}
        | ({"script": str(s.script)} if keep_scripts else {})
        for s in submitted
    ]
    lines = [
        f"submitted Slurm job {s.slurm_job_id} (scheduled compute node"
        f" {s.scheduled_compute_node_id})"
        for s in submitted
    ]
    output.message(fmt, lines, records)


def _sacct_rows(client: Any, workflow_id: int) -> list[dict[str, str]]:
    """sacct's rows for every allocation of the workflow; a Slurm failure is a clear error."""
    from pytorc.slurm import accounting
    from pytorc.slurm.commands import SlurmError

    try:
        return accounting.sacct(accounting.allocation_ids(client, workflow_id))
    except SlurmError as exc:
        raise InvalidInput(str(exc)) from None


@app.command("sacct")
def sacct(
    ctx: typer.Context,
    workflow_id: WorkflowArg = None,
    output_dir: Annotated[
        Path, typer.Option("-o", "--output", help="Where --save-json writes.")
    ] = Path("output"),
    save_json: Annotated[
        bool, typer.Option("--save-json", help="Also write sacct_wf<W>.json there.")
    ] = False,
) -> None:
    """Show Slurm's accounting of the workflow's allocations and store each job step's
    statistics (peak memory, CPU time, disk I/O, nodes) with the workflow (slurm_stats).

    Example: torc slurm sacct 3 --save-json -o output
    """
    import json

    from pytorc.slurm import accounting

    st = state(ctx)
    wf_id = resolve_workflow_id(st, workflow_id)
    rows = _sacct_rows(st.client, wf_id)
    stored = accounting.store(st.client, wf_id, rows)
    if save_json:
        output_dir.mkdir(parents=True, exist_ok=True)
        (output_dir / f"sacct_wf{wf_id}.json").write_text(json.dumps(rows, indent=2))
    if st.format == "json":
        output.emit_json({"rows": rows, "stored": stored})
        return
    columns = ("JobID", "JobName", "State", "Elapsed", "MaxRSS", "AveCPU", "NodeList")
    output.records(st.format, rows, columns)
    typer.echo(f"stored the statistics of {stored} new job step(s)", err=True)


@app.command("usage")
def usage(ctx: typer.Context, workflow_id: WorkflowArg = None) -> None:
    """What each of the workflow's allocations cost and used: node-hours, job time, the time its
    runners sat with nothing to run, the wait before its first job and the tail after its last.

    Example: torc slurm usage 3
    """
    from pytorc.slurm import usage as allocation_usage

    st = state(ctx)
    wf_id = resolve_workflow_id(st, workflow_id)
    rows = _sacct_rows(st.client, wf_id)
    allocations = [r for r in rows if "." not in r["JobID"]]
    nodes = list(st.client.iter_pages("/compute_nodes", workflow_id=wf_id))
    results = list(st.client.iter_pages("/results", workflow_id=wf_id, all_runs=True))
    found = [u.as_dict() for u in allocation_usage.usage(allocations, nodes, results)]
    columns = (
        "slurm_job_id",
        "nodes",
        "seconds",
        "node_hours",
        "jobs",
        "job_seconds",
        "idle_runner_seconds",
        "first_job_after",
        "tail",
    )
    output.records(st.format, found, columns)


@app.command("parse-logs")
def parse_logs(
    ctx: typer.Context,
    workflow_id: WorkflowArg = None,
    output_dir: Annotated[
        Path, typer.Option("-o", "--output", help="The runners' output directory.")
    ] = Path("output"),
    errors_only: Annotated[
        bool, typer.Option("--errors-only", help="Only errors (no warnings).")
    ] = False,
) -> None:
    """Find the lines of the workflow's Slurm output and runner logs that explain trouble:
    out of memory, time limit, node failure, preemption, cancellation, Slurm and runner errors.

    Example: torc slurm parse-logs 3 -o output --errors-only
    """
    from pytorc.slurm.logs import log_files, scan

    st = state(ctx)
    wf_id = resolve_workflow_id(st, workflow_id)
    if not log_files(output_dir, wf_id):
        raise InvalidInput(f"no Slurm or runner logs of workflow {wf_id} in {output_dir}")
    found = [f.as_dict() for f in scan(output_dir, wf_id, errors_only)]
    output.records(st.format, found, ("file", "line", "kind", "text"))


@app.command("generate")
def generate(
    ctx: typer.Context,
    spec_file: Annotated[Path, typer.Argument(help="A workflow spec file.")],
    account: Account,
    profile: ProfileOpt = None,
    output_file: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write the spec here (.yaml or .json).")
    ] = None,
    single_allocation: SingleAllocation = False,
    group_by: GroupByOpt = "resource-requirements",
    walltime_strategy: WalltimeStrategyOpt = "max-job-runtime",
    walltime_multiplier: Multiplier = 1.5,
    no_actions: Annotated[
        bool, typer.Option("--no-actions", help="Schedulers only; no schedule_nodes actions.")
    ] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace the spec's own schedulers and actions.")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the plan only.")] = False,
) -> None:
    """Plan Slurm schedulers and schedule_nodes actions for a spec from an HPC profile: per
    group of jobs (by resource requirements or partition, and whether they wait for others) the
    partition, walltime and number of allocations. Writes the expanded spec with them.

    Example: torc slurm generate sweep.yaml -a myproject --profile kestrel -o sweep_slurm.yaml
    """
    from pytorc.slurm.generate import planned_spec, write

    st = state(ctx)
    options = plan_options(
        account,
        single_allocation,
        group_by,
        walltime_strategy,
        walltime_multiplier,
        add_actions=not no_actions,
    )
    spec, planned, chosen = planned_spec(
        spec_file, options, profile, st.settings.client.model_extra, overwrite
    )
    for warning in planned.warnings:
        typer.echo(f"warning: {warning}", err=True)
    text = "" if dry_run else write(spec, output_file)
    if dry_run or st.format == "json":
        _show_plan(st.format, chosen.name, planned)  # (the spec, if written, is in its file)
    elif output_file is None:
        typer.echo(text, nl=False)
    else:
        count = len(planned.schedulers)
        typer.echo(f"wrote {output_file}: {count} scheduler(s) on {chosen.name}", err=True)


def _show_plan(fmt: str, profile: str, planned: Any) -> None:
    if fmt == "json":
        data = {
            "profile": profile,
            "schedulers": planned.schedulers,
            "actions": planned.actions,
            "warnings": planned.warnings,
        }
        output.emit_json(data)
        return
    columns = ("name", "partition", "nodes", "walltime", "mem", "gres")
    output.records(fmt, planned.schedulers, columns)


@app.command("regenerate")
def regenerate(
    ctx: typer.Context,
    workflow_id: WorkflowArg = None,
    account: Annotated[
        str | None,
        typer.Option("-a", "--account", help="Account; default: the one its configs use."),
    ] = None,
    profile: ProfileOpt = None,
    single_allocation: SingleAllocation = False,
    group_by: GroupByOpt = "resource-requirements",
    walltime_strategy: WalltimeStrategyOpt = "max-job-runtime",
    walltime_multiplier: Multiplier = 1.5,
    include_job_ids: Annotated[
        str | None, typer.Option("--include-job-ids", help="Also these jobs, e.g. 4,7.")
    ] = None,
    submit_now: Annotated[
        bool, typer.Option("--submit", help="Submit the allocations for ready jobs now.")
    ] = False,
    output_dir: RunnerOutput = Path("output"),
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the plan only.")] = False,
) -> None:
    """Plan new allocations for the jobs a workflow has left (ready, blocked, uninitialized)
    from an HPC profile, and store them as recovery schedulers and schedule_nodes actions.

    Example: torc slurm regenerate 3 --submit
    """
    from pytorc.cli.submit import submit
    from pytorc.slurm import regenerate as regen
    from pytorc.slurm.hpc import choose

    st = state(ctx)
    wf_id = resolve_workflow_id(st, workflow_id)
    account = account or regen.account_of(st.client, wf_id)
    if account is None:
        raise InvalidInput("pass -a/--account: the workflow's Slurm configs name no one account")
    try:
        chosen = choose(st.settings.client.model_extra, profile)
        include = {int(i) for i in include_job_ids.split(",")} if include_job_ids else set()
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    options = plan_options(
        account, single_allocation, group_by, walltime_strategy, walltime_multiplier
    )
    planned = regen.regenerate(st.client, wf_id, chosen, options, include, dry_run)
    for warning in planned.warnings:
        typer.echo(f"warning: {warning}", err=True)
    starts_now = any(a["trigger_type"] == "on_workflow_start" for a in planned.actions)
    if not (submit_now and starts_now and st.format == "json"):
        _show_plan(st.format, chosen.name, planned)  # (else submit's answer is the JSON)
    if submit_now and starts_now and not dry_run:
        submit(ctx, str(wf_id), output_dir)
