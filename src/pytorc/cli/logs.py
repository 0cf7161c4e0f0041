"""`torc logs ...`: everything about a run in one file, and what went wrong in it."""

from __future__ import annotations

import io
import json
import tarfile
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from pytorc.cli import output
from pytorc.cli.common import CliState, WorkflowArg, group, resolve_workflow_id, state

app = group("Logs of a workflow: bundle them for a colleague, or find its failures.")

RECORDS = {  # file in the bundle -> the list endpoint that fills it
    "jobs.json": "/jobs",
    "results.json": "/results",
    "events.json": "/events",
    "compute_nodes.json": "/compute_nodes",
    "resource_requirements.json": "/resource_requirements",
    "files.json": "/files",
    "scheduled_compute_nodes.json": "/scheduled_compute_nodes",
}


@app.command("bundle")
def bundle(
    ctx: typer.Context,
    workflow_id: WorkflowArg = None,
    output_file: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="The tarball [default: torc_logs_wf<ID>.tar.gz]."),
    ] = None,
) -> None:
    """Pack a workflow's records (as JSON), its jobs' stdout and stderr and its runner logs
    into one .tar.gz, wherever its runners wrote them.

    Example: torc logs bundle 3 -o wf3.tar.gz
    """
    st = state(ctx)
    wf = resolve_workflow_id(st, workflow_id)
    target = output_file or Path(f"torc_logs_wf{wf}.tar.gz")
    files = 0
    with tarfile.open(target, "w:gz") as tar:
        _add_json(tar, f"wf{wf}/workflow.json", st.client.get_workflow(wf))
        _add_json(tar, f"wf{wf}/status.json", st.client.workflow_status(wf))
        for name, path in RECORDS.items():
            params: dict[str, Any] = {"workflow_id": wf}
            if path == "/results":
                params["all_runs"] = True
            _add_json(tar, f"wf{wf}/{name}", list(st.client.iter_pages(path, **params)))
        for directory in _output_dirs(st, wf):
            for found in _workflow_files(directory, wf):
                tar.add(found, arcname=f"wf{wf}/output{found}")
                files += 1
    lines = [f"wrote {target}: workflow {wf}'s records and {files} log files"]
    output.message(st.format, lines, {"path": str(target), "log_files": files})


def _add_json(tar: tarfile.TarFile, name: str, data: Any) -> None:
    payload = json.dumps(data, indent=2).encode()
    info = tarfile.TarInfo(name)
    info.size = len(payload)
    info.mtime = int(time.time())
    tar.addfile(info, io.BytesIO(payload))


def _output_dirs(st: CliState, wf: int) -> list[Path]:
    """The output directories the workflow's runners recorded."""
    dirs = []
    for node in st.client.iter_compute_nodes(wf):
        scheduler = node.get("scheduler") or {}
        directory = scheduler.get("output_dir") if isinstance(scheduler, dict) else None
        if directory and Path(directory) not in dirs and Path(directory).is_dir():
            dirs.append(Path(directory))
    return dirs


def _workflow_files(directory: Path, wf: int) -> list[Path]:
    """The workflow's job stdio and runner logs in one output directory."""
    found = sorted((directory / "job_stdio").glob(f"job_wf{wf}_j*"))
    found += sorted(directory.glob(f"job_runner_*_wf{wf}_*.log"))
    found += sorted(directory.glob(f"*_wf{wf}_*.o")) + sorted(directory.glob(f"*_wf{wf}_*.e"))
    return [p.resolve() for p in found if p.is_file()]


@app.command("analyze")
def analyze(
    ctx: typer.Context,
    workflow_id: WorkflowArg = None,
    lines: Annotated[int, typer.Option("--tail", min=0, help="stderr lines per job.")] = 10,
) -> None:
    """Each failed, terminated or pending_failed job with its diagnosed cause (out of memory,
    timeout, lost node, signal, the program's own exit) and the end of its stderr.

    Example: torc logs analyze 3 --tail 20
    """
    from pytorc.client.diagnose import diagnose
    from pytorc.client.job_logs import latest_result, stdio_of, tail

    st = state(ctx)
    wf = resolve_workflow_id(st, workflow_id)
    found = []
    requirements: dict[int, dict[str, Any]] = {}
    for status in ("failed", "terminated", "pending_failed"):
        for job in st.client.iter_jobs(wf, status=status):
            result = latest_result(st.client, job) or {"return_code": None}
            rr_id = job.get("resource_requirements_id")
            if rr_id is not None and rr_id not in requirements:
                requirements[rr_id] = st.client.get(f"/resource_requirements/{rr_id}")
            cause = diagnose(result, requirements.get(rr_id) if rr_id is not None else None)
            files = stdio_of(st.client, job)
            stderr = files.stderr
            tail_lines = tail(stderr, lines) if stderr is not None and stderr.is_file() else []
            found.append(
                {
                    "job_id": job["id"],
                    "name": job["name"],
                    "status": status,
                    "return_code": result.get("return_code"),
                    **cause.as_dict(),
                    "stderr": str(stderr) if stderr else None,
                    "stderr_tail": tail_lines,
                }
            )
    text = [f"workflow {wf}: {len(found)} jobs failed"]
    for item in found:
        text.append(
            f"job {item['job_id']} ({item['name']}): {item['status']}, return code"
            f" {item['return_code']}; {item['cause']}: {item['reason']}"
        )
        text.append(f"  stderr: {item['stderr'] or 'not found (output directory unknown)'}")
        text += [f"  | {line}" for line in item["stderr_tail"]]
    output.message(st.format, text, {"workflow_id": wf, "failures": found})
