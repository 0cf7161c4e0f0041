"""`torc explain JOB_ID`: why a job is not running yet (a command Torc does not have)."""

from typing import Annotated

import typer

from pytorc.cli import output
from pytorc.cli.common import state


def explain(
    ctx: typer.Context,
    job: Annotated[str, typer.Argument(help="Job id, or name with -w.", metavar="JOB")],
    workflow_id: Annotated[
        int | None, typer.Option("--workflow", "-w", help="The workflow of a job given by name.")
    ] = None,
) -> None:
    """Explain why a job is not running: what blocks it, and whether any runner could take it.

    Blocked jobs: the unfinished upstream jobs, and where each waiting chain is held up. Ready
    jobs: whether an active runner is big enough for its resources and runtime, and whether a
    scheduler pin keeps it from them. Canceled or failed jobs: the upstream job that failed and
    the latest result. With -f json the answer is structured.

    Failed or terminated jobs: the likely cause and the last lines of their stderr.

    Examples: torc explain 42; torc explain train_3 -w 7
    """
    from pytorc.client.explain import explain_job
    from pytorc.client.job_logs import resolve_job

    st = state(ctx)
    job_id = int(resolve_job(st.client, job, workflow_id)["id"])
    answer = explain_job(st.client, job_id)
    head = f"job {answer['job_name']} (id {job_id}, workflow {answer['workflow_id']}) is"
    reasons = [r if r.startswith("  |") else f"- {r}" for r in answer["reasons"]]
    lines = [f"{head} {answer['status']}", *reasons]
    output.message(st.format, lines, answer)
