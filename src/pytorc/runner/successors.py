"""The runner's side of successor hints (see server/services/successors.py): blocked jobs that
wait only for jobs this runner holds, started here the moment their last blocker completes, so a
chain does not wait a round trip to the server between two jobs.

A hint is used once, at that moment, or dropped: a blocker that fails, or no room to start the
job then, leaves it to the server, which readies it when the completion arrives.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from pytorc.runner.policy import JobRecord

HINTS_WANTED = 16  # successor hints asked for in each exchange
# While this many hints are in hand the line runs on them, and results wait (up to
# REPORT_DELAY) to go several to an exchange; below it they go, and the answer brings more.
HINTS_LOW = 8


class Successors:
    """Hinted jobs and the local jobs each still waits for; guarded by the runner's lock."""

    def __init__(self) -> None:
        self.waiting: dict[int, tuple[JobRecord, set[int]]] = {}
        self.ran_low = False  # a job's end just took the hints below HINTS_LOW

    def plenty(self) -> bool:
        """Whether enough hints are in hand that a report may wait for company."""
        return len(self.waiting) >= HINTS_LOW

    def add(self, hints: Iterable[dict[str, Any]], held: Collection[int]) -> None:
        """File an answer's hints. Only a hint whose blockers are all still held here (running,
        claimed, or hinted themselves) is kept: a blocker that ended already has been, or is
        about to be, reported, and the server readies the job for anyone."""
        for hint in hints:
            job, after = hint["job"], set(hint["after"])
            if job["id"] in self.waiting or job["id"] in held:
                continue
            if all(id in held or id in self.waiting for id in after):
                self.waiting[job["id"]] = (job, after)

    def ended(self, job_id: int, completed: bool) -> list[JobRecord]:
        """A local job ended: the hinted jobs it was the last blocker of (if it completed);
        a failure drops the hints that waited for it."""
        released: list[JobRecord] = []
        before = len(self.waiting)
        for id, (job, after) in list(self.waiting.items()):
            if job_id not in after:
                continue
            after.discard(job_id)
            if not completed:
                self.drop(id)
            elif not after:
                del self.waiting[id]
                released.append(job)
        if len(self.waiting) < HINTS_LOW <= before:  # released, or dropped with a failure
            self.ran_low = True
        return released

    def drop(self, job_id: int) -> None:
        """Forget a hint (released or not) and every hint that waited for it."""
        self.waiting.pop(job_id, None)
        for id, (_, after) in list(self.waiting.items()):
            if job_id in after and id in self.waiting:
                self.drop(id)

    def clear(self) -> None:
        self.waiting.clear()
