"""Generated sbatch scripts on the real cluster: Slurm accepts their options, refuses a bad
partition, and runs them with the output paths and runner command they name."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pytorc.slurm.script import Allocation, sbatch_script
from slurm_cluster import require_slurm

pytestmark = pytest.mark.slurm


@pytest.fixture(scope="module", autouse=True)
def _cluster() -> None:
    require_slurm()


def _config(**changes: Any) -> dict[str, Any]:
    return {
        "account": "root",
        "walltime": "00:05:00",
        "nodes": 1,
        "partition": "debug",
        "qos": None,
        "mem": None,
        "gres": None,
        "tmp": None,
        "ntasks_per_node": None,
        "extra": None,
        **changes,
    }


def _script(tmp_path: Path, **changes: Any) -> Path:
    allocation = Allocation(
        config=_config(**changes.pop("config", {})),
        job_name="pytorc_test",
        api_url="http://127.0.0.1:9/torc-service/v1",
        workflow_id=7,
        output_dir=str(tmp_path),
        poll_interval=5.0,
        **changes,
    )
    path = tmp_path / "alloc.sh"
    path.write_text(sbatch_script(allocation))
    return path


def _sbatch(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """sbatch passes our environment into the job; put this venv's commands first on PATH."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    return subprocess.run(
        ["sbatch", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def test_slurm_accepts_the_generated_options(tmp_path: Path) -> None:
    script = _script(tmp_path, config={"nodes": 2, "extra": "--exclusive"}, startup_window=4.0)
    done = _sbatch("--test-only", str(script), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "to start at" in done.stderr


def test_slurm_refuses_a_partition_it_does_not_have(tmp_path: Path) -> None:
    done = _sbatch(
        "--test-only", str(_script(tmp_path, config={"partition": "nosuch"})), cwd=tmp_path
    )
    assert done.returncode != 0
    assert "partition" in done.stderr.lower()


def test_the_clusters_profile_comes_from_sinfo_and_can_be_kept_in_the_config(
    tmp_path: Path,
) -> None:
    from cli_helpers import torc, torc_json

    listed = {p["name"]: p for p in torc_json(None, "hpc", "list", cwd=tmp_path)}
    assert listed["lab"]["source"] == "sinfo" and listed["lab"]["detected"]
    assert not listed["kestrel"]["detected"]
    [debug] = torc_json(None, "hpc", "partitions", cwd=tmp_path)
    assert (debug["name"], debug["cpus_per_node"], debug["max_nodes"]) == ("debug", 2, 4)
    torc(None, "hpc", "generate", "-o", str(tmp_path / "torc.toml"), cwd=tmp_path)
    shown = torc_json(None, "hpc", "show", cwd=tmp_path)  # ./torc.toml is read from here
    assert (shown["name"], shown["source"], shown["detected"]) == ("lab", "config", True)
    too_big = torc(None, "hpc", "match", "--cpus", "3", cwd=tmp_path, expect=None)
    assert too_big.returncode != 0 and "no partition of lab fits 3 CPUs" in too_big.stderr
