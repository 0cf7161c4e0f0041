"""Why a job failed, from its result and its resource requirements.

The causes a user acts on differently: `oom` (give it more memory), `timeout` (more runtime),
`node_lost` (its runner or allocation vanished: run it again), `stopped` (its runner ended it:
the allocation's end, a stop signal; run it again), `signal` (something killed it),
`exit` (the program itself failed: look at its stderr). Evidence, strongest first:
- the codes the runner and Slurm give a limit's kill: 137 (SIGKILL, a cgroup or
  limit_resources OOM kill) and 152 (Slurm's TIMEOUT, limit_resources' runtime kill), and
  Torc's -128 for a job whose allocation vanished;
- the measured peak memory against the requirement, and the run time against the runtime;
- a death by signal (negative return codes are signals, as os.waitstatus_to_exitcode gives).
A SIGKILL with no measurement that ran close to its runtime is a timeout, else an OOM kill.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass
from typing import Any

from pytorc.units import UnitError, duration_seconds, memory_bytes

OOM, TIMEOUT, NODE_LOST, STOPPED = "oom", "timeout", "node_lost", "stopped"
SIGNAL, EXIT = "signal", "exit"
NEAR_RUNTIME = 0.9  # of the runtime: a kill this late is taken for a timeout
NEAR_MEMORY = 0.9  # of the memory: a SIGKILL with a peak this high is taken for an OOM kill
SIGKILL_CODES = frozenset({137, -signal.SIGKILL})
TIMEOUT_CODES = frozenset({152, -signal.SIGXCPU})
NODE_LOST_CODE = -128


@dataclass(frozen=True)
class Diagnosis:
    cause: str
    reason: str  # the evidence, in words

    def as_dict(self) -> dict[str, str]:
        return {"cause": self.cause, "reason": self.reason}


def diagnose(result: dict[str, Any], requirement: dict[str, Any] | None) -> Diagnosis:
    """The most likely cause of a failed or terminated result."""
    rc = int(result.get("return_code") or 0)
    seconds = float(result.get("exec_time_minutes") or 0) * 60
    peak = result.get("peak_memory_bytes")
    memory = _memory(requirement)
    runtime = _runtime(requirement)
    if rc == NODE_LOST_CODE:
        return Diagnosis(NODE_LOST, "its runner or allocation vanished while it ran (-128)")
    if memory and peak and peak > memory:
        return Diagnosis(OOM, f"peak memory {_mib(peak)} over its {_mib(memory)}")
    if rc in TIMEOUT_CODES:
        return Diagnosis(TIMEOUT, f"killed at its runtime limit (return code {rc})")
    if runtime and seconds > runtime:
        return Diagnosis(TIMEOUT, f"ran {seconds:.0f} s, over its runtime of {runtime:.0f} s")
    if result.get("status") == "terminated":
        return Diagnosis(STOPPED, "its runner stopped it (its allocation ended, or a stop signal)")
    if rc in SIGKILL_CODES:
        if memory and peak and peak >= NEAR_MEMORY * memory:
            return Diagnosis(OOM, f"SIGKILL with peak memory {_mib(peak)} near its {_mib(memory)}")
        if runtime and seconds >= NEAR_RUNTIME * runtime:
            return Diagnosis(TIMEOUT, f"SIGKILL after {seconds:.0f} s of its {runtime:.0f} s")
        return Diagnosis(OOM, f"SIGKILL (return code {rc}), as an out-of-memory kill gives")
    if rc < 0 or rc > 128:
        number = -rc if rc < 0 else rc - 128
        return Diagnosis(SIGNAL, f"killed by {_signal_name(number)} (return code {rc})")
    return Diagnosis(EXIT, f"the program exited with {rc}")


def _memory(requirement: dict[str, Any] | None) -> int | None:
    try:
        return memory_bytes(str((requirement or {})["memory"]))
    except (KeyError, UnitError):
        return None


def _runtime(requirement: dict[str, Any] | None) -> float | None:
    try:
        return duration_seconds(str((requirement or {})["runtime"]))
    except (KeyError, UnitError):
        return None


def _mib(n: float) -> str:
    return f"{n / 2**20:.0f} MiB"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
