"""`torc plot-resources DB...`: interactive plots of the resource monitor's time series."""

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from pytorc.cli import output
from pytorc.cli.common import split_ids, state
from pytorc.errors import InvalidInput


class PlotFormat(StrEnum):
    html = "html"
    json = "json"


def plot_resources(
    ctx: typer.Context,
    db_paths: Annotated[
        list[Path],
        typer.Argument(
            help="Time-series files (resource_metrics_*.db), or directories holding them.",
            show_default=False,
        ),
    ],
    output_dir: Annotated[
        Path, typer.Option("-o", "--output-dir", help="Where to write the plots.")
    ] = Path("."),
    job_ids: Annotated[
        list[str] | None,
        typer.Option("-j", "--job-ids", help="Only these jobs: a,b (repeatable)."),
    ] = None,
    prefix: Annotated[
        str, typer.Option("-p", "--prefix", help="File name prefix.")
    ] = "resource_plot",
    fmt: Annotated[
        PlotFormat,
        typer.Option("-f", "--format", help="html (interactive) or json (Plotly figures)."),
    ] = PlotFormat.html,
) -> None:
    """Plot CPU and memory use from time-series files: one file per job, all jobs' CPU, all
    jobs' memory, and a summary. The HTML files load plotly.min.js from the same directory, so
    they open without internet access. Needs no server.

    Example: torc plot-resources output/resource_utilization -o plots -j 3,4
    """
    from pytorc.reports.plots import write_plots

    st = state(ctx)
    files = _db_files(db_paths)
    ids = set(split_ids(job_ids)) if job_ids else None
    written = write_plots(files, output_dir, prefix=prefix, job_ids=ids, fmt=fmt.value)
    lines = [f"wrote {len(written)} {fmt.value} files to {output_dir}:"]
    lines += [f"  {p.name}" for p in written]
    output.message(st.format, lines, {"files": [str(p) for p in written]})


def _db_files(paths: list[Path]) -> list[Path]:
    """The files named, with each directory replaced by the time-series files in it."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(path.glob("resource_metrics_*.db"))
            if not found:
                raise InvalidInput(f"{path} holds no resource_metrics_*.db files")
            files.extend(found)
        else:
            files.append(path)
    return files
