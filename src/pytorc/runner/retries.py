"""Failure handlers, as the runner applies them: a failed job whose exit code a rule of its
handler matches is retried while the rule allows, after the rule's recovery script has run.

The failed attempt's result is kept (results are unique per job, run and attempt), then the job
goes back to ready as attempt + 1 and its dependents stay blocked. Done on a thread of its own,
so a slow recovery script never holds up the runner's other jobs.
"""

from __future__ import annotations

import json
import logging
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytorc.client.api import TorcClient

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

log = logging.getLogger(__name__)

DEFAULT_MAX_RETRIES = 3
RECOVERY_TIMEOUT_SECONDS = 3600.0


def matching_rule(rules: list[dict[str, Any]], return_code: int) -> dict[str, Any] | None:
    """The first rule listing this exit code, else the first that matches every code."""
    for rule in rules:
        if return_code in (rule.get("exit_codes") or []):
            return rule
    return next((r for r in rules if r.get("match_all_exit_codes")), None)


class Retries:
    def __init__(
        self,
        client: TorcClient,
        run_id: int,
        output_dir: Path,
        env: dict[str, str],
        give_up: Callable[[dict[str, Any], Any, bool], None],
        started: Callable[[int], None],
    ) -> None:
        """`env`: what recovery scripts get (the jobs' shared environment); `give_up(job,
        outcome, no_rule)` records the failure as usual (no rule matched, no retries left, the
        recovery failed);
        `started(job_id)` returns once the job's start has reached the server."""
        self.client, self.run_id, self.output_dir = client, run_id, output_dir
        self.env, self.give_up, self.started = env, give_up, started
        self._rules: dict[int, list[dict[str, Any]]] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._pending: list[Future[None]] = []

    @staticmethod
    def wants(job: dict[str, Any]) -> bool:
        return job.get("failure_handler_id") is not None

    def submit(self, job: dict[str, Any], outcome: Any, result: dict[str, Any]) -> None:
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor  # on the first failure only

            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="torc-retries")
        self._pending.append(self._pool.submit(self._handle, job, outcome, result))

    def close(self) -> None:
        """Wait for the retries under way (their results must reach the server first)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def _handle(self, job: dict[str, Any], outcome: Any, result: dict[str, Any]) -> None:
        try:
            rule = matching_rule(
                self._handler_rules(int(job["failure_handler_id"])), outcome.return_code
            )
            if rule is None:
                self.give_up(job, outcome, True)
            elif not self._retry(job, rule, outcome.return_code, result):
                self.give_up(job, outcome, False)
        except Exception as exc:  # never lose the failure: report it as it is
            log.error("job %s: failure handler not applied: %s", job["name"], exc)
            self.give_up(job, outcome, False)

    def _retry(
        self, job: dict[str, Any], rule: dict[str, Any], return_code: int, result: dict[str, Any]
    ) -> bool:
        attempt = int(job.get("attempt_id") or 1)
        allowed = int(rule.get("max_retries", DEFAULT_MAX_RETRIES))
        if attempt > allowed:
            return False
        self.started(int(job["id"]))  # the server must know it ran before it can be retried
        self.client.post("/results", {**result, "attempt_id": attempt})
        script = rule.get("recovery_script")
        if script and not self._recover(job, script, return_code, attempt):
            return False
        self.client.post(f"/jobs/{job['id']}/retry/{self.run_id}", max_retries=allowed + 1)
        log.info(
            "job %s failed with %d: retry %d of %d", job["name"], return_code, attempt, allowed
        )
        return True

    def _handler_rules(self, handler_id: int) -> list[dict[str, Any]]:
        if handler_id not in self._rules:
            record = self.client.get(f"/failure_handlers/{handler_id}")
            self._rules[handler_id] = json.loads(record["rules"] or "[]")
        return self._rules[handler_id]

    def _recover(self, job: dict[str, Any], script: str, return_code: int, attempt: int) -> bool:
        env = {
            "TORC_JOB_ID": str(job["id"]),
            "TORC_JOB_NAME": job["name"],
            "TORC_ATTEMPT_ID": str(attempt),
            "TORC_RETURN_CODE": str(return_code),
        }
        done = subprocess.run(
            ["bash", "-c", script],
            cwd=self.output_dir,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=RECOVERY_TIMEOUT_SECONDS,
        )
        if done.returncode != 0:
            log.error(
                "job %s: recovery script failed (%d): %s",
                job["name"],
                done.returncode,
                done.stderr.strip()[-500:],
            )
        return done.returncode == 0
