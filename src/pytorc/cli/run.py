"""`torc run SPEC_OR_ID` and `torc workflows run`: create if needed, initialize, run locally."""

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple

import typer

from pytorc.cli import output, steady_gc
from pytorc.cli import run_resume as resume_cli
from pytorc.cli.common import CliState, state, user_name
from pytorc.cli.run_failures import failed_jobs
from pytorc.cli.run_failures import lines as failure_lines
from pytorc.errors import InvalidInput

if TYPE_CHECKING:
    from pytorc.client.api import TorcClient
    from pytorc.client.reinit import Created
    from pytorc.runner.guard import Guard
    from pytorc.runner.loop import RunSummary
    from pytorc.runner.monitor import ResourceMonitor

SPEC_SUFFIXES = (".yaml", ".yml", ".json", ".json5", ".kdl")

MaxParallel = Annotated[
    int | None,
    typer.Option(
        "--max-parallel-jobs",
        min=1,
        help="Run at most N jobs at once, ignoring resource requirements.",
    ),
]
NumCpus = Annotated[
    int | None, typer.Option("--num-cpus", min=1, help="CPUs to offer (default: detected).")
]
MemoryGb = Annotated[
    float | None, typer.Option("--memory-gb", min=0.001, help="Memory to offer in GiB.")
]
NumGpus = Annotated[int | None, typer.Option("--num-gpus", min=0, help="GPUs to offer.")]
PollInterval = Annotated[
    float | None,
    typer.Option(
        "-p",
        "--poll-interval",
        min=0.001,
        help="Seconds between checks when no job is claimable [default: config, 5].",
    ),
]
OutputDir = Annotated[
    Path | None,
    typer.Option(
        "-o", "--output-dir", help="Job stdout/stderr and logs [default: config, output]."
    ),
]


def is_spec_path(text: str) -> bool:
    return text.lower().endswith(SPEC_SUFFIXES) or Path(text).is_file()


def run(
    ctx: typer.Context,
    spec_or_id: Annotated[str, typer.Argument(help="A workflow spec file, or a workflow id.")],
    max_parallel_jobs: MaxParallel = None,
    num_cpus: NumCpus = None,
    memory_gb: MemoryGb = None,
    num_gpus: NumGpus = None,
    poll_interval: PollInterval = None,
    output_dir: OutputDir = None,
    skip_checks: Annotated[
        bool,
        typer.Option(
            "--skip-checks",
            help="Accepted for Torc scripts; no effect yet (Torc skips its check that Slurm "
            "schedulers have the nodes their actions ask for, which pytorc does not make yet).",
        ),
    ] = False,
    new: Annotated[
        bool,
        typer.Option("--new", help="From a spec: a new workflow, even if one is unfinished."),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would run; create and run nothing.")
    ] = False,
) -> None:
    """Run a workflow on this machine: create it from a spec file (or take an id), initialize
    it if needed, then claim and run its jobs until all are done. Exits 1 if any job failed,
    or if the run ends with work left (jobs that no runner could take, a stop signal).

    Resuming: `torc run ID` runs again the jobs a stop (Ctrl-C, SIGTERM) interrupted, then
    what they unblock. `torc run SPEC` whose workflow (same name, your user) is unfinished
    offers to resume it on a terminal, and says how otherwise; --new makes a new one.

    Examples: torc run sweep.yaml --max-parallel-jobs 4 -o out; torc run 7 (resume)
    """
    st = state(ctx)
    if dry_run:
        resume_cli.describe_run(st, spec_or_id)
        return
    with st.server_for_run(), _early_guard() as guard:
        workflow_id, workflow = _prepare(st, spec_or_id, new)
        summary = execute(
            st,
            workflow_id,
            max_parallel_jobs,
            num_cpus,
            memory_gb,
            num_gpus,
            poll_interval,
            output_dir,
            workflow=workflow,
            guard=guard,
        )
    if st.standalone and st.format == "table":
        typer.echo(resume_cli.where_it_is(st, workflow_id))
    if summary:
        raise typer.Exit(1)


