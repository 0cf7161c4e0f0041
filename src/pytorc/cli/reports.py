"""`torc reports ...`: resource use against requirements, results with their logs, totals."""

from pathlib import Path
from typing import Annotated, Any

import typer

from pytorc.cli import output
from pytorc.cli.common import (
    WorkflowArg,
    group,
    job_ids_or_names,
    resolve_workflow_id,
    state,
)
from pytorc.errors import InvalidInput

app = group("Reports: resource use against requirements, results with their logs, totals.")

VIOLATION_COLUMNS = (
    "job_id",
    "job_name",
    "resource_type",
    "specified",
    "peak_used",
    "over_utilization",
)
FAILED_COLUMNS = (
    "job_id",
    "job_name",
    "return_code",
    "likely_oom",
    "oom_reason",
    "peak_memory_formatted",
    "configured_memory",
    "likely_timeout",
    "timeout_reason",
    "runtime_utilization",
)
STATUS_ORDER = (
    "uninitialized",
    "blocked",
    "ready",
    "pending",
    "running",
    "completed",
    "failed",
    "canceled",
    "terminated",
    "disabled",
    "pending_failed",
)


@app.command("check-resource-utilization")
def check_resource_utilization(
    ctx: typer.Context,
    workflow_id: WorkflowArg = None,
    run_id: Annotated[
        int | None, typer.Option("-r", "--run-id", help="This run [default: latest results].")
    ] = None,
    show_all: Annotated[
        bool, typer.Option("-a", "--all", help="Also jobs that stayed within their limits.")
    ] = False,
    include_failed: Annotated[
        bool,
        typer.Option("--include-failed", help="Also failed and terminated jobs, diagnosed."),
    ] = False,
    min_over_utilization: Annotated[
        float,
        typer.Option("--min-over-utilization", help="Percent above a limit worth reporting."),
    ] = 1.0,
) -> None:
    """Find jobs whose peak memory, peak CPU or run time went past their resource
    requirements. With --include-failed, failed jobs get a diagnosis (likely_oom,
    likely_timeout).

    Example: torc reports check-resource-utilization 3 --include-failed
    """
    from pytorc.reports.utilization import check_resource_utilization as check

    st = state(ctx)
    wf_id = resolve_workflow_id(st, workflow_id)
    report = check(st.client, wf_id, run_id, show_all, include_failed, min_over_utilization)
    if st.format == "json":
        output.emit_json(report)
        return
    total, rows = report["total_results"], report["violations"]
    if not total:
        output.message(st.format, f"no job results to check in workflow {wf_id}", report)
    elif not rows:
        output.message(
            st.format, f"all {total} jobs stayed within their resource requirements", report
        )
    else:
        count = report["over_utilization_count"]
        output.message(st.format, f"{count} resource over-utilization violations:", report)
        output.records(st.format, rows, VIOLATION_COLUMNS)
    if report.get("failed_jobs"):
        output.records(st.format, report["failed_jobs"], FAILED_COLUMNS, title="failed jobs")


@app.command("results")
def results(
    ctx: typer.Context,
    workflow_id: WorkflowArg = None,
    output_dir: Annotated[
        Path | None,
        typer.Option(
            "-o", "--output-dir", help="The runs' output directory [default: config, output]."
        ),
    ] = None,
    all_runs: Annotated[
        bool, typer.Option("--all-runs", help="Every run and attempt, not only the latest.")
    ] = False,
    job_ids: Annotated[
        list[str] | None,
        typer.Option("-j", "--job-id", help="Only this job, by id or name (repeatable)."),
    ] = None,
) -> None:
    """Print each job's result, as JSON, with the paths of its stdout/stderr files and the
    runner's logs. Missing log files are listed on stderr.

    Example: torc reports results 3 -o output > results.json
    """
    from pytorc.reports.results import results_report

    st = state(ctx)
    out = output_dir or Path(st.settings.client.run.output_dir)
    if not out.is_dir():
        raise InvalidInput(f"output directory {out} does not exist")
    wf_id = resolve_workflow_id(st, workflow_id)
    wanted = job_ids_or_names(st.client, wf_id, job_ids)
    report, warnings = results_report(st.client, wf_id, out, all_runs, wanted)
    for warning in warnings:
        typer.echo(f"warning: {warning}", err=True)
    output.emit_json(report)  # JSON whatever the format, as Torc


@app.command("summary")
def summary(ctx: typer.Context, workflow_id: WorkflowArg = None) -> None:
    """Summarize a workflow: jobs by status, total and average job time, wall time.

    Example: torc -f json reports summary 3
    """
    from pytorc.reports.results import summary_report

    st = state(ctx)
    wf_id = resolve_workflow_id(st, workflow_id)
    report = summary_report(st.client, wf_id)
    output.message(st.format, _summary_lines(report), report)


def _summary_lines(r: dict[str, Any]) -> list[str]:
    counts = r["jobs_by_status"]
    lines = [
        f"workflow {r['workflow_id']}: {r['workflow_name']} (user {r['workflow_user']})",
        f"jobs: {r['total_jobs']}",
    ]
    lines += [f"  {s}: {counts[s]}" for s in STATUS_ORDER if counts.get(s)]
    lines.append(f"total execution time: {r['total_exec_time_formatted']}")
    if r["avg_exec_time_minutes"] is not None:
        lines.append(f"average per job: {r['avg_exec_time_minutes'] * 60:.1f}s")
    if r["walltime_formatted"]:
        lines.append(f"wall time: {r['walltime_formatted']}")
    bad = counts.get("failed", 0) + counts.get("terminated", 0) + counts.get("canceled", 0)
    if r["is_canceled"]:
        lines.append("the workflow was canceled")
    elif r["is_complete"]:
        lines.append("complete" + (f", {bad} jobs did not succeed" if bad else ", all succeeded"))
    else:
        lines.append("in progress")
    return lines
