"""JobRunner: claim jobs that fit, run them, report results, until the workflow is done.

Three parts. This module is the main thread's loop: it spawns claimed jobs and reaps them
through their pidfds in one poll() with a wake-up pipe, so it sleeps until a job ends, the
reporter brings news or a signal arrives (no busy-waiting). The reporter (runner/reporter.py)
talks to the server on a thread of its own; the two threads share only `reporter.Shared`. The
claim policy (runner/policy.py) decides what fits, what to claim and when to send.

A runner that stops hands the claimed jobs it never started back to the server (ready again),
in its last exchange, or through release_jobs when that exchange could not carry them.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from pytorc.client.api import TorcClient
from pytorc.errors import ApiError
from pytorc.runner.actions import COMPLETE, START, WHILE_RUNNING, WORKER_END, Actions, ActionWatcher
from pytorc.runner.guard import TERMINATION_GRACE, Guard
from pytorc.runner.limits import CHECK_SECONDS, Limits, LimitSettings
from pytorc.runner.outcome import Outcome, now_iso, result_record
from pytorc.runner.policy import STOP_CLAIMING_BEFORE_END, ClaimPolicy, JobRecord
from pytorc.runner.process import JobProcess, job_argv, spawn, terminate
from pytorc.runner.reporter import (
    STOP_RETRY_SECONDS,
    Reporter,
    Requirements,
    RunIds,
    Shared,
)
from pytorc.runner.resources import Resources
from pytorc.runner.retries import Retries

log = logging.getLogger(__name__)

MOVING_AVERAGE_WEIGHT = 0.2  # of the latest job in the mean run time
SECRET_VARIABLES = frozenset({"TORC_PASSWORD", "TORC_CREDENTIALS_FILE"})  # never given to jobs


@dataclass
class RunnerOptions:
    output_dir: Path
    resources: Resources
    max_parallel_jobs: int | None = None
    poll_interval: float = 5.0
    idle_timeout: float | None = None  # None: the workflow's compute_node_wait_for_new_jobs_seconds
    end_time: float | None = None  # epoch seconds: kill and report jobs before this
    min_time_for_new_jobs: float = STOP_CLAIMING_BEFORE_END  # claim nothing this close to it
    termination_grace: float = TERMINATION_GRACE
    heartbeat: float = 1.0  # at most this long between server contacts while jobs run
    compute_node_type: str = "local"
    scheduler: dict[str, Any] | None = None
    scheduler_config_id: int | None = None
    monitor: JobMonitor | None = None  # samples each job's process tree (CPU %, RSS)
    step_command: StepCommand | None = None  # wraps each job's argv (e.g. in a Slurm srun step)
    ignore_completion: bool = False  # keep waiting for new jobs after the workflow completes
    # Whether the scheduler is ending this runner's allocation: a job that fails then was
    # killed with it (Slurm signals the jobs' steps as it cancels), so it counts as terminated.
    allocation_ending: Callable[[], bool] | None = None


@dataclass
class RunSummary:
    workflow_id: int
    compute_node_id: int = 0
    completed: int = 0
    failed: int = 0
    canceled: int = 0
    terminated: int = 0
    pending_failed: int = 0  # failed, left for a person to retry or fail (use_pending_failed)
    released: int = 0  # claimed jobs handed back, never started
    exit_reason: str = ""
    job_statuses: dict[int, str] = field(default_factory=dict)


Listener = Callable[[str, dict[str, Any]], None]
StepCommand = Callable[[JobRecord, int, list[str]], list[str]]
"""(job, attempt, argv) -> the argv to exec instead."""


class JobMonitor(Protocol):
    """Resource sampling of running jobs; one instance serves the whole runner."""

    def add(self, job_id: int, pid: int) -> None: ...

    def remove(self, job_id: int) -> dict[str, Any]:
        """Stop watching; the result fields it measured (peak/avg memory bytes, CPU %)."""
        ...

    def close(self) -> None: ...


class Ended(NamedTuple):
    """A reaped job, with the status its outputs impose (None: its exit code decides)."""

    proc: JobProcess
    status: str | None


class JobRunner:
    """Runs one workflow's jobs on this machine until it is complete, canceled or time is up."""

    def __init__(
        self,
        client: TorcClient,
        workflow_id: int,
        options: RunnerOptions,
        listener: Listener | None = None,
        workflow: dict[str, Any] | None = None,
        guard: Guard | None = None,
    ) -> None:
        """`workflow`: its record, if the caller has just read it (saves a round trip).
        `guard`: one the caller started early (its ~10 ms start-up then overlaps the caller's
        own work instead of the first job's spawn); the runner closes it."""
        self.client = client
        self.workflow = workflow
        self.workflow_id = workflow_id
        self.opts = options
        self.listener = listener or (lambda event, data: None)
        self.summary = RunSummary(workflow_id)
        self.policy = ClaimPolicy(
            options.resources,
            options.max_parallel_jobs,
            options.end_time,
            options.scheduler_config_id,
            options.heartbeat,
            options.poll_interval,
            options.min_time_for_new_jobs,
        )
        self.shared = Shared()
        self.requirements = Requirements(client)
        # The rest is the main thread's own. poll(), not a selector: a job starts and ends with
        # a register and an unregister of its pidfd, and selectors' bookkeeping cost more.
        self.poller = select.poll()
        self.procs: dict[int, JobProcess] = {}  # job id -> its process, while it runs
        self.by_pidfd: dict[int, JobProcess] = {}
        self.released_here: list[JobRecord] = []  # hinted jobs whose last blocker just completed
        self.without_pidfd = 0  # running jobs with no pidfd (reaped by a WNOHANG waitpid)
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        self.stop_signal = 0
        self.use_pending_failed = False  # unhandled failures wait for a person (workflow's)
        self.limits: Limits | None = None  # execution_config.limit_resources, in direct mode
        self.guard = guard
        self.actions: Actions | None = None  # the workflow's actions, read once the node exists
        self.file_records: dict[int, dict[str, Any]] = {}  # output file id -> its record
        self.env_base = {  # what every job's environment shares; _job_env adds the job's own
            **{k: v for k, v in os.environ.items() if k not in SECRET_VARIABLES},
            "TORC_API_URL": client.base_url,
            "TORC_WORKFLOW_ID": str(workflow_id),
            "TORC_OUTPUT_DIR": str(options.output_dir),
        }
        self.stdio_dir = options.output_dir / "job_stdio"
        self.stdio_prefix = f"{self.stdio_dir}{os.sep}"

    # --- setup and teardown ----------------------------------------------------------------------

    def run(self) -> RunSummary:
        """Register, run until done, deregister. SIGTERM/SIGINT stop it cleanly."""
        idle_timeout = self._prepare()
        self.reporter = Reporter(
            self.client, self.ids, self.policy, self.shared, self.requirements, self._wake_main
        )
        self.retries = Retries(
            self.client,
            self.ids.run_id,
            self.opts.output_dir,
            self.env_base,
            self._give_up,
            self._start_reported,
        )
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        self.poller.register(self.wake_r, select.POLLIN)
        self.reporter.start()
        started_at = time.monotonic()
        watcher: ActionWatcher | None = None
        try:  # from here on the node is deregistered and claimed jobs handed back, come what may
            watcher = self._start_actions()
            self.summary.exit_reason = self._main_loop(idle_timeout)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            if watcher is not None:
                watcher.stop()
            self._close(time.monotonic() - started_at)
            self._final_actions()
        return self.summary

    def _start_actions(self) -> ActionWatcher | None:
        """Run the start actions; watch for job-triggered ones while jobs run (only when the
        workflow has actions)."""
        self.actions = Actions(
            self.client, self.workflow_id, self.opts.output_dir, self.ids.compute_node_id
        )
        if not self.actions.present:
            return None
        self.actions.run_pending(START)
        watcher = ActionWatcher(self.actions, max(self.opts.poll_interval, 1.0))
        watcher.start()
        return watcher

    def _final_actions(self) -> None:
        """on_jobs_* that came true at the end, on_workflow_complete, on_worker_complete."""
        if self.actions is None or not self.actions.present:
            return
        self.actions.run_pending(WHILE_RUNNING)  # (allocations are not submitted once complete)
        if self.summary.exit_reason == "workflow complete":
            self.actions.run_pending(COMPLETE)
        self.actions.run_pending(WORKER_END)

    def _prepare(self) -> float:
        """Read the workflow, register the node, load requirements, start the guard; the idle
        timeout in seconds (0: none)."""
        wf = self.workflow or self.client.get_workflow(self.workflow_id)
        self.use_pending_failed = bool(wf.get("use_pending_failed"))
        settings = LimitSettings.from_workflow(wf)
        if settings is not None and self.opts.step_command is None:  # Slurm enforces steps'
            self.limits = Limits(settings, self.requirements.needs)
        self.stdio_dir.mkdir(parents=True, exist_ok=True)
        idle_timeout = self.opts.idle_timeout
        if idle_timeout is None:
            idle_timeout = float(wf.get("compute_node_wait_for_new_jobs_seconds") or 0)
        node_id = self._register()
        self.summary.compute_node_id = node_id
        self.ids = RunIds(self.workflow_id, int(wf["run_id"]), node_id)
        if not self.policy.by_count:  # only resource-based claiming needs them
            self.requirements.load(self.workflow_id)
        self.guard = self.guard or self._start_guard()
        return idle_timeout

    def _close(self, seconds: float) -> None:
        """Stop what still runs, let the reporter send its last batch, hand back, deregister."""
        if self.procs:
            self._stop_all("terminated")
        self.retries.close()  # their results go out with the last batch
        with self.shared.cond:
            self.shared.closing = True
            self.shared.cond.notify_all()
        self.reporter.join(timeout=60)
        os.close(self.wake_r)
        os.close(self.wake_w)
        if self.guard is not None:
            self.guard.close()
        self.reporter.hand_back_leftovers()
        with self.shared.cond:
            self.summary.released = self.shared.released
        self._deregister(seconds)

    def _register(self) -> int:
        res = self.opts.resources
        node = self.client.post(
            "/compute_nodes",
            {
                "workflow_id": self.workflow_id,
                "hostname": socket.gethostname(),
                "pid": os.getpid(),
                "start_time": now_iso(),
                "is_active": True,
                "num_cpus": res.num_cpus,
                "memory_gb": float(res.memory_gb),
                "num_gpus": res.num_gpus,
                "num_nodes": res.num_nodes,
                "compute_node_type": self.opts.compute_node_type,
                # Where its jobs' stdio goes: `torc jobs logs` and `torc logs` find it here.
                "scheduler": {
                    **(self.opts.scheduler or {}),
                    "output_dir": str(self.opts.output_dir),
                },
                "scheduler_config_id": self.opts.scheduler_config_id,
            },
        )
        self.node = node
        return int(node["id"])

    def _deregister(self, seconds: float) -> None:
        node_id = self.ids.compute_node_id
        try:
            self.client.put(
                f"/compute_nodes/{node_id}",
                {**self.node, "is_active": False, "duration_seconds": seconds},
            )
        except ApiError as exc:
            log.warning("could not mark compute node %s inactive: %s", node_id, exc)

    def _start_guard(self) -> Guard | None:
        """The process that kills our jobs if we die without doing it (see runner/guard.py)."""
        try:
            return Guard.start(self.opts.termination_grace)
        except OSError as exc:
            log.warning("jobs will outlive this runner if it is killed: no guard process: %s", exc)
            return None

    def _on_signal(self, signum: int, frame: object) -> None:
        self.stop_signal = signum
        os.write(self.wake_w, b"s")

    def _wake_main(self) -> None:
        """Called by the reporter when it has news: ends the main thread's poll()."""
        os.write(self.wake_w, b"r")

    # --- the main thread: spawn and reap ----------------------------------------------------------

    def _main_loop(self, idle_timeout: float) -> str:
        """Start what fits, sleep until something ends, repeat; the reason it stopped."""
        shared = self.shared
        ignore_completion = self.opts.ignore_completion
        idle_since = time.monotonic()
        ended: list[Ended] = []
        while True:
            out_of_time = self.opts.end_time is not None and time.time() >= self.opts.end_time
            # One critical section per turn: record what ended, then start what fits.
            with shared.cond:
                for proc, status in ended:
                    self._finish(proc, status)
                if shared.error is not None:
                    raise shared.error
                canceled = shared.canceled
                released, self.released_here = self.released_here, []
                if not (canceled or self.stop_signal or out_of_time):
                    self._start_released(released)
                    self._start_claimed()
                    if (
                        shared.running
                        or shared.claimed
                        or shared.unsent_starts
                        or shared.unsent_results
                        or shared.in_flight  # maybe results the server has not taken yet
                    ):
                        idle_since = time.monotonic()
                    elif shared.in_flight or ignore_completion:
                        pass
                    elif shared.complete:
                        return "workflow complete"
                    elif shared.stalled:
                        return "nothing left that a runner can start (the rest waits for a person)"
                    elif shared.unfit and not shared.others_active:
                        return "nothing left that this runner can run: " + _unfit(shared.unfit)
                self._wake_reporter()
            reason = self._stop_reason(canceled, out_of_time)
            if reason is None and idle_timeout and time.monotonic() - idle_since > idle_timeout:
                reason = f"idle for {idle_timeout:g} s with no claimable jobs"
            if reason is not None:
                return reason
            wait = self.opts.heartbeat if self.procs else min(self.opts.poll_interval, 1.0)
            if self.limits is not None and self.procs:
                self.limits.check(self.procs.values())
                wait = min(wait, CHECK_SECONDS)
            ended = self._wait(wait)

    def _stop_reason(self, canceled: bool, out_of_time: bool) -> str | None:
        """If the runner must stop, kill and report its jobs and say why."""
        if self.stop_signal:
            # Stopping: give an unreachable server seconds, not the minutes a running
            # runner waits for it, so the final report and deregistration end quickly.
            self.client.retry_seconds = min(self.client.retry_seconds, STOP_RETRY_SECONDS)
            self._stop_all("terminated")
            return f"stopped by {signal.Signals(self.stop_signal).name}"
        if out_of_time:
            self._stop_all("terminated")
            return "reached its end time"
        if canceled:
            self._stop_all("canceled")
            return "workflow canceled"
        return None

    def _start_released(self, jobs: list[JobRecord]) -> None:
        """Start hinted jobs whose last blocker just completed here, while they fit (caller
        holds the lock); one that does not is left to the server (runner/successors.py)."""
        shared = self.shared
        end = self.opts.end_time
        late = end is not None and time.time() >= end - self.opts.min_time_for_new_jobs
        for job in jobs:
            if (
                late
                or shared.stopping
                or not self.policy.has_room(job, shared.running.values(), self.requirements.needs)
            ):
                shared.successors.drop(job["id"])
            else:
                self._start(job)

    def _start_claimed(self) -> None:
        """Start claimed jobs, oldest first, while they fit (caller holds the lock)."""
        shared = self.shared
        needs = self.requirements.needs
        while shared.claimed and self.policy.has_room(
            shared.claimed[0], shared.running.values(), needs
        ):
            self._start(shared.claimed.popleft())

    def _job_env(self, job: JobRecord, attempt: int) -> dict[str, str]:
        env = {
            **self.env_base,
            "TORC_JOB_ID": str(job["id"]),
            "TORC_JOB_NAME": job["name"],
            "TORC_ATTEMPT_ID": str(attempt),
        }
        if job.get("env"):
            env.update(job["env"])
        return env

    def _start(self, job: JobRecord) -> None:
        """Spawn one job and watch it (caller holds the lock)."""
        jid, attempt = job["id"], job.get("attempt_id") or 1
        stem = f"{self.stdio_prefix}job_wf{self.workflow_id}_j{jid}_r{self.ids.run_id}_a{attempt}"
        start_time = now_iso()
        self.shared.unsent_starts.append({"job_id": jid, "start_time": start_time})
        try:
            # A job that sets its own PATH means that PATH: bash looks the program up in it.
            argv = job_argv(
                job["command"],
                job.get("invocation_script"),
                direct="PATH" not in (job.get("env") or {}),
            )
            if self.opts.step_command is not None:
                argv = self.opts.step_command(job, attempt, argv)
            env = self._job_env(job, attempt)
            proc = spawn(job, argv, env, f"{stem}.o", f"{stem}.e", start_time)
        except (OSError, ValueError) as exc:  # ValueError: a NUL byte, an '=' in an env name
            log.error("job %s could not start: %s", job["name"], exc)
            self._record(job, Outcome("failed", 127, 0.0))
            return
        self.shared.running[jid] = job
        self.procs[jid] = proc
        if self.guard is not None:
            self.guard.watch(proc.pid)  # the job leads its own process group
        if proc.pidfd >= 0:
            self.poller.register(proc.pidfd, select.POLLIN)
            self.by_pidfd[proc.pidfd] = proc
        else:
            self.without_pidfd += 1
        if self.opts.monitor is not None:
            self.opts.monitor.add(jid, proc.pid)
        self.listener("started", job)

    def _wait(self, timeout: float) -> list[Ended]:
        """Sleep until a job ends, the reporter brings news, a signal arrives, or `timeout`;
        the jobs that ended, reaped, for the caller to record."""
        ended: list[JobProcess] = []
        for fd, _ in self.poller.poll(timeout * 1000):
            if fd == self.wake_r:
                try:
                    while os.read(self.wake_r, 4096):
                        pass
                except BlockingIOError:
                    pass
            else:
                ended.append(self.by_pidfd[fd])
        if self.without_pidfd:  # no pidfd on this system: caught by a WNOHANG reap
            ended += [p for p in self.procs.values() if p.pidfd < 0 and p.reap()]
        for proc in ended:
            proc.reap(block=True)
        return [Ended(proc, self._check_outputs(proc)) for proc in ended]

    def _wake_reporter(self) -> None:
        """Wake the reporter when its decision may change (caller holds the lock): the first
        result of a batch, a queue low enough to claim more, a runner with nothing running, or
        hints run low (results held back while they were plenty then go).
        Otherwise its own timer wakes it; waking it after every job cost GIL hand-offs."""
        shared = self.shared
        starving = not shared.ready_exhausted and self.policy.is_starving(
            shared.holding(), self.requirements.needs
        )
        if shared.wake_owed or starving or not shared.running or shared.successors.ran_low:
            shared.wake_owed = shared.successors.ran_low = False
            shared.cond.notify_all()

    def _check_outputs(self, proc: JobProcess) -> str | None:
        """'failed' if a successful job left a declared output file unwritten; records the
        modification time of those it wrote."""
        if proc.returncode != 0 or not proc.job.get("output_file_ids"):
            return None
        missing = []
        for fid in proc.job["output_file_ids"]:
            record = self.file_records.get(fid) or self.client.get(f"/files/{fid}")
            self.file_records[fid] = record
            path = Path(record["path"])
            if not path.exists():
                missing.append(record["path"])
                continue
            record["st_mtime"] = path.stat().st_mtime
            self.client.put(
                f"/files/{fid}", {k: record[k] for k in ("workflow_id", "name", "path", "st_mtime")}
            )
        if missing:
            names = ", ".join(missing)
            log.error("job %s exited 0 but did not write %s", proc.job["name"], names)
            return "failed"
        return None

    def _finish(self, proc: JobProcess, status: str | None = None) -> None:
        """Stop watching a reaped job and record its result (caller holds the lock)."""
        self.shared.running.pop(proc.job_id, None)
        self.procs.pop(proc.job_id, None)
        if self.guard is not None:
            self.guard.forget(proc.pid)
        if proc.pidfd >= 0:
            self.poller.unregister(proc.pidfd)
            del self.by_pidfd[proc.pidfd]
            proc.close_fd()
        else:
            self.without_pidfd -= 1
        rc = proc.returncode if proc.returncode is not None else -9
        limited = self.limits.outcome(proc) if self.limits is not None else None
        if limited is not None and status is None:
            status, rc = limited
        elif status is None:
            status = "completed" if rc == 0 else self._failure_status()
        elif status == "failed" and rc == 0:
            rc = 1
        measured = self.opts.monitor.remove(proc.job_id) if self.opts.monitor else {}
        seconds = proc.ended - proc.started
        mean = self.shared.mean_job_seconds
        weight = MOVING_AVERAGE_WEIGHT
        self.shared.mean_job_seconds = (
            seconds if mean is None else (1 - weight) * mean + weight * seconds
        )
        outcome = Outcome(status, rc, seconds, proc.rusage, measured)
        if status == "failed" and Retries.wants(proc.job):
            result = result_record(self.ids, proc.job_id, outcome)
            self.retries.submit(proc.job, outcome, result)  # it records the failure if no retry
            return
        if status == "failed" and self.use_pending_failed:
            outcome = outcome._replace(status="pending_failed")
        self._record(proc.job, outcome)

    def _give_up(self, job: JobRecord, outcome: Outcome, no_rule: bool = True) -> None:
        """A failed job its failure handler will not retry: reported failed after all, or
        pending_failed (for a person to decide) when no rule matched and the workflow asks."""
        if no_rule and self.use_pending_failed:
            outcome = outcome._replace(status="pending_failed")
        with self.shared.cond:
            self._record(job, outcome)
            self.shared.cond.notify_all()
        self._wake_main()

    def _start_reported(self, job_id: int, timeout: float = 60.0) -> None:
        """Wait until the reporter has sent this job's start (a quick job may fail first)."""
        shared = self.shared
        deadline = time.monotonic() + timeout
        with shared.cond:
            while time.monotonic() < deadline and (
                shared.in_flight or any(s["job_id"] == job_id for s in shared.unsent_starts)
            ):
                shared.wake_owed = True
                shared.cond.notify_all()
                shared.cond.wait(0.05)

    def _failure_status(self) -> str:
        """'failed', or 'terminated' when the runner is stopping or its allocation ending."""
        ending = self.opts.allocation_ending
        if self.stop_signal or (ending is not None and ending()):
            return "terminated"
        return "failed"

    def _record(self, job: JobRecord, outcome: Outcome) -> None:
        """Queue a job's result for the reporter and count it (caller holds the lock)."""
        status, result = outcome.status, result_record(self.ids, job["id"], outcome)
        self.shared.add_result(
            {"job_id": job["id"], "run_id": self.ids.run_id, "status": status, "result": result}
        )
        released = self.shared.successors.ended(job["id"], status == "completed")
        self.released_here.extend(released)
        self.summary.job_statuses[job["id"]] = status
        setattr(self.summary, status, getattr(self.summary, status) + 1)
        self.listener(status, {**job, "return_code": outcome.return_code})

    def _stop_all(self, status: str) -> None:
        """Kill every running job (SIGTERM, grace, SIGKILL to the group) and report it."""
        shared = self.shared
        with shared.cond:
            procs = list(self.procs.values())
            shared.stopping = True
            shared.release_claimed()  # the reporter hands them back with the results below
        terminate(procs, self.opts.termination_grace)
        with shared.cond:
            for proc in procs:
                self._finish(proc, status)
            shared.cond.notify_all()


def _unfit(jobs: list[dict[str, Any]]) -> str:
    """Ready jobs too big for this runner, in words."""
    named = "; ".join(f"{job['name']} (job {job['id']}) needs {job['beyond']}" for job in jobs)
    return f"ready jobs need more than it has: {named}"
