"""`torc explain JOB_ID`: why a job is not running yet (a command Torc does not have)."""

from typing import Annotated

import typer

from pytorc.cli import output
from pytorc.cli.common import state


def explain(ctx: typer.Context, job_id: Annotated[int, typer.Argument(help="Job id.")]) -> None:
    """Explain why a job is not running: what blocks it, and whether any runner could take it.

    Blocked jobs: the unfinished upstream jobs, and where each waiting chain is held up. Ready
    jobs: whether an active runner is big enough for its resources and runtime, and whether a
    scheduler pin keeps it from them. Canceled or failed jobs: the upstream job that failed and
    the latest result. With -f json the answer is structured.

    Example: torc explain 42
    """
    from pytorc.client.explain import explain_job

    st = state(ctx)
    answer = explain_job(st.client, job_id)
    head = f"job {answer['job_name']} (id {job_id}, workflow {answer['workflow_id']}) is"
    lines = [f"{head} {answer['status']}", *(f"- {r}" for r in answer["reasons"])]
    output.message(st.format, lines, answer)
