"""`torc-slurm-job-runner`: the job runner inside a Slurm allocation.

Started by an allocation's sbatch script (once, or on every node with --is-subtask). It waits
its share of the startup window before its first request, learns its resources from Slurm's
environment and its end time from squeue, and runs the workflow's jobs as srun steps until the
workflow is done, it has been idle too long, or the allocation is about to end.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

from pytorc.client.api import TorcClient
from pytorc.errors import ApiError
from pytorc.runner.loop import JobRunner, RunnerOptions
from pytorc.runner.policy import STOP_CLAIMING_BEFORE_END
from pytorc.runner.reporter import WAIT_FOR_SERVER_MINUTES
from pytorc.slurm import commands, jitter, steps
from pytorc.slurm.environment import NotInAllocation, SlurmContext, read_context

log = logging.getLogger("pytorc.slurm.runner")

DEFAULT_EXPIRATION_BUFFER_SECONDS = 180  # Torc's default: stop this long before Slurm would
# Memory variables of the allocation that would contradict a step's own --mem.
_STEP_CONFLICTS = ("SLURM_MEM_PER_CPU", "SLURM_MEM_PER_GPU", "SLURM_MEM_PER_NODE")

EXAMPLES = """examples:
  torc-slurm-job-runner "$TORC_API_URL" 3 output
  srun --ntasks-per-node=1 torc-slurm-job-runner "$TORC_API_URL" 3 output --is-subtask
"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="torc-slurm-job-runner",
        description="Run a workflow's jobs inside a Slurm allocation (started by sbatch).",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "url", help="the torc-server API URL, e.g. http://login1:8080/torc-service/v1"
    )
    parser.add_argument("workflow_id", type=int, help="the workflow to run")
    parser.add_argument("output_dir", type=Path, help="where logs and job output go")
    parser.add_argument("--max-parallel-jobs", type=_positive_int, help="jobs at once")
    parser.add_argument(
        "-p",
        "--poll-interval",
        type=_positive_float,
        default=60.0,
        help="seconds between claims when idle (default 60)",
    )
    parser.add_argument(
        "--is-subtask",
        action="store_true",
        help="one of several runners in the allocation, one per node (srun)",
    )
    parser.add_argument(
        "--wait-for-healthy-database-minutes",
        type=_positive_float,
        help="how long to retry an unreachable server (default: the workflow's setting, else 20)",
    )
    parser.add_argument(
        "--startup-delay-seconds",
        type=_non_negative_float,
        default=0.0,
        help="the startup window: wait a share of it before the first request",
    )
    return parser.parse_args(argv)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        context = read_context()
    except NotInAllocation as exc:
        print(f"torc-slurm-job-runner: {exc}; use `torc run` outside Slurm", file=sys.stderr)
        raise SystemExit(2) from None
    delay = jitter.startup_delay(
        args.startup_delay_seconds,
        context.node_name,
        context.job_id,
        str(context.node_id),
        os.getpid(),
    )
    log.info("startup delay %.2f s of a %g s window", delay, args.startup_delay_seconds)
    time.sleep(delay)
    try:
        summary = run(args, context)
    except (ApiError, commands.SlurmError) as exc:
        log.error("stopping: %s", exc)
        raise SystemExit(1) from None
    log.info("done: %s", summary)


def run(args: argparse.Namespace, context: SlurmContext) -> dict[str, Any]:
    """Run the workflow's jobs on this node (or allocation); what the runner did."""
    minutes = args.wait_for_healthy_database_minutes or WAIT_FOR_SERVER_MINUTES
    client = TorcClient(args.url, retry_seconds=minutes * 60, auth=_auth())
    workflow = client.get_workflow(args.workflow_id)
    if args.wait_for_healthy_database_minutes is None and workflow.get(
        "compute_node_wait_for_healthy_database_minutes"
    ):
        client.retry_seconds = workflow["compute_node_wait_for_healthy_database_minutes"] * 60
    output_dir = args.output_dir.resolve()
    _log_to_file(output_dir, context, args.workflow_id, int(workflow["run_id"]))
    log.info(
        "runner in Slurm job %s on %s (node %d of %d), %d CPUs, %d MB, %d GPUs",
        context.job_id,
        context.node_name,
        context.node_id,
        context.num_nodes,
        context.cpus,
        context.memory_mb,
        context.gpus,
    )
    scheduled = _scheduled_node(client, args.workflow_id, context.job_id)
    if scheduled is not None and context.is_head_node:
        _set_status(client, scheduled, "active")
    options = _options(args, context, workflow, scheduled, output_dir)
    for name in _STEP_CONFLICTS:
        os.environ.pop(name, None)  # jobs' srun steps set their own memory
    runner = JobRunner(client, args.workflow_id, options, workflow=workflow)
    if _uses_steps(workflow):
        options.step_command = steps.step_wrapper(
            context.job_id,
            context.node_name,
            args.workflow_id,
            int(workflow["run_id"]),
            runner.requirements.needs,
        )
    try:
        summary = runner.run()
    finally:
        if scheduled is not None and context.is_head_node:
            _set_status(client, scheduled, "complete")
    return {
        "exit_reason": summary.exit_reason,
        "completed": summary.completed,
        "failed": summary.failed,
        "terminated": summary.terminated,
    }


