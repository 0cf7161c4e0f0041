"""Plotly figures of the resource monitor's time series: one per job, all jobs, and a summary.

Reads the SQLite files the monitor writes (`job_resource_samples`, `job_metadata`; Torc's files
have the same tables). The HTML files load plotly.js from a `plotly.min.js` written once into
the output directory: they work without internet access (compute and login nodes often have
none), and a run with hundreds of jobs does not carry hundreds of 3.5 MB copies of the library.
Move the HTML files together with that file.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pytorc.errors import InvalidInput

MIB = 1024**2
PlotFormat = Literal["html", "json"]

_SAMPLES = """
SELECT job_id, timestamp, cpu_percent, memory_bytes, num_processes
  FROM job_resource_samples ORDER BY job_id, timestamp
"""
_NAMES = "SELECT job_id, job_name FROM job_metadata"


@dataclass
class JobSeries:
    """One job's samples from one time-series file."""

    job_id: int
    name: str
    source: Path
    times: list[datetime] = field(default_factory=list)
    cpu_percent: list[float] = field(default_factory=list)
    memory_bytes: list[int] = field(default_factory=list)
    num_processes: list[int] = field(default_factory=list)
    label: str = ""

    @property
    def memory_mib(self) -> list[float]:
        return [m / MIB for m in self.memory_bytes]


def read_series(db_paths: Iterable[Path], job_ids: set[int] | None = None) -> list[JobSeries]:
    """Every job's samples in the files, in file then job order; `job_ids` keeps only those."""
    out: list[JobSeries] = []
    for path in db_paths:
        out.extend(_read_file(path, job_ids))
    ids = [s.job_id for s in out]
    for s in out:
        s.label = f"{s.name} ({s.job_id})" if s.name != str(s.job_id) else f"job {s.job_id}"
        if ids.count(s.job_id) > 1:  # the same job in several runs' files
            s.label += f" [{s.source.stem}]"
    return out


def _read_file(path: Path, job_ids: set[int] | None) -> list[JobSeries]:
    if not path.is_file():
        raise InvalidInput(f"{path} does not exist")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise InvalidInput(f"{path} cannot be opened: {exc}") from None
    try:
        rows = conn.execute(_SAMPLES).fetchall()
        try:
            names = dict(conn.execute(_NAMES).fetchall())
        except sqlite3.OperationalError:
            names = {}
    except sqlite3.DatabaseError as exc:
        raise InvalidInput(f"{path} is not a resource metrics database: {exc}") from None
    finally:
        conn.close()
    series: dict[int, JobSeries] = {}
    for job_id, ts, cpu, memory, nprocs in rows:
        if job_ids is not None and job_id not in job_ids:
            continue
        s = series.get(job_id)
        if s is None:
            s = series[job_id] = JobSeries(job_id, str(names.get(job_id, job_id)), path)
        s.times.append(datetime.fromtimestamp(ts))
        s.cpu_percent.append(float(cpu))
        s.memory_bytes.append(int(memory))
        s.num_processes.append(int(nprocs))
    return list(series.values())


def job_figure(runs: list[JobSeries]) -> Any:
    """CPU %, memory and process count of one job over time (one trace per file it is in)."""
    from plotly.subplots import make_subplots

    fig = make_subplots(
        rows=3,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.06,
        subplot_titles=("CPU %", "Memory (MiB)", "Processes"),
    )
    for s in runs:
        common = {"x": s.times, "mode": "lines+markers", "legendgroup": s.label}
        fig.add_scatter(y=s.cpu_percent, name=s.label, row=1, col=1, **common)
        fig.add_scatter(y=s.memory_mib, name=s.label, showlegend=False, row=2, col=1, **common)
        fig.add_scatter(y=s.num_processes, name=s.label, showlegend=False, row=3, col=1, **common)
    fig.update_layout(title=f"Job {runs[0].label}: resource use", height=800, hovermode="x")
    return fig


def all_jobs_figure(series: list[JobSeries], metric: Literal["cpu", "memory"]) -> Any:
    """One metric of every job on one time axis."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for s in series:
        y = s.cpu_percent if metric == "cpu" else s.memory_mib
        fig.add_scatter(x=s.times, y=y, name=s.label, mode="lines")
    title, axis = ("CPU use", "CPU %") if metric == "cpu" else ("Memory use (RSS)", "MiB")
    fig.update_layout(title=f"{title}, all jobs", xaxis_title="time", yaxis_title=axis)
    return fig


def summary_figure(series: list[JobSeries]) -> Any:
    """Peak and average CPU % and memory of every job, as bars."""
    from plotly.subplots import make_subplots

    labels = [s.label for s in series]
    fig = make_subplots(rows=2, cols=1, subplot_titles=("CPU %", "Memory (MiB)"))
    for name, values in (
        ("peak CPU %", [max(s.cpu_percent) for s in series]),
        ("average CPU %", [sum(s.cpu_percent) / len(s.cpu_percent) for s in series]),
    ):
        fig.add_bar(x=labels, y=values, name=name, row=1, col=1)
    for name, mib in (
        ("peak memory", [max(s.memory_mib) for s in series]),
        ("average memory", [sum(s.memory_mib) / len(s.memory_mib) for s in series]),
    ):
        fig.add_bar(x=labels, y=mib, name=name, row=2, col=1)
    fig.update_layout(title="Resource use by job", barmode="group", height=800)
    return fig


def write_plots(
    db_paths: Iterable[Path],
    output_dir: Path,
    prefix: str = "resource_plot",
    job_ids: set[int] | None = None,
    fmt: PlotFormat = "html",
) -> list[Path]:
    """Write `<prefix>_job_<id>`, `_cpu_all_jobs`, `_memory_all_jobs`, `_summary` files.

    Returns the paths written. Raises InvalidInput if the files hold no samples to plot.
    """
    paths = list(db_paths)
    series = read_series(paths, job_ids)
    if not series:
        which = f" for jobs {sorted(job_ids)}" if job_ids else ""
        raise InvalidInput(f"no samples{which} in {', '.join(str(p) for p in paths)}")
    by_job: dict[int, list[JobSeries]] = {}
    for s in series:
        by_job.setdefault(s.job_id, []).append(s)
    figures = {f"job_{job_id}": job_figure(runs) for job_id, runs in sorted(by_job.items())}
    figures["cpu_all_jobs"] = all_jobs_figure(series, "cpu")
    figures["memory_all_jobs"] = all_jobs_figure(series, "memory")
    figures["summary"] = summary_figure(series)
    output_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, fig in figures.items():
        path = output_dir / f"{prefix}_{name}.{fmt}"
        if fmt == "json":
            path.write_text(fig.to_json())
        else:
            fig.write_html(path, include_plotlyjs="directory", full_html=True)
        written.append(path)
    return written
