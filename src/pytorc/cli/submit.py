"""`torc submit`: a workflow that schedules its own Slurm allocations."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pytorc.cli import output
from pytorc.cli.common import CliState, state, user_name
from pytorc.cli.run import prepare
from pytorc.errors import InvalidInput

if TYPE_CHECKING:
    from pytorc.slurm.plan import PlanOptions


def submit(
    ctx: typer.Context,
    spec_or_id: Annotated[str, typer.Argument(help="A workflow spec file, or a workflow id.")],
    output_dir: Annotated[
        Path, typer.Option("-o", "--output", help="Where the runners write logs and job output.")
    ] = Path("output"),
) -> None:
    """Submit a workflow to Slurm: create it from a spec (or take an id), initialize it, and
    run its on_workflow_start schedule_nodes actions, which submit the allocations whose
    runners run the jobs. Later actions (on_jobs_ready, ...) are run by those runners.

    Example: torc submit sweep.yaml -o /scratch/me/out
    """
    from pytorc.runner.actions import Actions
    from pytorc.slurm.commands import SlurmError

    st = state(ctx)
    if st.standalone:
        raise InvalidInput(
            "submit needs a server the compute nodes can reach; a private server (-s) stops"
            " when torc exits: start torc-server and pass --url"
        )
    workflow_id = prepare(st, spec_or_id)
    pending = st.client.get(
        f"/workflows/{workflow_id}/actions/pending", trigger_type=["on_workflow_start"]
    )
    starters = [a for a in pending if a["action_type"] == "schedule_nodes"]
    if not starters:
        raise InvalidInput(
            f"workflow {workflow_id} has no pending on_workflow_start schedule_nodes action: add"
            " one under `actions:` in the spec, or submit with `torc slurm schedule-nodes`"
        )
    actions = Actions(st.client, workflow_id, output_dir.resolve())
    submitted: list[str] = []
    for action in starters:
        if actions.claim(action):
            try:
                submitted += actions.execute(action)
            except SlurmError as exc:
                raise InvalidInput(f"action {action['id']}: {exc}") from None
    text = f"submitted workflow {workflow_id}: Slurm job(s) {', '.join(submitted) or 'none'}"
    output.message(st.format, text, {"workflow_id": workflow_id, "slurm_job_ids": submitted})


Account = Annotated[str, typer.Option("-a", "--account", help="Slurm account to charge.")]
ProfileOpt = Annotated[
    str | None, typer.Option("--profile", help="HPC profile; default: the detected one.")
]
SingleAllocation = Annotated[
    bool, typer.Option("--single-allocation", help="One allocation of N nodes, not N of one.")
]
GroupByOpt = Annotated[str, typer.Option("--group-by", help="resource-requirements or partition.")]
WalltimeStrategyOpt = Annotated[
    str, typer.Option("--walltime-strategy", help="max-job-runtime or max-partition-time.")
]
Multiplier = Annotated[
    float,
    typer.Option("--walltime-multiplier", min=1.0, help="Walltime = longest runtime x this."),
]


def plan_options(
    account: str,
    single_allocation: bool,
    group_by: str,
    walltime_strategy: str,
    walltime_multiplier: float,
    add_actions: bool = True,
) -> "PlanOptions":
    """The planner's options, with the two choices checked."""
    from pytorc.slurm.plan import PlanOptions

    if group_by not in ("resource-requirements", "partition"):
        raise InvalidInput(f"--group-by is resource-requirements or partition, not {group_by!r}")
    if walltime_strategy not in ("max-job-runtime", "max-partition-time"):
        raise InvalidInput(
            "--walltime-strategy is max-job-runtime or max-partition-time,"
            f" not {walltime_strategy!r}"
        )
    return PlanOptions(
        account=account,
        single_allocation=single_allocation,
        group_by=group_by,  # type: ignore[arg-type]
        walltime_strategy=walltime_strategy,  # type: ignore[arg-type]
        walltime_multiplier=walltime_multiplier,
        add_actions=add_actions,
    )


def submit_slurm(
    ctx: typer.Context,
    spec_file: Annotated[Path, typer.Argument(help="A workflow spec file.")],
    account: Account,
    profile: ProfileOpt = None,
    single_allocation: SingleAllocation = False,
    group_by: GroupByOpt = "resource-requirements",
    walltime_strategy: WalltimeStrategyOpt = "max-job-runtime",
    walltime_multiplier: Multiplier = 1.5,
    output_dir: Annotated[
        Path, typer.Option("-o", "--output", help="Where the runners write logs and job output.")
    ] = Path("output"),
) -> None:
    """Plan Slurm allocations for a spec from an HPC profile (as `torc slurm generate`), create
    the workflow and submit its first allocations.

    Example: torc submit-slurm sweep.yaml -a myproject --profile kestrel
    """
    st = state(ctx)
    options = plan_options(
        account, single_allocation, group_by, walltime_strategy, walltime_multiplier
    )
    created, schedulers, chosen = create_planned(st, spec_file, options, profile)
    typer.echo(
        f"created workflow {created['id']} with {schedulers} scheduler(s) planned on {chosen}",
        err=True,
    )
    submit(ctx, str(created["id"]), output_dir)


def create_planned(
    st: CliState, spec_file: Path, options: "PlanOptions", profile: str | None
) -> tuple[dict[str, Any], int, str]:
    """Create the workflow of `spec_file` with its planned Slurm schedulers and actions; the
    created record, how many schedulers, and the profile's name. Warnings go to stderr."""
    from pytorc.slurm.generate import planned_spec
    from pytorc.spec import create_workflow

    spec, planned, chosen = planned_spec(
        spec_file, options, profile, st.settings.client.model_extra, overwrite=True
    )
    for warning in planned.warnings:
        typer.echo(f"warning: {warning}", err=True)
    created = create_workflow(st.client, spec, str(spec_file), user=user_name())
    return created, len(planned.schedulers), chosen.name
