"""Resource limits a local runner enforces on its jobs (execution_config.limit_resources).

Inside a Slurm allocation the job's step has its --mem and --time enforced by Slurm itself; a
runner that starts plain processes has no such guard, so with `limit_resources: true` it plays
that part, the way Slurm reports it:
- memory: a job whose processes together hold more resident memory than its requirement is
  killed (SIGKILL to its process group) and fails with `oom_exit_code` (default 137, 128 +
  SIGKILL, what Slurm's cgroup OOM kill gives);
- runtime: `sigterm_lead_seconds` before its runtime is up (default 0: at the limit) a job gets
  `termination_signal` (default SIGTERM), and SIGKILL `KILL_GRACE_SECONDS` after the limit. A
  job that exits 0 after the signal (it saved its state) has completed; otherwise it is
  terminated with `timeout_exit_code` (default 152, Slurm's TIMEOUT).
The runner checks every CHECK_SECONDS while such jobs run; memory is read from /proc through
psutil, which costs about 0.1 ms per process.
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pytorc.runner.policy import JobRecord, Needs
from pytorc.runner.process import JobProcess

CHECK_SECONDS = 0.5
KILL_GRACE_SECONDS = 5.0
OOM = "oom"
TIMEOUT = "timeout"


@dataclass(frozen=True)
class LimitSettings:
    oom_exit_code: int = 137
    timeout_exit_code: int = 152
    termination_signal: int = signal.SIGTERM
    sigterm_lead_seconds: float = 0.0

    @classmethod
    def from_workflow(cls, workflow: dict[str, Any]) -> LimitSettings | None:
        """The settings if the workflow's execution_config turns limits on, else None."""
        config = workflow.get("execution_config") or {}
        if not isinstance(config, dict) or not config.get("limit_resources"):
            return None
        name = str(config.get("termination_signal") or "SIGTERM").upper()
        try:
            sig = signal.Signals[name if name.startswith("SIG") else "SIG" + name]
        except KeyError:
            sig = signal.SIGTERM
        return cls(
            int(config.get("oom_exit_code") or 137),
            int(config.get("timeout_exit_code") or 152),
            sig,
            float(config.get("sigterm_lead_seconds") or 0),
        )


class Limits:
    """Watches the runner's jobs against their requirements; kills what exceeds them."""

    def __init__(self, settings: LimitSettings, needs_of: Callable[[JobRecord], Needs]) -> None:
        self.settings = settings
        self.needs_of = needs_of

    def check(self, procs: Iterable[JobProcess]) -> None:
        now = time.monotonic()
        for proc in procs:
            if proc.returncode is not None or proc.limit == OOM:
                continue
            needs = self.needs_of(proc.job)
            self._check_runtime(proc, needs, now)
            if proc.limit is None and needs.memory and _resident(proc.pid) > needs.memory:
                proc.limit = OOM
                proc.kill_group(signal.SIGKILL)

    def _check_runtime(self, proc: JobProcess, needs: Needs, now: float) -> None:
        if needs.runtime is None:
            return
        elapsed = now - proc.started
        if proc.limit is None and elapsed >= needs.runtime - self.settings.sigterm_lead_seconds:
            proc.limit = TIMEOUT
            proc.kill_group(self.settings.termination_signal)
        kill_at = needs.runtime + (
            0.0 if self.settings.sigterm_lead_seconds else KILL_GRACE_SECONDS
        )
        if proc.limit == TIMEOUT and elapsed >= kill_at:
            proc.kill_group(signal.SIGKILL)

    def outcome(self, proc: JobProcess) -> tuple[str, int] | None:
        """(status, return code) of a job a limit ended; None if none did."""
        if proc.limit == OOM:
            return "failed", self.settings.oom_exit_code
        if proc.limit == TIMEOUT and proc.returncode != 0:
            return "terminated", self.settings.timeout_exit_code
        return None


def _resident(pid: int) -> int:
    """Resident bytes of a job: its first process and every descendant."""
    import psutil  # ~13 ms to import: only for a workflow that limits resources

    try:
        root = psutil.Process(pid)
        family = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for process in family:
        with contextlib.suppress(psutil.Error):
            total += process.memory_info().rss
    return total
