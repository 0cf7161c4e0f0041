"""`torc submit`: a workflow that schedules its own Slurm allocations."""

from pathlib import Path
from typing import Annotated

import typer

from pytorc.cli import output
from pytorc.cli.common import state
from pytorc.cli.run import prepare
from pytorc.errors import InvalidInput


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
