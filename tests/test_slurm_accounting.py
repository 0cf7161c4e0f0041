"""Reading sacct's rows: step names back to jobs, sizes and CPU times to numbers."""

from __future__ import annotations

import pytest

from pytorc.slurm.accounting import cpu_seconds, size_bytes, stats_record, step_ids


def test_a_step_name_gives_back_workflow_job_run_and_attempt() -> None:
    assert step_ids("wf3_j41_r2_a1") == (3, 41, 2, 1)
    assert step_ids("batch") is None and step_ids("wf3_j41_r2_a1x") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("", None), ("0", 0), ("1234K", 1234 * 1024), ("5.50M", int(5.5 * 1024**2)), ("2G", 2 << 30)],
)
def test_sizes(text: str, expected: int | None) -> None:
    assert size_bytes(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("", None), ("00:00:01", 1.0), ("01:02.500", 62.5), ("1-00:00:10", 86410.0)],
)
def test_cpu_times(text: str, expected: float | None) -> None:
    assert cpu_seconds(text) == expected


def test_only_this_workflows_steps_become_stats() -> None:
    row = {
        "JobID": "14.3",
        "JobName": "wf7_j9_r1_a2",
        "MaxRSS": "100K",
        "AveCPU": "00:00:02",
        "NodeList": "node3",
        "MaxVMSize": "",
        "MaxDiskRead": "3M",
        "MaxDiskWrite": "0",
    }
    record = stats_record(row, 7)
    assert record is not None
    assert (record["job_id"], record["run_id"], record["attempt_id"]) == (9, 1, 2)
    assert (record["max_rss_bytes"], record["max_vm_size_bytes"]) == (102400, None)
    assert (record["ave_cpu_seconds"], record["node_list"]) == (2.0, "node3")
    assert stats_record(row, 8) is None
    assert stats_record({**row, "JobName": "batch"}, 7) is None


def test_usage_counts_node_hours_idle_runner_time_and_the_tail() -> None:
    from pytorc.slurm.usage import usage

    allocation = {
        "JobID": "20",
        "Start": "2026-12-04T10:00:00",
        "End": "2026-12-04T10:10:00",
        "NNodes": "2",
    }
    nodes = [
        {"id": 1, "duration_seconds": 500.0, "scheduler": {"slurm_job_id": 20}},
        {"id": 2, "duration_seconds": 300.0, "scheduler": {"slurm_job_id": 20}},
        {"id": 3, "duration_seconds": 999.0, "scheduler": {"slurm_job_id": 21}},  # elsewhere
    ]

    def result(node: int, start_s: float, minutes: float) -> dict[str, object]:
        from datetime import datetime, timedelta

        begin = datetime.fromisoformat("2026-12-04T10:00:00") + timedelta(seconds=start_s)
        end = (begin + timedelta(minutes=minutes)).astimezone().isoformat()
        return {"compute_node_id": node, "completion_time": end, "exec_time_minutes": minutes}

    # runner 1: two overlapping jobs covering 30..150 s; runner 2: one job 60..120 s
    results = [result(1, 30, 1.0), result(1, 90, 1.0), result(2, 60, 1.0), result(3, 0, 1.0)]
    [row] = usage([allocation], nodes, results)
    assert (row.slurm_job_id, row.nodes, row.runners, row.jobs) == ("20", 2, 2, 3)
    assert row.seconds == 600 and row.node_hours == pytest.approx(600 * 2 / 3600)
    assert row.job_seconds == pytest.approx(180)
    assert row.idle_runner_seconds == pytest.approx((500 - 120) + (300 - 60))
    assert row.first_job_after == pytest.approx(30) and row.tail == pytest.approx(450)
