"""ResourceMonitor on real process trees: sums over children, CPU of reaped children, the file."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from helpers import wait_until
from pytorc.runner.monitor import (
    MonitorSettings,
    ResourceMonitor,
    _proc_table,
    _psutil_table,
    children_of,
    read_tree,
)

PY = sys.executable
MB = 1_000_000
HOLD = f"{PY} -c 'import time; b = bytearray({{size}}); time.sleep({{secs}})'"
BURN = f"{PY} -c 'import time; t = time.time(); exec(\"while time.time() - t < {{secs}}: pass\")'"


def hold(size: int, secs: float) -> str:
    return HOLD.format(size=size, secs=secs)


def burn(secs: float) -> str:
    return BURN.format(secs=secs)


def start(command: str) -> subprocess.Popen[bytes]:
    """A job the way the runner starts one: bash -c, leader of its own session."""
    return subprocess.Popen(["bash", "-c", command], start_new_session=True)


@pytest.fixture
def jobs() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def samples(db: Path) -> list[tuple[int, float, float, int, int]]:
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute(
            "SELECT job_id, timestamp, cpu_percent, memory_bytes, num_processes"
            " FROM job_resource_samples ORDER BY timestamp"
        ).fetchall()


def test_memory_and_cpu_are_summed_over_the_job_and_all_its_children(
    tmp_path: Path, jobs: list[subprocess.Popen[bytes]]
) -> None:
    db = tmp_path / "metrics.db"
    monitor = ResourceMonitor(0.2, db)
    try:
        job = start(f"{hold(60 * MB, 2)} & {hold(40 * MB, 2)} & {burn(2)} & wait")
        jobs.append(job)
        monitor.add(7, job.pid)
        monitor.set_name(7, "tree")
        kernel = reap(job)
        measured = monitor.remove(7)
    finally:
        monitor.close()
    # bash + three Python children: 100 MB of buffers live at once in two of them.
    assert measured["peak_memory_bytes"] >= 100 * MB
    assert measured["avg_memory_bytes"] <= measured["peak_memory_bytes"]
    assert measured["peak_cpu_percent"] > 0.8 * kernel > 0  # the burner's share of a core
    rows = samples(db)
    assert rows and {r[0] for r in rows} == {7}
    assert max(r[4] for r in rows) == 4  # bash and its three children
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("SELECT job_id, job_name FROM job_metadata").fetchall() == [(7, "tree")]


def reap(job: subprocess.Popen[bytes]) -> float:
    """Wait for a job; the CPU % over its life that the kernel counted for it and its children."""
    started = time.monotonic()
    _, status, usage = os.wait4(job.pid, 0)
    job.returncode = os.waitstatus_to_exitcode(status)
    return 100.0 * (usage.ru_utime + usage.ru_stime) / (time.monotonic() - started)


def test_cpu_of_children_that_end_between_samples_is_counted_through_their_parent(
    jobs: list[subprocess.Popen[bytes]],
) -> None:
    monitor = ResourceMonitor(0.5)
    try:
        # Ten 0.2 s burners one after another: most start and end between two samples.
        job = start(f"for i in 1 2 3 4 5 6 7 8 9 10; do {burn(0.2)}; done")
        jobs.append(job)
        monitor.add(1, job.pid)
        kernel = reap(job)
        measured = monitor.remove(1)
    finally:
        monitor.close()
    # Counting live processes only would see a few percent; a busy machine lowers both figures.
    assert measured["avg_cpu_percent"] > 0.6 * kernel


def test_a_job_shorter_than_one_interval_reports_nothing(
    jobs: list[subprocess.Popen[bytes]],
) -> None:
    monitor = ResourceMonitor(5.0)
    try:
        job = start("true")
        jobs.append(job)
        monitor.add(1, job.pid)
        job.wait(timeout=10)
        assert monitor.remove(1) == {}  # the runner keeps its own wait4 figures
    finally:
        monitor.close()
    assert monitor.rounds == 0


def test_removed_and_unknown_jobs_report_nothing_and_close_is_idempotent(
    jobs: list[subprocess.Popen[bytes]],
) -> None:
    monitor = ResourceMonitor(0.1)
    job = start("sleep 5")
    jobs.append(job)
    monitor.add(1, job.pid)
    wait_until(lambda: monitor.rounds >= 2, what="two sampling rounds")
    assert monitor.remove(1)["peak_memory_bytes"] > 0
    assert monitor.remove(1) == {}
    assert monitor.remove(99) == {}
    monitor.close()
    monitor.close()
    assert monitor.cpu_seconds > 0


def test_a_job_whose_leader_has_exited_is_not_sampled_as_empty(
    jobs: list[subprocess.Popen[bytes]],
) -> None:
    monitor = ResourceMonitor(0.1)
    try:
        job = start("true")
        jobs.append(job)
        job.wait(timeout=10)  # reaped: its pid is gone before the first round
        monitor.add(1, job.pid)
        rounds = monitor.rounds
        wait_until(lambda: monitor.rounds > rounds + 1, what="two more rounds")
        assert monitor.remove(1) == {}
    finally:
        monitor.close()


def test_the_time_series_file_is_written_in_batches_and_on_close(
    tmp_path: Path, jobs: list[subprocess.Popen[bytes]]
) -> None:
    db = tmp_path / "sub" / "metrics.db"  # the directory is created
    monitor = ResourceMonitor(0.1, db, flush_interval=0.3)
    job = start("sleep 5")
    jobs.append(job)
    monitor.add(3, job.pid)
    wait_until(lambda: db.exists() and samples(db), what="a first committed batch")
    monitor.remove(3)
    monitor.close()
    rows = samples(db)
    assert all(r[0] == 3 and r[4] == 1 for r in rows)
    assert [r[1] for r in rows] == sorted(r[1] for r in rows)


def test_the_proc_reader_agrees_with_psutil() -> None:
    me = os.getpid()
    fast, slow = _proc_table(), _psutil_table()
    assert fast[me][0] == slow[me][0] == os.getppid()
    assert abs(fast[me][2] - slow[me][2]) < 20 * MB  # RSS, read a moment apart
    assert abs(fast[me][1] - slow[me][1]) < 1.0  # CPU seconds
    tree = read_tree(os.getppid(), fast, children_of(fast))
    assert tree is not None and tree[2] >= 2  # the parent and this process at least


@pytest.mark.parametrize(
    ("config", "enabled", "time_series", "interval"),
    [
        (None, False, False, 10.0),
        ({"enabled": False}, False, False, 10.0),
        (
            {"enabled": True, "granularity": "time_series", "sample_interval_seconds": 2},
            True,
            True,
            2.0,
        ),
        (
            {"jobs": {"enabled": True, "granularity": "summary"}, "sample_interval_seconds": 0.2},
            True,
            False,
            0.2,
        ),
        (
            {"enabled": False, "jobs": {"enabled": True, "granularity": "time_series"}},
            True,
            True,
            10.0,
        ),
    ],
)
def test_settings_follow_the_workflow_resource_monitor_config(
    config: dict[str, object] | None, enabled: bool, time_series: bool, interval: float
) -> None:
    settings = MonitorSettings.from_config(config)
    assert (settings.enabled, settings.time_series, settings.sample_interval) == (
        enabled,
        time_series,
        interval,
    )


def test_a_fractional_sample_interval_is_accepted_and_whole_seconds_stay_whole() -> None:
    from pytorc.fields import ValidationError
    from pytorc.models import ResourceMonitorConfig
    from pytorc.spec.model import ResourceMonitorSpec

    assert (
        ResourceMonitorSpec(sample_interval_seconds=0.2).model_dump()["sample_interval_seconds"]
        == 0.2
    )
    dumped = ResourceMonitorSpec(sample_interval_seconds=5).model_dump()
    assert type(dumped["sample_interval_seconds"]) is int  # Torc's clients read an integer
    assert ResourceMonitorConfig.model_validate(dumped).sample_interval_seconds == 5
    assert ResourceMonitorConfig(sample_interval_seconds=0.2).sample_interval_seconds == 0.2
    for bad in (0, -1, 0.0):
        with pytest.raises(ValidationError):
            ResourceMonitorSpec(sample_interval_seconds=bad)
