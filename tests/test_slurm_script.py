"""The sbatch script of an allocation, checked line by line and by bash itself."""

from __future__ import annotations

import subprocess
from pathlib import Path

from pytorc.slurm.script import Allocation, sbatch_script

CONFIG = {
    "id": 4,
    "workflow_id": 3,
    "name": "short",
    "account": "proj",
    "walltime": "00:30:00",
    "nodes": 2,
    "partition": "debug",
    "qos": "normal",
    "mem": None,
    "gres": "gpu:1",
    "tmp": None,
    "ntasks_per_node": None,
    "extra": "--exclusive",
}


def _allocation(**changes: object) -> Allocation:
    fields: dict[str, object] = {
        "config": CONFIG,
        "job_name": "wf3_short_1",
        "api_url": "http://login1:8080/torc-service/v1",
        "workflow_id": 3,
        "output_dir": "/scratch/me/out",
        "poll_interval": 60.0,
        **changes,
    }
    return Allocation(**fields)  # type: ignore[arg-type]


def test_the_sbatch_lines_come_from_the_config() -> None:
    lines = sbatch_script(_allocation()).splitlines()
    assert lines[0] == "#!/bin/bash"
    sbatch = [line for line in lines if line.startswith("#SBATCH")]
    assert sbatch == [
        "#SBATCH --account=proj",
        "#SBATCH --job-name=wf3_short_1",
        "#SBATCH --time=00:30:00",
        "#SBATCH --output=/scratch/me/out/slurm_output_wf3_sl%j.o",
        "#SBATCH --error=/scratch/me/out/slurm_output_wf3_sl%j.e",
        "#SBATCH --nodes=2",
        "#SBATCH --partition=debug",
        "#SBATCH --qos=normal",
        "#SBATCH --gres=gpu:1",
        "#SBATCH --exclusive",
    ]
    assert "export TORC_API_URL=http://login1:8080/torc-service/v1" in lines
    assert lines[-1] == (
        'torc-slurm-job-runner "$TORC_API_URL" 3 /scratch/me/out --poll-interval 60'
    )


def test_the_runner_gets_its_startup_window_and_job_cap() -> None:
    last = sbatch_script(_allocation(startup_window=12.5, max_parallel_jobs=8)).splitlines()[-1]
    assert last.endswith("--poll-interval 60 --max-parallel-jobs 8 --startup-delay-seconds 12.5")
    assert "--startup-delay-seconds" not in sbatch_script(_allocation(startup_window=0.0))


def test_one_worker_per_node_runs_the_runner_as_an_srun_task_on_every_node() -> None:
    last = sbatch_script(_allocation(one_worker_per_node=True)).splitlines()[-1]
    assert last.startswith(
        "srun --ntasks-per-node=1 --nodes=$SLURM_JOB_NUM_NODES --wait=0 --kill-on-bad-exit=0"
        " --overlap "
        'torc-slurm-job-runner "$TORC_API_URL" 3'
    )
    assert last.endswith("--is-subtask")


def test_values_are_quoted_so_a_name_cannot_run_commands(tmp_path: Path) -> None:
    hostile = {**CONFIG, "account": "a; touch pwned", "partition": "$(touch pwned)"}
    script = sbatch_script(
        _allocation(config=hostile, output_dir=str(tmp_path / "o u t"), job_name="x`id`")
    )
    assert "#SBATCH --account='a; touch pwned'" in script
    assert "#SBATCH --partition='$(touch pwned)'" in script
    # bash itself reads it without running anything: the runner is replaced by a stub
    stub = tmp_path / "torc-slurm-job-runner"
    stub.write_text('#!/bin/bash\nprintf "%s\\n" "$@"\n')
    stub.chmod(0o755)
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin"}
    done = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.splitlines()[:3] == [
        "http://login1:8080/torc-service/v1",
        "3",
        str(tmp_path / "o u t"),
    ]
    assert not (tmp_path / "pwned").exists()


def test_the_workflows_slurm_defaults_add_options_the_config_does_not_set() -> None:
    allocation = _allocation(defaults={"qos": "high", "mail_type": "END", "cpus_per_task": 4})
    lines = sbatch_script(allocation).splitlines()
    assert "#SBATCH --mail-type=END" in lines and "#SBATCH --cpus-per-task=4" in lines
    assert [line for line in lines if line.startswith("#SBATCH --qos=")] == [
        f"#SBATCH --qos={CONFIG['qos']}"
    ]  # the scheduler config's own value wins
