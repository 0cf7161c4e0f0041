"""`torc-slurm-job-runner`: the job runner inside a Slurm allocation (not built yet)."""

from __future__ import annotations

import sys

NOT_AVAILABLE = (
    "torc-slurm-job-runner: not available yet in this version of pytorc; "
    "run jobs on this node with `torc run WORKFLOW_ID` instead"
)


def main(argv: list[str] | None = None) -> None:
    """Say plainly that the Slurm runner is missing; exit 2, as for a usage error."""
    print(NOT_AVAILABLE, file=sys.stderr)
    raise SystemExit(2)
