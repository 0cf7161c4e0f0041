"""The reporter: the runner's exchange with the server, on a thread of its own.

One `exchange_jobs` round trip carries every start and result since the last one, hands back
claimed jobs the runner will not start, and claims more, so HTTP latency overlaps with running
jobs instead of adding to each. The main thread (runner/loop.py) spawns and reaps; the two
meet only in `Shared`.

Lock discipline: every field of `Shared` is read and written with `Shared.cond` held, by both
threads; what only one thread uses (the job processes, the poller, the last contact time) lives
in that thread's own object. Nothing slow happens under the lock but spawns (posix_spawn, a
vfork) and a first look-up of a job's resource requirements (`Requirements`); the HTTP round
trip and the main thread's waits run outside it.
The reporter sleeps on `cond` (the main thread notifies it when its decision may change); the
main thread sleeps in poll() and is woken through its pipe (`wake_main`).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from pytorc.client.api import TorcClient
from pytorc.errors import ApiError
from pytorc.runner.policy import (
    NO_REQUIREMENTS,
    REPORT_DELAY,
    ClaimPolicy,
    Holding,
    JobRecord,
    Needs,
    SendCheck,
    parse_requirements,
)
from pytorc.runner.successors import HINTS_WANTED, Successors

log = logging.getLogger(__name__)

STOP_RETRY_SECONDS = 5.0  # how long a stopping runner waits for an unreachable server
# How long a runner waits for an unreachable server (Torc's default for
# compute_node_wait_for_healthy_database_minutes), running its jobs and keeping their results.
WAIT_FOR_SERVER_MINUTES = 20.0
UNREACHABLE_LOG_SECONDS = 15.0


class RunIds(NamedTuple):
    """Who is reporting: every request and result names them."""

    workflow_id: int
    run_id: int
    compute_node_id: int


@dataclass
class Shared:
    """What both threads touch; hold `cond` for every field (see the module docstring)."""

    cond: threading.Condition = field(
        default_factory=lambda: threading.Condition(threading.Lock())  # never re-entered
    )
    # Written by the main thread.
    running: dict[int, JobRecord] = field(default_factory=dict)  # job id -> record, while it runs
    unsent_starts: list[dict[str, Any]] = field(default_factory=list)
    unsent_results: list[dict[str, Any]] = field(default_factory=list)
    oldest_result_at: float | None = None  # monotonic time the oldest unsent result arrived
    wake_owed: bool = False  # a first unsent result the reporter has not been woken for
    mean_job_seconds: float | None = None  # moving average of finished jobs' run times
    stopping: bool = False  # claim nothing more
    closing: bool = False  # the run is over: send what is left, then end the thread
    # Both threads add; the reporter sends them.
    to_release: list[int] = field(default_factory=list)  # claimed jobs to hand back
    # Written by the reporter.
    claimed: deque[JobRecord] = field(default_factory=deque)  # claimed, not started yet
    ready_exhausted: bool = False  # the last claim got fewer jobs than it asked for
    in_flight: bool = False  # an exchange is on its way
    complete: bool = False  # the workflow, as of the last answer
    canceled: bool = False
    stalled: bool = False  # the workflow waits for a person, not a runner (see exchange_jobs)
    # Ready jobs too big for this node ({id, name, beyond}), when a claim found nothing; with
    # nothing claimed or running anywhere (`others_active`), this runner can never run them.
    unfit: list[dict[str, Any]] = field(default_factory=list)
    others_active: bool = True
    error: BaseException | None = None  # what ended the reporter; the main thread raises it
    released: int = 0  # claimed jobs the server took back
    successors: Successors = field(default_factory=Successors)  # hinted jobs to start here

    def holding(self) -> Holding:
        return Holding(self.running.values(), self.claimed, self.mean_job_seconds)

    def add_result(self, entry: dict[str, Any]) -> None:
        """Queue one completion for the next exchange; the first of a batch starts its clock."""
        if not self.unsent_results:
            self.oldest_result_at = time.monotonic()
            self.wake_owed = True
        self.unsent_results.append(entry)

    def release_claimed(self) -> None:
        """Move the claimed, never-started jobs to `to_release`.

        A canceled workflow's are dropped instead: the cancel made them canceled already."""
        if not self.canceled:
            self.to_release.extend(job["id"] for job in self.claimed)
        self.claimed.clear()


class Requirements:
    """Each resource requirement's needs, read from the server once."""

    def __init__(self, client: TorcClient) -> None:
        self.client = client
        self.needs_by_id: dict[int, Needs] = {}

    def load(self, workflow_id: int) -> None:
        """Read all of the workflow's requirements in pages (resource mode needs them)."""
        for record in self.client.iter_pages("/resource_requirements", workflow_id=workflow_id):
            self.needs_by_id[record["id"]] = parse_requirements(record)

    def needs(self, job: JobRecord) -> Needs:
        """What `job` holds while it runs; an unknown requirement is read from the server."""
        rr_id = job.get("resource_requirements_id")
        if rr_id is None:
            return NO_REQUIREMENTS
        if rr_id not in self.needs_by_id:
            record = self.client.get(f"/resource_requirements/{rr_id}")
            self.needs_by_id[rr_id] = parse_requirements(record)
        return self.needs_by_id[rr_id]


