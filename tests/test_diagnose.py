"""The failure diagnosis `torc recover` and `torc logs analyze` act on: each cause from the
evidence that names it, strongest evidence first."""

from __future__ import annotations

from typing import Any

import pytest

from pytorc.client.diagnose import diagnose

RR = {"memory": "100m", "runtime": "PT100S"}
MIB = 2**20


def result(rc: int, seconds: float = 10, peak: int | None = None, status: str = "failed") -> Any:
    return {
        "return_code": rc,
        "exec_time_minutes": seconds / 60,
        "peak_memory_bytes": peak,
        "status": status,
    }


@pytest.mark.parametrize(
    ("outcome", "cause"),
    [
        (result(1, peak=150 * MIB), "oom"),  # measured over its memory, whatever the code
        (result(137), "oom"),  # SIGKILL early in its runtime: the OOM killer's mark
        (result(-9, seconds=95), "timeout"),  # SIGKILL near the end of its runtime
        (result(-9, peak=95 * MIB, seconds=95), "oom"),  # ... unless memory was at its limit
        (result(152, status="terminated"), "timeout"),  # Slurm's TIMEOUT / limit_resources
        (result(1, seconds=150), "timeout"),  # ran past its runtime
        (result(-128), "node_lost"),  # its allocation vanished (sync-status)
        (result(-15, status="terminated"), "stopped"),  # its runner stopped it
        (result(-11), "signal"),
        (result(139), "signal"),  # 128 + SIGSEGV from a shell
        (result(3), "exit"),
    ],
)
def test_each_cause_from_its_evidence(outcome: Any, cause: str) -> None:
    assert diagnose(outcome, RR).cause == cause


def test_without_requirements_only_codes_speak() -> None:
    assert diagnose(result(137), None).cause == "oom"
    assert diagnose(result(2, seconds=10_000), None).cause == "exit"
    assert "SIGSEGV" in diagnose(result(-11), None).reason
