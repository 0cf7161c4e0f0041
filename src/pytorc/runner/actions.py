"""Workflow actions, as a runner executes them: claim a pending action, then run its commands
or submit its Slurm allocations.

Each non-persistent action runs once across all runners (the server's claim is atomic); a
persistent one (`on_worker_start`, say) runs once in every runner. Runners of workflows
without actions pay one request at start and nothing more: the watcher thread starts only
when there are actions to watch.
"""

from __future__ import annotations

import logging
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pytorc.client.api import TorcClient
from pytorc.errors import ApiError

log = logging.getLogger(__name__)

START = ("on_workflow_start", "on_worker_start")
WHILE_RUNNING = ("on_jobs_ready", "on_jobs_complete")
COMPLETE = ("on_workflow_complete",)
WORKER_END = ("on_worker_complete",)
COMMAND_TIMEOUT_SECONDS = 3600.0

ScheduleNodes = Callable[[dict[str, Any], Path], list[str]]
"""(action_config, output_dir) -> the Slurm job ids submitted."""


def schedule_with_slurm(
    config: dict[str, Any], output_dir: Path, client: TorcClient, workflow_id: int
) -> list[str]:
    """A schedule_nodes action: `torc slurm schedule-nodes` with the action's settings."""
    from pytorc.slurm import schedule

    if config.get("scheduler_type", "slurm") != "slurm":
        raise ValueError(f"scheduler_type {config.get('scheduler_type')!r}: only slurm runs")
    if client.workflow_status(workflow_id).get("is_complete"):
        log.info("workflow %s is complete: no allocation submitted", workflow_id)
        return []  # the jobs it was for ran elsewhere meanwhile
    request = schedule.ScheduleRequest(
        workflow_id=workflow_id,
        scheduler_config_id=config.get("scheduler_id"),
        num_allocations=int(config.get("num_allocations") or 1),
        output_dir=output_dir,
        poll_interval=float(config.get("poll_interval") or 30.0),
        max_parallel_jobs=config.get("max_parallel_jobs"),
        one_worker_per_node=bool(config.get("start_one_worker_per_node")),
    )
    chosen = schedule.plan(client, request)
    return [s.slurm_job_id for s in schedule.submit(client, request, chosen)]


class Actions:
    """One runner's view of its workflow's actions."""

    def __init__(
        self,
        client: TorcClient,
        workflow_id: int,
        output_dir: Path,
        compute_node_id: int | None = None,
    ) -> None:
        self.client, self.workflow_id, self.output_dir = client, workflow_id, output_dir
        self.compute_node_id = compute_node_id
        self.done: set[int] = set()  # persistent actions this runner has run
        self.present = bool(client.get(f"/workflows/{workflow_id}/actions"))

    def run_pending(self, triggers: tuple[str, ...]) -> int:
        """Claim and execute every pending action of these triggers; how many ran."""
        if not self.present:
            return 0
        try:
            pending = self.client.get(
                f"/workflows/{self.workflow_id}/actions/pending", trigger_type=list(triggers)
            )
        except ApiError as exc:
            log.warning("could not read pending actions: %s", exc)
            return 0
        ran = 0
        for action in pending:
            try:
                if not self.claim(action):
                    continue
            except ApiError as exc:
                log.warning("could not claim action %s: %s", action["id"], exc)
                continue
            try:
                self.execute(action)
            except Exception as exc:  # an action must not take the runner down with it
                log.error("action %s (%s) failed: %s", action["id"], action["trigger_type"], exc)
            ran += 1
        return ran

    def claim(self, action: dict[str, Any]) -> bool:
        """True when this runner is to execute the action (and has not already)."""
        if action["id"] in self.done:
            return False
        path = f"/workflows/{self.workflow_id}/actions/{action['id']}/claim"
        answer = self.client.post(path, {"compute_node_id": self.compute_node_id})
        if answer.get("success"):
            self.done.add(action["id"])
        return bool(answer.get("success"))

    def execute(self, action: dict[str, Any]) -> list[str]:
        """Run one claimed action; the Slurm job ids it submitted (none for commands)."""
        config = action.get("action_config") or {}
        what = f"action {action['id']} ({action['trigger_type']}, {action['action_type']})"
        if action["action_type"] == "run_commands":
            self._commands(config.get("commands") or [], what)
            return []
        ids = schedule_with_slurm(config, self.output_dir, self.client, self.workflow_id)
        log.info("%s: submitted Slurm job(s) %s", what, ", ".join(ids))
        return ids

    def _commands(self, commands: list[str], what: str) -> None:
        """Each command with bash in the output directory, stopping at the first failure."""
        self.output_dir.mkdir(parents=True, exist_ok=True)
        for command in commands:
            done = subprocess.run(
                ["bash", "-c", command],
                cwd=self.output_dir,
                capture_output=True,
                text=True,
                timeout=COMMAND_TIMEOUT_SECONDS,
            )
            log.info("%s: `%s` exited %d", what, command, done.returncode)
            if done.returncode != 0:
                log.error("%s: `%s` failed: %s", what, command, done.stderr.strip()[-500:])
                return


class ActionWatcher(threading.Thread):
    """Runs the actions whose triggers come true while jobs run (on_jobs_ready,
    on_jobs_complete), every `interval` seconds, until stopped."""

    def __init__(self, actions: Actions, interval: float) -> None:
        super().__init__(name="torc-actions", daemon=True)
        self.actions, self.interval = actions, interval
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            self.actions.run_pending(WHILE_RUNNING)

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=30)
