"""JobRunner: claim jobs that fit, run them, report results, until the workflow is done.

Two threads share the work. The main thread spawns jobs and reaps them through pidfds with
select() (no busy-waiting). A reporter thread talks to the server: one exchange_jobs round trip
carries every start and completion since the last one and claims more jobs, so HTTP latency
overlaps with running jobs instead of adding to each. With a job limit (`max_parallel_jobs`) the
runner keeps a few spare claimed jobs, so a finished job is replaced by a local spawn. A runner
that stops hands the claimed jobs it never started back to the server (ready again), in its last
round trip, or through release_jobs when that round trip could not carry them.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from pytorc.client.api import TorcClient
from pytorc.errors import ApiError
from pytorc.runner.guard import Guard
from pytorc.runner.process import JobProcess, job_argv, spawn, terminate
from pytorc.runner.resources import Resources
from pytorc.units import UnitError, memory_bytes

log = logging.getLogger(__name__)

GIB = 1024**3
MIB = 1024**2
STOP_CLAIMING_BEFORE_END = 60.0
STOP_RETRY_SECONDS = 5.0
REPORT_DELAY = 0.05  # longest a finished job's result waits for company before it is sent
QUEUE_HORIZON = 1.0  # seconds of work per slot a runner may hold claimed beyond what it runs


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class RunnerOptions:
    output_dir: Path
    resources: Resources
    max_parallel_jobs: int | None = None
    poll_interval: float = 5.0
    idle_timeout: float | None = None  # None: the workflow's compute_node_wait_for_new_jobs_seconds
    end_time: float | None = None  # epoch seconds: kill and report jobs before this
    termination_grace: float = 3.0
    heartbeat: float = 1.0  # at most this long between server contacts while jobs run
    compute_node_type: str = "local"
    scheduler: dict[str, Any] | None = None
    scheduler_config_id: int | None = None
    monitor: JobMonitor | None = None  # samples each job's process tree (CPU %, RSS)


@dataclass
class RunSummary:
    workflow_id: int
    compute_node_id: int = 0
    completed: int = 0
    failed: int = 0
    canceled: int = 0
    terminated: int = 0
    released: int = 0  # claimed jobs handed back, never started
    exit_reason: str = ""
    job_statuses: dict[int, str] = field(default_factory=dict)


Listener = Callable[[str, dict[str, Any]], None]


class JobMonitor(Protocol):
    """Resource sampling of running jobs; one instance serves the whole runner."""

    def add(self, job_id: int, pid: int) -> None: ...

    def remove(self, job_id: int) -> dict[str, Any]:
        """Stop watching; the result fields it measured (peak/avg memory bytes, CPU %)."""
        ...

    def close(self) -> None: ...


class JobRunner:
    """Runs one workflow's jobs on this machine until it is complete, canceled or time is up."""

    def __init__(
        self,
        client: TorcClient,
        workflow_id: int,
        options: RunnerOptions,
        listener: Listener | None = None,
        workflow: dict[str, Any] | None = None,
    ) -> None:
        """`workflow`: its record, if the caller has just read it (saves a round trip)."""
        self.client = client
        self.workflow = workflow
        self.workflow_id = workflow_id
        self.opts = options
        self.listener = listener or (lambda event, data: None)
        self.summary = RunSummary(workflow_id)
        # Shared between the threads; guarded by self.cond.
        self.cond = threading.Condition(threading.Lock())  # never re-entered: no RLock needed
        self.running: dict[int, JobProcess] = {}
        self.queue: deque[dict[str, Any]] = deque()
        self.release: list[int] = []  # claimed jobs to hand back: the runner is stopping
        self.stopping = False  # claim nothing more
        self.starts: list[dict[str, Any]] = []
        self.completions: list[dict[str, Any]] = []
        self.first_news_at: float | None = None  # when the oldest unsent completion arrived
        self.news_unseen = False  # a first completion the reporter has not been woken for
        self.claim_exhausted = False
        self.in_flight = False
        self.is_complete = False
        self.is_canceled = False
        self.reporter_error: BaseException | None = None
        self.closing = False
        # Main thread only. poll(), not a selector: a job starts and ends with a register and
        # an unregister of its pidfd, and selectors' bookkeeping cost more than the syscalls.
        self.poller = select.poll()
        self.watched: dict[int, JobProcess] = {}  # pidfd -> its job
        self.unwatched = 0  # running jobs without a pidfd (reaped by polling waitpid)
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        self.stop_signal = 0
        self.guard: Guard | None = None
        self.rr: dict[int, tuple[int, float, int]] = {}
        self.files: dict[int, dict[str, Any]] = {}
        self.env_base = {  # what every job's environment shares; _start adds the job's own
            **os.environ,
            "TORC_API_URL": client.base_url,
            "TORC_WORKFLOW_ID": str(workflow_id),
            "TORC_OUTPUT_DIR": str(options.output_dir),
        }
        self.stdio_dir = options.output_dir / "job_stdio"
        self.stdio_prefix = f"{self.stdio_dir}{os.sep}"
        self.slots = options.max_parallel_jobs or max(options.resources.num_cpus, 1)
        self.max_extra = min(max(8 * self.slots, 64), 512)
        self.job_seconds: float | None = None  # moving average of run times (under the lock)

    # --- setup and teardown ----------------------------------------------------------------------

    def run(self) -> RunSummary:
        """Register, run until done, deregister. SIGTERM/SIGINT stop it cleanly."""
        wf = self.workflow or self.client.get_workflow(self.workflow_id)
        self.run_id = int(wf["run_id"])
        self.stdio_dir.mkdir(parents=True, exist_ok=True)
        idle_timeout = self.opts.idle_timeout
        if idle_timeout is None:
            idle_timeout = float(wf.get("compute_node_wait_for_new_jobs_seconds") or 0)
        self.node_id = self._register()
        self.summary.compute_node_id = self.node_id
        if self.opts.max_parallel_jobs is None:  # only resource-based claiming needs them
            for rr in self.client.iter_pages(
                "/resource_requirements", workflow_id=self.workflow_id
            ):
                self.rr[rr["id"]] = self._parse_rr(rr)
        self.guard = self._start_guard()
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        self.poller.register(self.wake_r, select.POLLIN)
        reporter = threading.Thread(target=self._report_loop, name="torc-reporter", daemon=True)
        # Hand-offs between the threads wait for the GIL: a finished job is reaped only once the
        # reporter lets go of it. The 5 ms default would add up to 5 ms to every chained job;
        # 0.1 ms beat 0.5 ms by ~5% on 2,000 short jobs (medians of 10) at no extra CPU, and
        # 0.03 ms gained nothing more.
        switch = sys.getswitchinterval()
        sys.setswitchinterval(0.0001)
        reporter.start()
        started_at = time.monotonic()
        try:
            self.summary.exit_reason = self._main_loop(idle_timeout)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            sys.setswitchinterval(switch)
            if self.running:
                self._stop_all("terminated")
            with self.cond:
                self.closing = True
                self.cond.notify_all()
            reporter.join(timeout=60)
            os.close(self.wake_r)
            os.close(self.wake_w)
            if self.guard is not None:
                self.guard.close()
            self._release_leftovers()
            self._deregister(time.monotonic() - started_at)
        return self.summary

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
                "scheduler": self.opts.scheduler,
                "scheduler_config_id": self.opts.scheduler_config_id,
            },
        )
        self.node = node
        return int(node["id"])

    def _deregister(self, seconds: float) -> None:
        try:
            self.client.put(
                f"/compute_nodes/{self.node_id}",
                {**self.node, "is_active": False, "duration_seconds": seconds},
            )
        except ApiError as exc:
            log.warning("could not mark compute node %s inactive: %s", self.node_id, exc)

    def _start_guard(self) -> Guard | None:
        """The process that kills our jobs if we die without doing it (see runner/guard.py)."""
        try:
            return Guard.start(self.opts.termination_grace)
        except OSError as exc:
            log.warning("jobs will outlive this runner if it is killed: no guard process: %s", exc)
            return None

    def _release_leftovers(self) -> None:
        """Hand back, through the plain route, the claimed jobs the reporter's last exchange
        did not carry (it failed, or did not end in time)."""
        with self.cond:
            self._take_queue()
            ids, self.release = self.release, []
        if not ids:
            return
        self.client.retry_seconds = min(self.client.retry_seconds, STOP_RETRY_SECONDS)
        try:
            answer = self.client.release_jobs(self.workflow_id, self.run_id, self.node_id, ids)
        except ApiError as exc:
            log.warning(
                "could not hand back %d claimed jobs; they stay pending until"
                " `torc workflows reset-status`: %s",
                len(ids),
                exc,
            )
            return
        _log_errors(answer)
        with self.cond:
            self.summary.released += len(answer.get("released") or ())

    def _take_queue(self) -> None:
        """Move the claimed, never-started jobs to the release list (caller holds the lock).

        A canceled workflow's are left alone: the cancel made them canceled already."""
        if not self.is_canceled:
            self.release.extend(job["id"] for job in self.queue)
        self.queue.clear()

    def _on_signal(self, signum: int, frame: object) -> None:
        self.stop_signal = signum
        os.write(self.wake_w, b"s")

    @staticmethod
    def _parse_rr(rr: dict[str, Any]) -> tuple[int, float, int]:
        try:
            mem = float(memory_bytes(rr["memory"]))
        except (UnitError, KeyError, TypeError):
            mem = float(MIB)
        return int(rr.get("num_cpus") or 1), mem, int(rr.get("num_gpus") or 0)

    def _needs(self, job: dict[str, Any]) -> tuple[int, float, int]:
        """(cpus, memory bytes, gpus) a job holds while it runs."""
        rr_id = job.get("resource_requirements_id")
        if rr_id is None:
            return 1, float(MIB), 0
        if rr_id not in self.rr:
            self.rr[rr_id] = self._parse_rr(self.client.get(f"/resource_requirements/{rr_id}"))
        return self.rr[rr_id]

    # --- the main thread: spawn and reap ----------------------------------------------------------

    def _main_loop(self, idle_timeout: float) -> str:
        idle_since = time.monotonic()
        ended: list[tuple[JobProcess, str | None]] = []
        while True:
            out_of_time = self.opts.end_time is not None and time.time() >= self.opts.end_time
            # One critical section per turn: record what ended, then start what fits.
            with self.cond:
                for proc, checked in ended:
                    self._finish(proc, checked)
                if self.reporter_error is not None:
                    raise self.reporter_error
                canceled = self.is_canceled
                if not (canceled or self.stop_signal or out_of_time):
                    self._start_queued()
                    if self.running or self.queue or self.starts or self.completions:
                        idle_since = time.monotonic()
                    elif self.is_complete and not self.in_flight:
                        return "workflow complete"
                self._wake_reporter()
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
            if idle_timeout and time.monotonic() - idle_since > idle_timeout:
                return f"idle for {idle_timeout:g} s with no claimable jobs"
            ended = self._wait(
                self.opts.heartbeat if self.running else min(self.opts.poll_interval, 1.0)
            )

    def _start_queued(self) -> None:
        """Start queued jobs while they fit (caller holds the lock)."""
        while self.queue and self._has_room(self.queue[0]):
            self._start(self.queue.popleft())

    def _has_room(self, job: dict[str, Any]) -> bool:
        if self.opts.max_parallel_jobs is not None:
            return len(self.running) < self.opts.max_parallel_jobs
        cpus, mem, gpus = self._free(include_queue=False)
        need = self._needs(job)
        return need[0] <= cpus and need[1] <= mem and need[2] <= gpus

    def _start(self, job: dict[str, Any]) -> None:
        wf, jid, attempt = self.workflow_id, job["id"], job.get("attempt_id") or 1
        stem = f"job_wf{wf}_j{jid}_r{self.run_id}_a{attempt}"
        env = {
            **self.env_base,
            "TORC_JOB_ID": str(jid),
            "TORC_JOB_NAME": job["name"],
            "TORC_ATTEMPT_ID": str(attempt),
        }
        if job.get("env"):
            env.update(job["env"])
        start_time = now_iso()
        self.starts.append({"job_id": jid, "start_time": start_time})
        try:
            argv = job_argv(
                job["command"],
                job.get("invocation_script"),
                direct="PATH" not in (job.get("env") or {}),
            )
            proc = spawn(
                job,
                argv,
                env,
                f"{self.stdio_prefix}{stem}.o",
                f"{self.stdio_prefix}{stem}.e",
                start_time,
            )
        except OSError as exc:
            log.error("job %s could not start: %s", job["name"], exc)
            self._report(job, "failed", 127, 0.0, None)
            return
        self.running[jid] = proc
        if self.guard is not None:
            self.guard.watch(proc.pid)  # the job leads its own process group
        if proc.pidfd >= 0:
            self.poller.register(proc.pidfd, select.POLLIN)
            self.watched[proc.pidfd] = proc
        else:
            self.unwatched += 1
        if self.opts.monitor is not None:
            self.opts.monitor.add(jid, proc.pid)
        self.listener("started", job)

    def _wait(self, timeout: float) -> list[tuple[JobProcess, str | None]]:
        """Sleep until a job ends, the reporter brings news, a signal arrives, or `timeout`.

        The jobs that ended, reaped, each with the status its outputs impose (see
        _check_outputs); the caller records them.
        """
        ended: list[JobProcess] = []
        for fd, _ in self.poller.poll(timeout * 1000):
            if fd == self.wake_r:
                try:
                    while os.read(self.wake_r, 4096):
                        pass
                except BlockingIOError:
                    pass
            else:
                ended.append(self.watched[fd])
        if self.unwatched:  # no pidfd on this system: caught by a WNOHANG reap
            ended += [p for p in self.running.values() if p.pidfd < 0 and p.reap()]
        for proc in ended:
            proc.reap(block=True)
        return [(proc, self._check_outputs(proc)) for proc in ended]

    def _wake_reporter(self) -> None:
        """Wake the reporter when its decision may change (caller holds the lock): the first
        result of a batch, a queue low enough to claim more, or a runner with nothing running.
        Otherwise its own timer wakes it; waking it after every job cost GIL hand-offs."""
        starving = self._starving() and not self.claim_exhausted
        if self.news_unseen or starving or not self.running:
            self.news_unseen = False
            self.cond.notify_all()

    def _check_outputs(self, proc: JobProcess) -> str | None:
        """'failed' if a successful job left a declared output file unwritten."""
        if proc.returncode != 0 or not proc.job.get("output_file_ids"):
            return None
        missing = []
        for fid in proc.job["output_file_ids"]:
            record = self.files.get(fid) or self.client.get(f"/files/{fid}")
            self.files[fid] = record
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
        """Record a reaped job's result (caller holds the lock)."""
        self.running.pop(proc.job_id, None)
        if self.guard is not None:
            self.guard.forget(proc.pid)
        if proc.pidfd >= 0:
            self.poller.unregister(proc.pidfd)
            del self.watched[proc.pidfd]
            proc.close_fd()
        else:
            self.unwatched -= 1
        rc = proc.returncode if proc.returncode is not None else -9
        if status is None:
            status = "completed" if rc == 0 else "failed"
        elif status == "failed" and rc == 0:
            rc = 1
        measured = self.opts.monitor.remove(proc.job_id) if self.opts.monitor else {}
        seconds = proc.ended - proc.started
        average = self.job_seconds
        self.job_seconds = seconds if average is None else 0.8 * average + 0.2 * seconds
        self._report(proc.job, status, rc, seconds, proc.rusage, measured)

    def _report(
        self,
        job: dict[str, Any],
        status: str,
        rc: int,
        seconds: float,
        rusage: Any,
        measured: dict[str, Any] | None = None,
    ) -> None:
        result: dict[str, Any] = {
            "job_id": job["id"],
            "workflow_id": self.workflow_id,
            "run_id": self.run_id,
            "compute_node_id": self.node_id,
            "return_code": rc,
            "exec_time_minutes": seconds / 60.0,
            "completion_time": now_iso(),
            "status": status,
        }
        # CPU time comes from the kernel's accounting of the job; its ru_maxrss does not: a child
        # started by vfork carries the runner's own high-water mark across exec, so memory is
        # only reported when the resource monitor sampled the job.
        if rusage is not None and seconds > 0:
            cpu = rusage.ru_utime + rusage.ru_stime
            result["avg_cpu_percent"] = round(100.0 * cpu / seconds, 2)
        if measured:
            result.update({k: v for k, v in measured.items() if v is not None})
        if not self.completions:
            self.first_news_at = time.monotonic()
            self.news_unseen = True
        self.completions.append(
            {"job_id": job["id"], "run_id": self.run_id, "status": status, "result": result}
        )
        self.summary.job_statuses[job["id"]] = status
        setattr(self.summary, status, getattr(self.summary, status) + 1)
        self.listener(status, {**job, "return_code": rc})

    def _stop_all(self, status: str) -> None:
        """Kill every running job (SIGTERM, grace, SIGKILL to the group) and report it."""
        with self.cond:
            procs = list(self.running.values())
            self.stopping = True
            self._take_queue()  # the reporter hands them back with the results below
        terminate(procs, self.opts.termination_grace)
        with self.cond:
            for proc in procs:
                self._finish(proc, status)
            self.cond.notify_all()

    # --- the reporter thread: one round trip per batch -----------------------------------------

    def _free(self, include_queue: bool = True) -> tuple[int, float, int]:
        res = self.opts.resources
        cpus, mem, gpus = res.num_cpus, res.memory_gb * GIB, res.num_gpus
        held = [p.job for p in self.running.values()]
        if include_queue:
            held += list(self.queue)
        for job in held:
            c, m, g = self._needs(job)
            cpus, mem, gpus = cpus - c, mem - m, gpus - g
        return cpus, mem, gpus

    def _claim_body(self) -> dict[str, Any] | None:
        """What to claim now, from the current running jobs and queue (caller holds the lock)."""
        if self.is_canceled or self.closing or self.stopping:
            return None
        end = self.opts.end_time
        if end is not None and time.time() >= end - STOP_CLAIMING_BEFORE_END:
            return None
        held = len(self.running) + len(self.queue)
        if self.opts.max_parallel_jobs is not None:
            limit = self.slots + self._extra() - held
            return {"limit": limit} if limit > 0 else None
        res = self.opts.resources
        cpus, mem, gpus = self._free()
        depth = self._depth()  # node-fulls of work to hold beyond the node, for short jobs
        cpus += res.num_cpus * depth
        mem += res.memory_gb * GIB * depth
        gpus += res.num_gpus * depth
        if cpus <= 0 or mem < 0.1 * GIB:
            return None
        offer = self._offer(cpus, mem / GIB, gpus)
        claim: dict[str, Any] = {"limit": min(cpus, 10_000), "resources": offer}
        if depth:
            claim["capacity"] = self._offer(res.num_cpus, res.memory_gb, res.num_gpus)
        return claim

    def _offer(self, cpus: int, memory_gb: float, gpus: int) -> dict[str, Any]:
        offer: dict[str, Any] = {
            "num_cpus": cpus,
            "memory_gb": memory_gb,
            "num_gpus": gpus,
            "num_nodes": self.opts.resources.num_nodes,
            "scheduler_config_id": self.opts.scheduler_config_id,
        }
        if self.opts.end_time is not None:
            minutes = max(1, int((self.opts.end_time - time.time()) // 60))
            offer["time_limit"] = f"PT{minutes}M"
        return offer

    def _extra(self) -> int:
        """Claimed jobs to hold beyond the slots (count mode): about QUEUE_HORIZON seconds of
        work per slot, so short jobs never wait on a round trip and long ones are not hoarded
        from other runners. Until a job has finished, one per slot."""
        if self.job_seconds is None:
            return self.slots
        per_slot = QUEUE_HORIZON / max(self.job_seconds, 1e-4)
        return min(self.max_extra, int(self.slots * per_slot))

    def _depth(self) -> int:
        """Resource mode's _extra: whole node-fulls of claimed work to hold beyond the node,
        about QUEUE_HORIZON seconds' worth (at most max_extra CPUs). 0 until a job has
        finished, so jobs of unknown length are claimed only as they fit."""
        if self.job_seconds is None or self.opts.max_parallel_jobs is not None:
            return 0
        cpus = max(self.opts.resources.num_cpus, 1)
        fulls = int(QUEUE_HORIZON / max(self.job_seconds, 1e-4))
        return min(fulls, self.max_extra // cpus)

    def _starving(self) -> bool:
        """True when the claimed queue is low enough to ask for more now: below half its
        depth, so the next claim lands before the slots run dry (or empty, with no depth)."""
        if self.opts.max_parallel_jobs is None:
            depth = self._depth()
            if not self.queue or not depth:
                return not self.queue
            queued = sum(self._needs(job)[0] for job in self.queue)
            return 2 * queued < depth * self.opts.resources.num_cpus
        return len(self.queue) < max(self.slots, self._extra() // 2)

    def _should_send(self, claim: dict[str, Any] | None, last_contact: float) -> bool:
        """Send now, or let more reports gather so one round trip carries several jobs."""
        if self.closing:
            return True
        since = time.monotonic() - last_contact
        if since >= (self.opts.heartbeat if self.running else self.opts.poll_interval):
            return True
        if claim is not None and self._starving():
            return True
        oldest = self.first_news_at if self.completions else None
        return oldest is not None and time.monotonic() - oldest >= REPORT_DELAY

    def _report_loop(self) -> None:
        last_contact = 0.0
        while True:
            with self.cond:
                while True:
                    if self.closing:
                        self._take_queue()  # claimed by an exchange answered after the stop
                    # A completion may release dependents, so it always carries a claim.
                    fresh = bool(self.completions) or not self.claim_exhausted
                    claim = self._claim_body() if fresh else None
                    news = bool(self.starts or self.completions or self.release)
                    if self._should_send(claim, last_contact):
                        break
                    self.cond.wait(timeout=REPORT_DELAY if news else self.opts.heartbeat)
                if self.closing and not news:
                    return
                if claim is None and not self.closing:
                    self.claim_exhausted = False  # a heartbeat asks again
                    claim = self._claim_body()
                starts, completions, release = self.starts, self.completions, self.release
                self.starts, self.completions, self.release = [], [], []
                self.in_flight = True
            body = {
                "run_id": self.run_id,
                "compute_node_id": self.node_id,
                "started": starts,
                "completions": completions,
                "claim": claim,
            }
            if release:
                body["release"] = release
            try:
                answer = self.client.post(f"/workflows/{self.workflow_id}/exchange_jobs", body)
            except BaseException as exc:  # handed to the main thread, which raises it
                with self.cond:
                    self.reporter_error = exc
                    self.in_flight = False
                    self.release[:0] = release  # for the plain route (_release_leftovers)
                os.write(self.wake_w, b"e")
                return
            last_contact = time.monotonic()
            _log_errors(answer)
            with self.cond:
                self.summary.released += len(answer.get("released") or ())
                self.in_flight = False
                self.queue.extend(answer["jobs"])
                # Fewer jobs than asked for: nothing else is ready until something completes.
                self.claim_exhausted = claim is not None and len(answer["jobs"]) < claim["limit"]
                self.is_complete = bool(answer["is_complete"])
                self.is_canceled = bool(answer["is_canceled"])
            os.write(self.wake_w, b"r")


def _log_errors(answer: dict[str, Any]) -> None:
    for error in answer["errors"]:
        log.warning("server refused a report for job %s: %s", error["job_id"], error["message"])