@contextmanager
def _early_guard() -> "Iterator[Guard | None]":
    """The runner's guard process (runner/guard.py), started before the workflow is created:
    its Python start-up then runs beside ours, not beside the first job's spawn (which it held
    up by 2-9 ms on 2 cores). None if it cannot start: the runner tries again, and warns.
    Closed at the end (the runner closes it first, unless it never started)."""
    from pytorc.runner.guard import TERMINATION_GRACE, Guard

    try:
        guard = Guard.start(TERMINATION_GRACE)
    except OSError:
        guard = None
    try:
        yield guard
    finally:
        if guard is not None:
            guard.close()


def prepare(st: CliState, spec_or_id: str, new: bool = False) -> int:
    """The workflow to run: created from a spec file and initialized, or an id (initialized
    if it is not yet)."""
    return _prepare(st, spec_or_id, new)[0]


def _prepare(st: CliState, spec_or_id: str, new: bool) -> tuple[int, dict[str, Any] | None]:
    """prepare(), and the workflow's record when it was just created (the runner then need
    not read it)."""
    if is_spec_path(spec_or_id):
        from pytorc.client.reinit import Created
        from pytorc.spec import create_workflow, load_for_upload, spec_warnings

        path = Path(spec_or_id)
        if not path.is_file():
            raise InvalidInput(f"spec file {spec_or_id} does not exist")
        st.launch_private_server()  # standalone: it starts while the spec loads
        spec, sweeps = load_for_upload(path)
        for warning in spec_warnings(spec):
            typer.echo(f"warning: {warning}", err=True)
        client = st.client
        earlier = None if new else resume_cli.offer(client, spec.name, user_name())
        if earlier is not None:
            return resume_cli.resume_workflow(client, earlier), None
        workflow = create_workflow(client, spec, str(path), user=user_name(), sweeps=sweeps)
        workflow_id = int(workflow["id"])
        created = Created(workflow, bool(spec.files), bool(spec.user_data))
        run_id = _initialize(st, workflow_id, created)
        return workflow_id, {**workflow, "run_id": run_id, "is_canceled": False}
    client = st.client
    try:
        workflow_id = int(spec_or_id)
    except ValueError:
        raise InvalidInput(f"{spec_or_id!r} is neither a spec file nor a workflow id") from None
    if client.get(f"/workflows/{workflow_id}/is_uninitialized")["is_uninitialized"]:
        _initialize(st, workflow_id)
        return workflow_id, None
    return resume_cli.resume_workflow(client, workflow_id), None


def _initialize(st: CliState, workflow_id: int, created: "Created | None" = None) -> int:
    """Initialize the workflow as `torc workflows initialize` does (check inputs, start a run,
    record the files' modification times, set jobs ready or blocked). Starting the run turns a
    new workflow's run 0 into run 1, as Torc's initialize does. Only a workflow that never
    started: another `torc run ID` that got there first is left to it (the server decides)."""
    from pytorc.client.reinit import initialize as initialize_workflow

    return initialize_workflow(st.client, workflow_id, created=created, first_run=True).run_id


def execute(
    st: CliState,
    workflow_id: int,
    max_parallel_jobs: int | None,
    num_cpus: int | None,
    memory_gb: float | None,
    num_gpus: int | None,
    poll_interval: float | None,
    output_dir: Path | None,
    workflow: dict[str, Any] | None = None,
    guard: "Guard | None" = None,
) -> int:
    """Run the local runner with a progress display; the number of jobs that did not succeed.
    `workflow`: its record, when the caller has it; `guard`: started early (_early_guard)."""
    from pytorc.runner.loop import JobRunner, RunnerOptions
    from pytorc.runner.resources import detect

    run_cfg = st.settings.client.run
    options = RunnerOptions(
        output_dir=(output_dir or Path(run_cfg.output_dir)).resolve(),
        resources=detect(
            num_cpus or run_cfg.num_cpus,
            memory_gb or run_cfg.memory_gb,
            num_gpus if num_gpus is not None else run_cfg.num_gpus,
        ),
        max_parallel_jobs=max_parallel_jobs or run_cfg.max_parallel_jobs,
        poll_interval=poll_interval or run_cfg.poll_interval,
    )
    client = _runner_client(st)
    workflow = workflow or client.get_workflow(workflow_id)
    options.ignore_completion = bool(workflow.get("compute_node_ignore_workflow_completion"))
    if workflow.get("compute_node_wait_for_healthy_database_minutes"):
        client.retry_seconds = 60.0 * workflow["compute_node_wait_for_healthy_database_minutes"]
    watch = _start_monitor(workflow, options.output_dir)
    monitor, metrics_db = watch.monitor, watch.time_series
    options.monitor = monitor
    started = time.monotonic()
    try:
        with _Progress(client, workflow_id, enabled=st.format == "table") as progress:
            listener = _naming_jobs(progress.event, monitor)
            runner = JobRunner(
                client, workflow_id, options, listener=listener, workflow=workflow, guard=guard
            )
            steady_gc()
            summary = runner.run()
    finally:
        if monitor is not None:
            monitor.close()
    plots = _plot_metrics(metrics_db) if metrics_db is not None and watch.plots else []
    status = client.workflow_status(workflow_id)
    seconds = time.monotonic() - started
    failed = failed_jobs(client, workflow_id, summary.job_statuses, options.output_dir)
    torc = "torc -s" + (f" --db {st.database}" if st.database else "") if st.standalone else "torc"
    _print_summary(
        st.format, summary, status, seconds, options.output_dir, failed, metrics_db, plots, torc
    )
    counts = status["jobs_by_status"]
    bad = int(counts["failed"] + counts["canceled"] + counts["terminated"])
    return bad + (0 if status["is_complete"] else max(1, _left(status)))


