"""Reading a workflow's Slurm and runner logs for the lines that explain trouble: out of memory,
time limits, node failures, cancellations, Slurm's own errors, and the runner's errors."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

# (kind, is an error, pattern), first match wins for a line.
PATTERNS: tuple[tuple[str, bool, re.Pattern[str]], ...] = (
    ("out_of_memory", True, re.compile(r"oom[-_ ]kill|out of memory|exceeded .*memory", re.I)),
    ("time_limit", True, re.compile(r"DUE TO TIME LIMIT|TIMEOUT", re.I)),
    ("node_failure", True, re.compile(r"DUE TO NODE FAILURE|NODE_FAIL", re.I)),
    ("preempted", True, re.compile(r"DUE TO PREEMPTION|PREEMPTED", re.I)),
    ("canceled", True, re.compile(r"CANCELLED AT", re.I)),
    ("slurm_error", True, re.compile(r"(?:srun|slurmstepd|sbatch): error", re.I)),
    ("runner_error", True, re.compile(r"\b(?:ERROR|CRITICAL)\b|Traceback")),
    ("warning", False, re.compile(r"\bWARNING\b|warning:", re.I)),
)


@dataclass(frozen=True)
class Finding:
    file: str
    line: int
    kind: str
    error: bool
    text: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def log_files(output_dir: Path, workflow_id: int) -> list[Path]:
    """The allocations' Slurm output and the runners' logs of this workflow."""
    found = [
        *output_dir.glob(f"slurm_output_wf{workflow_id}_sl*.[oe]"),
        *output_dir.glob(f"job_runner_*_wf{workflow_id}_r*.log"),
    ]
    return sorted(found)


def scan(output_dir: Path, workflow_id: int, errors_only: bool = False) -> list[Finding]:
    """Every line of the workflow's logs that matches a known pattern, file by file."""
    findings = []
    for path in log_files(output_dir, workflow_id):
        with path.open(errors="replace") as lines:
            for number, line in enumerate(lines, 1):
                kind = classify(line)
                if kind is None or (errors_only and not kind[1]):
                    continue
                findings.append(Finding(str(path), number, kind[0], kind[1], line.strip()[:300]))
    return findings


def classify(line: str) -> tuple[str, bool] | None:
    for kind, error, pattern in PATTERNS:
        if pattern.search(line):
            return kind, error
    return None