def _options(
    args: argparse.Namespace,
    context: SlurmContext,
    workflow: dict[str, Any],
    scheduled: dict[str, Any] | None,
    output_dir: Path,
) -> RunnerOptions:
    """The runner's options from its flags, its allocation and the workflow's settings."""
    return RunnerOptions(
        output_dir=output_dir,
        resources=context.resources(whole_allocation=not args.is_subtask),
        max_parallel_jobs=args.max_parallel_jobs,
        poll_interval=args.poll_interval,
        end_time=_end_time(context.job_id, workflow),
        min_time_for_new_jobs=_setting(
            workflow, "compute_node_min_time_for_new_jobs_seconds", STOP_CLAIMING_BEFORE_END
        ),
        compute_node_type="slurm",
        scheduler={  # scheduler_id: the scheduled compute node (Torc's correlation key)
            "scheduler_id": scheduled["id"] if scheduled else None,
            "type": "slurm",
            "slurm_job_id": int(context.job_id),
        },
        scheduler_config_id=scheduled["scheduler_config_id"] if scheduled else None,
        ignore_completion=bool(workflow.get("compute_node_ignore_workflow_completion")),
        allocation_ending=lambda: _allocation_ending(context.job_id),
    )


def _auth() -> tuple[str, str] | None:
    """The credentials schedule-nodes left (TORC_CREDENTIALS_FILE), else TORC_PASSWORD for
    $USER, else none."""
    from pytorc.slurm.schedule import read_credentials

    path = os.environ.get("TORC_CREDENTIALS_FILE")
    if path:
        try:
            return read_credentials(path)
        except (OSError, ValueError) as exc:
            log.error("cannot read the credentials file %s: %s", path, exc)
    password = os.environ.get("TORC_PASSWORD")
    user = os.environ.get("USER") or os.environ.get("USERNAME")
    return (user, password) if password and user else None


def _allocation_ending(job_id: str) -> bool:
    """Whether Slurm is ending the allocation (canceled, timed out, completing)."""
    try:
        state = commands.queue_states([job_id]).get(job_id)
    except commands.SlurmError:
        return False
    return state != "RUNNING"


def _uses_steps(workflow: dict[str, Any]) -> bool:
    """Jobs run as srun steps unless the workflow's execution_config says mode: direct (an
    unset mode, or auto, means steps: this runner is inside an allocation)."""
    mode: str = (workflow.get("execution_config") or {}).get("mode", "auto")
    return mode != "direct"


def _end_time(job_id: str, workflow: dict[str, Any]) -> float | None:
    """When to stop: the allocation's end less the workflow's expiration buffer."""
    end = commands.end_time(job_id)
    if end is None:
        log.info("the allocation has no end time: running until the work is done")
        return None
    buffer = _setting(
        workflow, "compute_node_expiration_buffer_seconds", DEFAULT_EXPIRATION_BUFFER_SECONDS
    )
    stop = end - buffer
    log.info("the allocation ends in %.0f s; stopping %g s before that", end - time.time(), buffer)
    if stop <= time.time():
        log.warning(
            "the allocation ends within compute_node_expiration_buffer_seconds (%g s):"
            " no job will start; lower that setting or ask for more walltime",
            buffer,
        )
    return stop


def _setting(workflow: dict[str, Any], key: str, default: float) -> float:
    value = workflow.get(key)
    return default if value is None else float(value)


def _log_to_file(output_dir: Path, context: SlurmContext, workflow_id: int, run_id: int) -> None:
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / f"job_runner_{context.node_name}_wf{workflow_id}_r{run_id}.log"
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)


def _scheduled_node(client: TorcClient, workflow_id: int, job_id: str) -> dict[str, Any] | None:
    """The scheduled compute node schedule-nodes recorded for this allocation (it holds the
    allocation until the record exists); None for an allocation submitted another way."""
    found = client.get(
        "/scheduled_compute_nodes", workflow_id=workflow_id, scheduler_id=int(job_id)
    )
    items = found.get("items") or []
    if not items:
        log.info(
            "no scheduled compute node has scheduler_id %s (not submitted by"
            " schedule-nodes): its status is not tracked",
            job_id,
        )
        return None
    return dict(items[0])


def _set_status(client: TorcClient, scheduled: dict[str, Any], status: str) -> None:
    try:
        client.put(f"/scheduled_compute_nodes/{scheduled['id']}", {**scheduled, "status": status})
    except ApiError as exc:
        log.warning("could not mark scheduled compute node %s %s: %s", scheduled["id"], status, exc)