_UNFINISHED = ("uninitialized", "blocked", "ready", "pending", "running", "pending_failed")


def _left(status: dict[str, Any]) -> int:
    """How many of the workflow's jobs are not done."""
    return sum(int(status["jobs_by_status"].get(s) or 0) for s in _UNFINISHED)


class Monitoring(NamedTuple):
    """The resource monitoring a workflow asks for (resource_monitor_config)."""

    monitor: "ResourceMonitor | None"  # None: not enabled
    time_series: Path | None  # its time-series file (time_series granularity)
    plots: bool  # draw the time series at the end (generate_plots)


def _start_monitor(wf: dict[str, Any], output_dir: Path) -> Monitoring:
    """Start the job monitor the workflow's resource_monitor_config asks for, if any."""
    from pytorc.runner.monitor import MonitorSettings, time_series_path

    settings = MonitorSettings.from_config(wf.get("resource_monitor_config"))
    if not settings.enabled:
        return Monitoring(None, None, False)
    db = time_series_path(output_dir, int(wf["id"]), int(wf["run_id"]))
    monitor = settings.start(db)
    return Monitoring(monitor, db if settings.time_series else None, settings.generate_plots)


def _naming_jobs(
    listener: Callable[[str, dict[str, Any]], None], monitor: "ResourceMonitor | None"
) -> Callable[[str, dict[str, Any]], None]:
    """`listener`, also telling the monitor each started job's name (for its time series)."""
    if monitor is None:
        return listener

    def named(kind: str, job: dict[str, Any]) -> None:
        if kind == "started":
            monitor.set_name(job["id"], job["name"])
        listener(kind, job)

    return named


def _plot_metrics(db: Path) -> list[Path]:
    """HTML plots of a finished run's time series, beside the file (generate_plots)."""
    from pytorc.reports.plots import write_plots

    prefix = db.stem.replace("resource_metrics", "resource_plot", 1)
    return write_plots([db], db.parent, prefix=prefix)


def _runner_client(st: CliState) -> "TorcClient":
    """A client that rides out server restarts (for the workflow's
    compute_node_wait_for_healthy_database_minutes, else 20 minutes): the CLI's own gives up
    after a few seconds."""
    from pytorc.client.api import TorcClient
    from pytorc.runner.reporter import WAIT_FOR_SERVER_MINUTES

    return TorcClient(
        st.client.base_url,
        retry_seconds=60.0 * WAIT_FOR_SERVER_MINUTES,
        auth=st.auth,
        ca_cert=st.client.ca_cert,
    )


