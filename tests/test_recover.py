"""Cause-aware recovery with real limits: a job that outgrows its memory and one that outruns its
runtime are killed by the runner's limits (limit_resources), diagnosed, sized up by `torc recover`
and then succeed; a plain program failure is left alone."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import httpx

from cli_helpers import torc, torc_json
from helpers import ServerProcess

SPEC = {
    "name": "recoverable",
    "execution_config": {"limit_resources": True},
    "resource_requirements": [
        {"name": "small", "num_cpus": 1, "memory": "100m", "runtime": "PT1M"},
        {"name": "short", "num_cpus": 1, "memory": "1g", "runtime": "PT5S"},
    ],
    "jobs": [
        {
            "name": "hungry",  # ~130 MiB resident: over its 100 MiB, under 150 MiB
            "command": f"{sys.executable} -c \"import time; b = b'x' * (120 * 2**20);"
            ' time.sleep(3)"',
            "resource_requirements": "small",
        },
        {"name": "slow", "command": "sleep 6", "resource_requirements": "short"},
        {"name": "after_hungry", "command": "true", "depends_on": ["hungry"]},
        {"name": "buggy", "command": "exit 7"},
    ],
}


def _jobs(url: str, wf: int) -> dict[str, dict[str, Any]]:
    items = httpx.get(f"{url}/jobs", params={"workflow_id": wf}).json()["items"]
    return {j["name"]: j for j in items}


def test_oom_and_timeout_are_diagnosed_and_succeed_after_recover(
    server: ServerProcess, tmp_path: Path
) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(SPEC))
    wf = int(torc_json(server.url, "workflows", "create", str(spec), cwd=tmp_path)["id"])
    run = ("-o", str(tmp_path / "out"), "-p", "0.2")
    torc(server.url, "run", str(wf), *run, cwd=tmp_path, expect=1)
    jobs = _jobs(server.url, wf)
    assert (jobs["hungry"]["status"], jobs["slow"]["status"]) == ("failed", "terminated")
    results = {
        r["job_id"]: r
        for r in httpx.get(f"{server.url}/results", params={"workflow_id": wf}).json()["items"]
    }
    assert results[jobs["hungry"]["id"]]["return_code"] == 137  # killed over its memory
    assert results[jobs["slow"]["id"]]["return_code"] == 152  # killed at its runtime

    plan = torc_json(server.url, "recover", str(wf), "--dry-run", cwd=tmp_path)
    causes = {f["job_name"]: (f["cause"], f["retry"], f["changes"]) for f in plan["fixes"]}
    assert causes == {
        "hungry": ("oom", True, {"memory": "150m"}),
        "slow": ("timeout", True, {"runtime": "PT7S"}),
        "buggy": ("exit", False, {}),
    }
    assert _jobs(server.url, wf)["hungry"]["status"] == "failed"  # a dry run changes nothing

    done = torc(server.url, "recover", str(wf), *run, cwd=tmp_path, expect=1)  # buggy stays
    assert "oom" in done.stdout and "timeout" in done.stdout, done.stdout
    jobs = _jobs(server.url, wf)
    assert {n: (j["status"], j["attempt_id"]) for n, j in jobs.items()} == {
        "hungry": ("completed", 2),
        "slow": ("completed", 2),
        "after_hungry": ("completed", 1),
        "buggy": ("failed", 1),
    }
    sized = httpx.get(
        f"{server.url}/resource_requirements/{jobs['hungry']['resource_requirements_id']}"
    ).json()
    assert sized["name"] == "small_recovered_oom" and sized["memory"] == "150m"
    assert any(
        r["name"] == "small" and r["memory"] == "100m"
        for r in httpx.get(
            f"{server.url}/resource_requirements", params={"workflow_id": wf}
        ).json()["items"]
    )  # the shared requirement is left as it was


def test_correct_resources_sets_requirements_from_measurements(
    server: ServerProcess, tmp_path: Path
) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(
        json.dumps(
            {
                "name": "measured",
                "resource_requirements": [
                    {"name": "tight", "num_cpus": 1, "runtime": "PT1S", "memory": "1g"},
                    {"name": "lavish", "num_cpus": 1, "runtime": "PT1H", "memory": "1g"},
                ],
                "jobs": [
                    {"name": "a", "command": "sleep 2", "resource_requirements": "tight"},
                    {"name": "b", "command": "true", "resource_requirements": "lavish"},
                ],
            }
        )
    )
    wf = int(torc_json(server.url, "workflows", "create", str(spec), cwd=tmp_path)["id"])
    torc(server.url, "run", str(wf), "-o", str(tmp_path / "out"), "-p", "0.2", cwd=tmp_path)

    def runtimes() -> dict[str, str]:
        items = httpx.get(f"{server.url}/resource_requirements", params={"workflow_id": wf}).json()[
            "items"
        ]
        return {r["name"]: r["runtime"] for r in items if r["name"] != "default"}

    args = ("workflows", "correct-resources", str(wf))
    dry = torc_json(server.url, *args, "--dry-run", "--downsize", cwd=tmp_path)
    assert {(c["name"], c["field"], c["new"]) for c in dry["corrections"]} == {
        ("tight", "runtime", "PT3S"),  # ran ~2 s: x1.2, rounded up
        ("lavish", "runtime", "PT1S"),  # `true`: the floor of one second
    }
    assert runtimes() == {"tight": "PT1S", "lavish": "PT1H"}  # a dry run changes nothing
    torc_json(server.url, *args, cwd=tmp_path)  # without --downsize only the outgrown one
    assert runtimes() == {"tight": "PT3S", "lavish": "PT1H"}


def test_logs_analyze_bundle_and_jobs_logs_find_the_output(
    server: ServerProcess, tmp_path: Path
) -> None:
    import tarfile

    spec = tmp_path / "spec.json"
    spec.write_text(
        json.dumps(
            {
                "name": "logged",
                "jobs": [
                    {"name": "talker", "command": "seq 1 50; echo done"},
                    {"name": "broken", "command": "echo step one >&2; echo it broke >&2; exit 9"},
                ],
            }
        )
    )
    wf = int(torc_json(server.url, "workflows", "create", str(spec), cwd=tmp_path)["id"])
    out = tmp_path / "elsewhere"  # not the default: found through the runner's record
    torc(server.url, "run", str(wf), "-o", str(out), "-p", "0.2", cwd=tmp_path, expect=1)
    elsewhere = tmp_path / "other_dir"
    elsewhere.mkdir()
    tail = torc(
        server.url,
        "jobs",
        "logs",
        "broken",
        "-w",
        str(wf),
        "--stderr",
        "--tail",
        "1",
        cwd=elsewhere,
    )
    assert tail.stdout.splitlines() == ["it broke"]
    talker = torc(
        server.url, "jobs", "logs", "talker", "-w", str(wf), "--stdout", "-n", "2", cwd=elsewhere
    )
    assert talker.stdout.splitlines() == ["50", "done"]
    analysis = torc_json(server.url, "logs", "analyze", str(wf), cwd=elsewhere)
    [failure] = analysis["failures"]
    assert failure["name"] == "broken" and failure["cause"] == "exit"
    assert failure["return_code"] == 9 and failure["stderr_tail"] == ["step one", "it broke"]
    bundle = tmp_path / "b.tar.gz"
    torc(server.url, "logs", "bundle", str(wf), "-o", str(bundle), cwd=elsewhere)
    with tarfile.open(bundle) as tar:
        names = tar.getnames()
        jobs = json.load(tar.extractfile(f"wf{wf}/jobs.json"))  # type: ignore[arg-type]
    assert {j["name"] for j in jobs} == {"talker", "broken"}
    stdio = [n for n in names if "/job_stdio/" in n]
    assert len(stdio) == 4 and all(f"job_wf{wf}_" in n for n in stdio)


def test_watch_recovers_settled_failures_and_exits_0_once_all_completed(
    server: ServerProcess, tmp_path: Path
) -> None:
    import subprocess

    from cli_helpers import TORC, cli_env
    from helpers import wait_until

    spec = tmp_path / "spec.json"
    spec.write_text(
        json.dumps(
            {
                "name": "watched",
                "execution_config": {"limit_resources": True},
                "resource_requirements": [
                    {"name": "short", "num_cpus": 1, "memory": "1g", "runtime": "PT4S"}
                ],
                "jobs": [{"name": "slow", "command": "sleep 5", "resource_requirements": "short"}],
            }
        )
    )
    wf = int(torc_json(server.url, "workflows", "create", str(spec), cwd=tmp_path)["id"])
    run = ("run", str(wf), "-o", str(tmp_path / "out"), "-p", "0.2")
    torc(
        server.url, *run, cwd=tmp_path, expect=1
    )  # killed at 4-4.5 s (checked every 0.5 s): terminated; recovered to PT6S
    watcher = subprocess.Popen(
        [TORC, "--url", server.url, "watch", str(wf), "--recover", "-p", "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=cli_env(tmp_path),
    )
    try:
        wait_until(
            lambda: _jobs(server.url, wf)["slow"]["status"] == "ready",
            timeout=30,
            what="watch to recover the timed-out job",
        )
        assert _jobs(server.url, wf)["slow"]["attempt_id"] == 2
        torc(server.url, *run, cwd=tmp_path)  # a runner takes it: PT3S now, it completes
        out, err = watcher.communicate(timeout=30)
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.communicate()
    assert watcher.returncode == 0, err
    assert "timeout" in out and "1 completed" in out, out


def test_recover_sizes_a_killed_sweep_member_from_its_completed_siblings(
    server: ServerProcess, tmp_path: Path
) -> None:
    """No limit enforced: the siblings finished using ~130 MiB of their 50m, so the one the
    kernel killed gets 1.2 x that, not a blind 1.5 x 50m that would fail again."""
    hold = f"{sys.executable} -c \"import time; b = b'x' * (120 * 2**20); time.sleep(1.5)\""
    killed = f'{sys.executable} -c "import os; os.kill(os.getpid(), 9)"'
    spec = tmp_path / "spec.json"
    spec.write_text(
        json.dumps(
            {
                "name": "sweep",
                "resource_monitor": {"sample_interval_seconds": 0.3},
                "resource_requirements": [
                    {"name": "small", "num_cpus": 1, "memory": "50m", "runtime": "PT1M"}
                ],
                "jobs": [
                    {"name": "s1", "command": hold, "resource_requirements": "small"},
                    {"name": "s2", "command": hold, "resource_requirements": "small"},
                    {"name": "s3", "command": killed, "resource_requirements": "small"},
                ],
            }
        )
    )
    wf = int(torc_json(server.url, "workflows", "create", str(spec), cwd=tmp_path)["id"])
    torc(
        server.url, "run", str(wf), "-o", str(tmp_path / "out"), "-p", "0.2", cwd=tmp_path, expect=1
    )
    plan = torc_json(server.url, "recover", str(wf), "--dry-run", cwd=tmp_path)
    [fix] = plan["fixes"]
    assert fix["job_name"] == "s3" and fix["cause"] == "oom", fix
    assert "siblings" in fix["basis"], fix
    assert int(fix["changes"]["memory"].rstrip("m")) >= 140, fix  # 1.2 x ~130 MiB, not 75m
