"""Resource monitoring through `torc run`, then `torc plot-resources` and `torc reports ...`.

One monitored workflow runs once for the module (real server, real `torc` processes, real jobs);
each test reads a different report of it.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from cli_helpers import torc, torc_json
from helpers import ServerProcess

PY = sys.executable
MB = 1_000_000
SPEC = {
    "name": "monitored",
    "resource_monitor": {
        "enabled": True,
        "granularity": "time_series",
        "sample_interval_seconds": 0.2,
        "generate_plots": True,
    },
    "resource_requirements": [
        {"name": "tight", "num_cpus": 1, "memory": "10m", "runtime": "PT1M"},
        {"name": "roomy", "num_cpus": 1, "memory": "1g", "runtime": "PT1M"},
        # A busy single thread samples at slightly over 100 % now and then (the two clocks of a
        # sample are read a moment apart); two CPUs keep the burner clear of the CPU check.
        {"name": "busy", "num_cpus": 2, "memory": "1g", "runtime": "PT1M"},
        {"name": "brief", "num_cpus": 1, "memory": "1g", "runtime": "PT1S"},
    ],
    "jobs": [
        {
            "name": "memory",
            "command": f"{PY} -c 'import time; b = bytearray(100_000_000); time.sleep(1.5)'",
            "resource_requirements": "tight",
        },
        {
            "name": "burner",
            "command": f"{PY} -c 'import time; t = time.time()\nwhile time.time() - t < 1.5: pass'",
            "resource_requirements": "busy",
        },
        {"name": "killed", "command": "exit 137", "resource_requirements": "roomy"},
        {"name": "slow", "command": "sleep 1; exit 1", "resource_requirements": "brief"},
    ],
}


@dataclass
class Run:
    url: str
    cwd: Path
    workflow_id: int
    summary: dict[str, Any]
    job_ids: dict[str, int]

    def results(self) -> dict[str, dict[str, Any]]:
        items = httpx.get(f"{self.url}/results", params={"workflow_id": self.workflow_id}).json()[
            "items"
        ]
        names = {v: k for k, v in self.job_ids.items()}
        return {names[r["job_id"]]: r for r in items}

    def run_id(self) -> int:
        return int(httpx.get(f"{self.url}/workflows/{self.workflow_id}").json()["run_id"])


@pytest.fixture(scope="module")
def run(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Run:
    cwd = tmp_path_factory.mktemp("monitored")
    spec = cwd / "spec.json"
    spec.write_text(json.dumps(SPEC))
    proc = torc(
        server.url, "-f", "json", "run", str(spec), "-o", "out", "-p", "0.1", cwd=cwd, expect=1
    )  # two jobs fail on purpose
    summary = json.loads(proc.stdout)
    wf = summary["workflow_id"]
    jobs = httpx.get(f"{server.url}/jobs", params={"workflow_id": wf}).json()["items"]
    return Run(server.url, cwd, wf, summary, {j["name"]: j["id"] for j in jobs})


def test_results_carry_the_peak_memory_and_cpu_of_each_job(run: Run) -> None:
    results = run.results()
    assert results["memory"]["peak_memory_bytes"] >= 90 * MB
    assert results["memory"]["avg_memory_bytes"] > 0
    assert results["burner"]["peak_cpu_percent"] > 50
    assert results["burner"]["avg_cpu_percent"] > 50
    assert results["burner"]["peak_memory_bytes"] < 90 * MB


def test_the_time_series_file_holds_samples_of_each_long_job(run: Run) -> None:
    db = Path(run.summary["resource_metrics_db"])
    assert db.parent == run.cwd / "out" / "resource_utilization"
    assert (
        db.name.startswith("resource_metrics_")
        and f"_wf{run.workflow_id}_r{run.run_id()}_" in db.name
    )
    with closing(sqlite3.connect(db)) as conn:
        counts = dict(
            conn.execute("SELECT job_id, count(*) FROM job_resource_samples GROUP BY job_id")
        )
        names = dict(conn.execute("SELECT job_id, job_name FROM job_metadata"))
        peak = conn.execute(
            "SELECT max(memory_bytes) FROM job_resource_samples WHERE job_id = ?",
            (run.job_ids["memory"],),
        ).fetchone()[0]
    assert counts[run.job_ids["memory"]] >= 3 and counts[run.job_ids["burner"]] >= 3
    assert names[run.job_ids["memory"]] == "memory"
    assert peak >= 90 * MB


def test_generate_plots_draws_the_run_at_the_end(run: Run) -> None:
    plots = [Path(p) for p in run.summary["resource_plots"]]
    assert plots and all(p.is_file() for p in plots)
    assert (plots[0].parent / "plotly.min.js").is_file()


def test_plot_resources_writes_a_page_per_job_and_the_overviews(run: Run) -> None:
    db = run.summary["resource_metrics_db"]
    torc(None, "plot-resources", db, "-o", "plots", cwd=run.cwd)
    written = {p.name for p in (run.cwd / "plots").iterdir()}
    expected = {
        f"resource_plot_job_{run.job_ids['memory']}.html",
        f"resource_plot_job_{run.job_ids['burner']}.html",
        "resource_plot_cpu_all_jobs.html",
        "resource_plot_memory_all_jobs.html",
        "resource_plot_summary.html",
        "plotly.min.js",  # loaded by every page: they work offline
    }
    assert expected <= written
    page = (run.cwd / "plots" / "resource_plot_summary.html").read_text()
    assert 'src="plotly.min.js"' in page and len(page) < 100_000


def test_plot_resources_takes_a_directory_job_ids_a_prefix_and_json(run: Run) -> None:
    job = run.job_ids["memory"]
    out = torc_json(
        "http://unused.invalid",
        "plot-resources",
        "out/resource_utilization",
        "-o",
        "figs",
        "-j",
        str(job),
        "-p",
        "mem",
        "-f",
        "json",
        cwd=run.cwd,
    )
    assert sorted(Path(p).name for p in out["files"]) == sorted(
        [
            f"mem_job_{job}.json",
            "mem_cpu_all_jobs.json",
            "mem_memory_all_jobs.json",
            "mem_summary.json",
        ]
    )
    figure = json.loads((run.cwd / "figs" / f"mem_job_{job}.json").read_text())
    assert figure["data"][0]["name"] == f"memory ({job})"


def test_plot_resources_on_a_file_that_is_not_a_metrics_db_is_one_error_line(run: Run) -> None:
    (run.cwd / "junk.db").write_text("not sqlite")
    proc = torc(None, "plot-resources", "junk.db", cwd=run.cwd, expect=1)
    assert proc.stderr.startswith("error: junk.db is not a resource metrics database")
    assert len(proc.stderr.splitlines()) == 1


def test_check_resource_utilization_flags_the_job_over_its_memory(run: Run) -> None:
    report = torc_json(
        run.url, "reports", "check-resource-utilization", str(run.workflow_id), cwd=run.cwd
    )
    assert report["workflow_id"] == run.workflow_id
    assert report["total_results"] == 2  # completed jobs only
    flagged = {(v["job_name"], v["resource_type"]) for v in report["violations"]}
    assert flagged == {("memory", "Memory")}
    memory = report["violations"][0]
    assert memory["specified"] == "10.0 MB" and memory["over_utilization"].startswith("+")
    assert report["over_utilization_count"] == 1
    table = torc(
        run.url, "reports", "check-resource-utilization", str(run.workflow_id), cwd=run.cwd
    ).stdout
    assert "1 resource over-utilization violations" in table and "memory" in table


def test_check_resource_utilization_all_lists_jobs_within_limits(run: Run) -> None:
    report = torc_json(
        run.url, "reports", "check-resource-utilization", str(run.workflow_id), "--all", cwd=run.cwd
    )
    burner = {v["resource_type"]: v for v in report["violations"] if v["job_name"] == "burner"}
    assert set(burner) >= {"Memory", "Runtime"}
    assert burner["Memory"]["over_utilization"].startswith("-")
    assert report["over_utilization_count"] == 1


def test_check_resource_utilization_diagnoses_failed_jobs(run: Run) -> None:
    report = torc_json(
        run.url,
        "reports",
        "check-resource-utilization",
        str(run.workflow_id),
        "--include-failed",
        cwd=run.cwd,
    )
    assert report["total_results"] == 4
    failed = {f["job_name"]: f for f in report["failed_jobs"]}
    assert report["failed_jobs_count"] == 2
    assert failed["killed"]["likely_oom"] is True
    assert failed["killed"]["oom_reason"] == "sigkill_137"
    assert failed["killed"]["likely_timeout"] is False
    assert failed["slow"]["likely_timeout"] is True  # ran past 90 % of PT1S
    assert failed["slow"]["configured_runtime"] == "PT1S"


def test_results_report_lists_each_job_with_stdio_files_that_exist(run: Run) -> None:
    report = torc_json(
        run.url, "reports", "results", str(run.workflow_id), "-o", "out", cwd=run.cwd
    )
    assert report["workflow_name"] == "monitored" and report["total_results"] == 4
    by_name = {r["job_name"]: r for r in report["results"]}
    assert set(by_name) == set(run.job_ids)
    for name, record in by_name.items():
        assert (run.cwd / record["job_stdout"]).is_file(), name
        assert (run.cwd / record["job_stderr"]).is_file(), name
        assert record["compute_node_type"] == "local"
    memory = by_name["memory"]
    stem = f"job_wf{run.workflow_id}_j{run.job_ids['memory']}_r{run.run_id()}_a1"
    assert memory["job_stdout"] == f"out/job_stdio/{stem}.o"
    assert memory["peak_memory_bytes"] >= 90 * MB and memory["return_code"] == 0


def test_results_report_filters_by_job_and_needs_the_output_dir(run: Run) -> None:
    job = run.job_ids["slow"]
    report = torc_json(
        run.url,
        "reports",
        "results",
        str(run.workflow_id),
        "-o",
        "out",
        "-j",
        str(job),
        cwd=run.cwd,
    )
    assert [r["job_id"] for r in report["results"]] == [job]
    proc = torc(
        run.url, "reports", "results", str(run.workflow_id), "-o", "nowhere", cwd=run.cwd, expect=1
    )
    assert proc.stderr == "error: output directory nowhere does not exist\n"


def test_summary_counts_jobs_by_status_and_time(run: Run) -> None:
    report = torc_json(run.url, "reports", "summary", str(run.workflow_id), cwd=run.cwd)
    assert report["total_jobs"] == 4 and report["is_complete"] is True
    assert report["jobs_by_status"]["completed"] == 2
    assert report["jobs_by_status"]["failed"] == 2
    assert report["num_results"] == 4
    assert report["total_exec_time_minutes"] * 60 > 3.0  # two 1.5 s jobs and a 1 s one
    assert report["avg_exec_time_minutes"] == pytest.approx(report["total_exec_time_minutes"] / 4)
    assert report["walltime_seconds"] > 1.0
    text = torc(run.url, "reports", "summary", str(run.workflow_id), cwd=run.cwd).stdout
    assert "completed: 2" in text and "failed: 2" in text


def test_a_workflow_with_monitoring_off_writes_no_time_series(
    server: ServerProcess, tmp_path: Path
) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(
        json.dumps(
            {
                "name": "unmonitored",
                "resource_monitor": {"enabled": False},
                "jobs": [{"name": "nap", "command": "sleep 0.5"}],
            }
        )
    )
    summary = torc_json(server.url, "run", str(spec), "-o", "out", "-p", "0.1", cwd=tmp_path)
    assert summary["resource_metrics_db"] is None
    assert not (tmp_path / "out" / "resource_utilization").exists()
    result = httpx.get(
        f"{server.url}/results", params={"workflow_id": summary["workflow_id"]}
    ).json()["items"][0]
    assert result["avg_memory_bytes"] is None and result["peak_cpu_percent"] is None