def _print_summary(
    fmt: str,
    summary: "RunSummary",
    status: dict[str, Any],
    seconds: float,
    out: Path,
    failed: list[dict[str, Any]],
    metrics_db: Path | None = None,
    plots: list[Path] | None = None,
    torc: str = "torc",  # the command that reaches this workflow's server again
) -> None:
    counts = {k: v for k, v in status["jobs_by_status"].items() if v}
    ran = (
        summary.completed
        + summary.failed
        + summary.canceled
        + summary.terminated
        + summary.pending_failed
    )
    data = {
        "workflow_id": summary.workflow_id,
        "exit_reason": summary.exit_reason,
        "jobs_run_here": ran,
        "completed": summary.completed,
        "failed": summary.failed,
        "canceled": summary.canceled,
        "terminated": summary.terminated,
        "handed_back": summary.released,
        "seconds": round(seconds, 3),
        "jobs_per_second": round(ran / seconds, 1) if seconds > 0 else None,
        "jobs_by_status": status["jobs_by_status"],
        "is_complete": status["is_complete"],
        "output_dir": str(out),
        "resource_metrics_db": str(metrics_db) if metrics_db else None,
        "resource_plots": [str(p) for p in plots or []],
        "failed_jobs": failed,
    }
    lines = [
        f"workflow {summary.workflow_id}: {summary.exit_reason}",
        f"ran {ran} jobs here in {seconds:.2f} s ({data['jobs_per_second']} jobs/s): "
        f"{summary.completed} completed, {summary.failed} failed, "
        f"{summary.canceled} canceled, {summary.terminated} terminated",
        "workflow jobs by status: " + ", ".join(f"{k} {v}" for k, v in counts.items()),
        *failure_lines(summary.workflow_id, failed, sys.stdout.isatty(), torc),
        f"job output: {out / 'job_stdio'}",
    ]
    if summary.released:
        lines.insert(2, f"handed back {summary.released} claimed jobs it never started (ready)")
    lines += _work_left(summary, status, data, torc)
    if metrics_db is not None:
        lines.append(f"resource time series: {metrics_db} (torc plot-resources draws it)")
    if plots:
        lines.append(f"resource plots: {len(plots)} files in {plots[0].parent}")
    output.message(fmt, lines, data)


def _work_left(
    summary: "RunSummary", status: dict[str, Any], data: dict[str, Any], torc: str = "torc"
) -> list[str]:
    """What the run left undone and what to do about it (adds the counts to `data`)."""
    wf = summary.workflow_id
    lines = []
    if summary.pending_failed:
        data["pending_failed"] = summary.pending_failed
        lines.append(
            f"{summary.pending_failed} failed jobs wait for your decision (pending_failed):"
            f" `{torc} jobs list {wf} -s pending_failed`, then `{torc} jobs retry ID...` or"
            f" `{torc} jobs fail ID...`"
        )
    if not status["is_complete"]:
        counts = status["jobs_by_status"]
        left = ", ".join(f"{counts[s]} {s}" for s in _UNFINISHED if counts.get(s))
        data["jobs_left"] = _left(status)
        lines.append(
            f"work left: the workflow is not complete ({left or 'no job finished'});"
            f" `{torc} explain JOB_ID` says why a job waits, `{torc} run {wf}` runs what is ready"
        )
    return lines


class _Progress:
    """A Rich progress bar on stderr: done / running / failed, rate and ETA."""

    def __init__(self, client: "TorcClient", workflow_id: int, enabled: bool) -> None:
        self.counts = {"running": 0, "done": 0, "failed": 0}
        # Checked before importing Rich: scripts and -f json runs never pay for it.
        self.enabled = enabled and sys.stderr.isatty()
        if not self.enabled:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        counts = client.workflow_status(workflow_id)["jobs_by_status"]
        total = sum(counts.values()) - counts["disabled"]
        already = sum(counts[s] for s in ("completed", "failed", "canceled", "terminated"))
        self.bar = Progress(
            TextColumn("[bold]jobs"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self.task = self.bar.add_task("jobs", total=total, completed=already, detail="")

    def __enter__(self) -> "_Progress":
        if self.enabled:
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self.bar.stop()

    def event(self, kind: str, job: dict[str, Any]) -> None:
        if kind == "started":
            self.counts["running"] += 1
            return
        self.counts["running"] -= 1
        self.counts["done"] += 1
        if kind != "completed":
            self.counts["failed"] += 1
        if self.enabled:
            detail = f"running {self.counts['running']}  failed {self.counts['failed']}"
            self.bar.update(self.task, advance=1, detail=detail)