class Batch(NamedTuple):
    """One exchange's request: what it reports and what it asks for."""

    starts: list[dict[str, Any]]
    results: list[dict[str, Any]]
    release: list[int]
    claim: dict[str, Any] | None
    holding: bool = True  # the runner holds claimed or running jobs
    hinted: tuple[int, ...] = ()  # the hints it holds: the server does not send them again


class Reporter:
    """The thread that sends batches to the server and files the answers in `Shared`."""

    def __init__(
        self,
        client: TorcClient,
        ids: RunIds,
        policy: ClaimPolicy,
        shared: Shared,
        requirements: Requirements,
        wake_main: Callable[[], None],
    ) -> None:
        self.client = client
        self.ids = ids
        self.policy = policy
        self.shared = shared
        self.needs = requirements.needs
        self.wake_main = wake_main
        self.last_contact = 0.0  # monotonic time of the last answer
        self.reclaimed = False  # the last answer lists every job this node holds claimed
        self.unreachable_since: float | None = None  # monotonic; None while the server answers
        self.warned_unfit: set[int] = set()  # ready jobs reported too big for this node
        self.last_unreachable_log = 0.0
        self.thread = threading.Thread(target=self._run, name="torc-reporter", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def join(self, timeout: float) -> None:
        self.thread.join(timeout=timeout)

    def wanted_claim(self) -> dict[str, Any] | None:
        """What to claim now (caller holds the lock); None when the runner is stopping."""
        shared = self.shared
        if shared.canceled or shared.closing or shared.stopping:
            return None
        return self.policy.claim(shared.holding(), self.needs, time.time())

    def is_starving(self) -> bool:
        """Whether the claimed queue is low enough to claim more now (caller holds the lock)."""
        return self.policy.is_starving(self.shared.holding(), self.needs)

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            answer = self._send(batch)
            if answer is None:
                return
            self._file(answer, batch.claim, batch)

    def _next_batch(self) -> Batch | None:
        """Wait until a batch should go, then take it (None: the runner closed, all is sent)."""
        shared = self.shared
        with shared.cond:
            while True:
                if shared.closing:
                    shared.release_claimed()  # claimed by an exchange answered after the stop
                # A result may make dependents ready, so it always carries a claim.
                fresh = bool(shared.unsent_results) or not shared.ready_exhausted
                claim = self.wanted_claim() if fresh else None
                news = bool(shared.unsent_starts or shared.unsent_results or shared.to_release)
                if self.policy.should_send(self._send_check(claim)):
                    break
                shared.cond.wait(timeout=REPORT_DELAY if news else self.policy.heartbeat)
            if shared.closing and not news:
                return None
            if claim is None and not shared.closing:
                shared.ready_exhausted = False  # a heartbeat asks again
                claim = self.wanted_claim()
            holding = bool(shared.claimed or shared.running)
            batch = Batch(
                shared.unsent_starts,
                shared.unsent_results,
                shared.to_release,
                claim,
                holding,
                tuple(shared.successors.waiting),
            )
            shared.unsent_starts, shared.unsent_results, shared.to_release = [], [], []
            shared.in_flight = True
        return batch

    def _send_check(self, claim: dict[str, Any] | None) -> SendCheck:
        shared = self.shared
        now = time.monotonic()
        oldest = shared.oldest_result_at if shared.unsent_results else None
        return SendCheck(
            closing=shared.closing,
            running=bool(shared.running),
            since_contact=now - self.last_contact,
            # On a chain the next jobs are hinted, so a claim finds nothing new: the results
            # may wait while plenty of hints are in hand, and go several to an exchange.
            starving=claim is not None
            and not (shared.ready_exhausted and shared.successors.plenty())
            and self.is_starving(),
            oldest_result_age=None if oldest is None else now - oldest,
        )

    def _send(self, batch: Batch) -> dict[str, Any] | None:
        """One exchange_jobs round trip, resent until the server answers or `retry_seconds`
        pass (jobs keep running meanwhile; their results wait in `Shared`); None if it failed
        for good (the main thread then raises)."""
        body = self._body(batch)
        path = f"/workflows/{self.ids.workflow_id}/exchange_jobs"
        lost_since: float | None = None

        def retrying(failure: str, seconds: float) -> None:
            # Resent (the request may have reached a server that died before answering):
            # its claims, if any, come back with the retry.
            body["reclaim"] = True
            self._unreachable(failure, seconds)

        while True:
            try:
                answer = self.client.request("POST", path, json=body, on_retry=retrying)
                break
            except ApiError as exc:
                # Sent, answer lost: the server may have applied it, and an exchange is safe to
                # resend (services/exchange.py); `reclaim` brings back what its answer claimed.
                now = time.monotonic()
                lost_since = lost_since or now
                if exc.in_transit and now - lost_since < self.client.retry_seconds:
                    body["reclaim"] = True
                    self._unreachable(str(exc), now - lost_since)
                    time.sleep(random.uniform(0.05, 1.0))
                    continue
                error: BaseException = exc
            except BaseException as exc:
                error = exc
            with self.shared.cond:  # handed to the main thread, which raises it
                self.shared.error = error
                self.shared.in_flight = False
                self.shared.to_release[:0] = batch.release  # for hand_back_leftovers
            self.wake_main()
            return None
        if self.unreachable_since is not None:
            away = time.monotonic() - self.unreachable_since
            log.warning("server reachable again after %.0f s; reports sent", away)
            self.unreachable_since = None
        self.last_contact = time.monotonic()
        self.reclaimed = bool(body.get("reclaim"))
        return answer  # type: ignore[no-any-return]

    def _body(self, batch: Batch) -> dict[str, Any]:
        hints_wanted = 0
        if batch.claim is not None or batch.starts:
            hints_wanted = max(0, HINTS_WANTED - len(batch.hinted))
        body: dict[str, Any] = {
            "run_id": self.ids.run_id,
            "compute_node_id": self.ids.compute_node_id,
            "started": batch.starts,
            "completions": batch.results,
            "claim": batch.claim,
            "successors": hints_wanted,
        }
        if batch.hinted and hints_wanted:
            body["hinted"] = list(batch.hinted)
        if batch.release:
            body["release"] = batch.release
        if batch.claim is not None and not batch.holding:
            # Holding nothing, any job the server lists under this node was claimed by an
            # answer that never arrived: ask for them (a cheap, indexed look-up).
            body["reclaim"] = True
        return body

    def _unreachable(self, failure: str, seconds: float) -> None:
        """Say, every UNREACHABLE_LOG_SECONDS, that the server is away and what waits for it."""
        now = time.monotonic()
        if self.unreachable_since is None:
            self.unreachable_since = now - seconds
        if now - self.last_unreachable_log < UNREACHABLE_LOG_SECONDS:
            return
        self.last_unreachable_log = now
        with self.shared.cond:
            running, waiting = len(self.shared.running), len(self.shared.unsent_results)
        log.warning(
            "server unreachable for %.0f s (%s); retrying for up to %.0f s; %d jobs still"
            " running, %d results waiting to be sent",
            now - self.unreachable_since,
            failure,
            self.client.retry_seconds,
            running,
            waiting,
        )

    def _file(self, answer: dict[str, Any], claim: dict[str, Any] | None, batch: Batch) -> None:
        """Record an exchange's answer for the main thread, and wake it."""
        log_refusals(answer)
        shared = self.shared
        with shared.cond:
            shared.released += len(answer.get("released") or ())
            shared.in_flight = False
            if self.reclaimed:  # the server listed every job still claimed: keep the new ones
                held = {job["id"] for job in (*shared.claimed, *shared.running.values())}
                for report in (batch.starts, batch.results, shared.unsent_starts):
                    held.update(entry["job_id"] for entry in report)
                answer["jobs"] = [job for job in answer["jobs"] if job["id"] not in held]
            shared.claimed.extend(answer["jobs"])
            held = {job["id"] for job in (*shared.claimed, *shared.running.values())}
            shared.successors.add(answer.get("successors") or (), held)
            # Fewer jobs than asked for: nothing else is ready until something completes.
            shared.ready_exhausted = claim is not None and len(answer["jobs"]) < claim["limit"]
            shared.complete = bool(answer["is_complete"])
            shared.canceled = bool(answer["is_canceled"])
            shared.stalled = bool(answer.get("is_stalled"))
            shared.unfit = answer.get("unfit") or []
            self._warn_unfit(shared.unfit)
            shared.others_active = bool(answer.get("others_active", True))
        self.wake_main()

    def _warn_unfit(self, jobs: list[dict[str, Any]]) -> None:
        """Say once, as soon as the server reports it, that a ready job is too big for us."""
        for job in jobs:
            if job["id"] not in self.warned_unfit:
                self.warned_unfit.add(job["id"])
                log.warning(
                    "job %s (%s) can never run on this runner: it needs %s",
                    job["id"], job["name"], job["beyond"],
                )  # fmt: skip

    def hand_back_leftovers(self) -> None:
        """Hand back, through release_jobs, the claimed jobs the reporter's last exchange did
        not carry (it failed, or did not end in time). Call after the thread has ended."""
        shared = self.shared
        with shared.cond:
            shared.release_claimed()
            ids, shared.to_release = shared.to_release, []
        if not ids:
            return
        self.client.retry_seconds = min(self.client.retry_seconds, STOP_RETRY_SECONDS)
        workflow_id, run_id, node_id = self.ids
        try:
            answer = self.client.release_jobs(workflow_id, run_id, node_id, ids)
        except ApiError as exc:
            log.warning(
                "could not hand back %d claimed jobs; they stay pending until"
                " `torc workflows reset-status`: %s",
                len(ids),
                exc,
            )
            return
        log_refusals(answer)
        with shared.cond:
            shared.released += len(answer.get("released") or ())


def log_refusals(answer: dict[str, Any]) -> None:
    """Log each report the server refused (it applies the others)."""
    for error in answer["errors"]:
        log.warning("server refused a report for job %s: %s", error["job_id"], error["message"])
