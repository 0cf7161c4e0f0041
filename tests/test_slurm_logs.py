"""torc slurm parse-logs finds the lines that explain an allocation's trouble."""

from __future__ import annotations

from pathlib import Path

from cli_helpers import torc, torc_json
from helpers import ServerProcess


def test_parse_logs_names_each_kind_of_trouble_by_file_and_line(
    server: ServerProcess, tmp_path: Path
) -> None:
    workflow = torc_json(server.url, "workflows", "new", "-n", "logs", cwd=tmp_path)
    wf = workflow["id"]
    out = tmp_path / "output"
    out.mkdir()
    (out / f"slurm_output_wf{wf}_sl77.e").write_text(
        "all good\n"
        "slurmstepd: error: *** JOB 77 ON node1 CANCELLED AT 2026-12-04T10:00:00"
        " DUE TO TIME LIMIT ***\n"
        "slurmstepd: error: Detected 1 oom-kill event(s) in StepId=77.3\n"
        "srun: error: node2: task 0: Killed\n"
    )
    (out / f"job_runner_node1_wf{wf}_r1.log").write_text(
        "INFO fine\nWARNING pytorc: server slow\nERROR pytorc: could not report\n"
    )
    (out / "slurm_output_wf999_sl1.e").write_text("srun: error: someone else's\n")
    found = torc_json(server.url, "slurm", "parse-logs", str(wf), "-o", str(out), cwd=tmp_path)
    kinds = [(Path(f["file"]).suffix, f["line"], f["kind"]) for f in found]
    assert kinds == [
        (".log", 2, "warning"),
        (".log", 3, "runner_error"),
        (".e", 2, "time_limit"),
        (".e", 3, "out_of_memory"),
        (".e", 4, "slurm_error"),
    ]
    errors = torc_json(
        server.url, "slurm", "parse-logs", str(wf), "-o", str(out), "--errors-only", cwd=tmp_path
    )
    assert [f["kind"] for f in errors] == [
        "runner_error",
        "time_limit",
        "out_of_memory",
        "slurm_error",
    ]
    empty = torc(
        server.url,
        "slurm",
        "parse-logs",
        str(wf),
        "-o",
        str(tmp_path / "none"),
        cwd=tmp_path,
        expect=None,
    )
    assert empty.returncode != 0 and "no Slurm or runner logs" in empty.stderr
