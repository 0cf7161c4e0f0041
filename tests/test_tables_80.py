"""Every table command renders on an 80-column terminal with no cell cut below 4 characters:
the columns that fit are shown whole, the rest named below the table."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cli_helpers import cli_env, torc
from helpers import ServerProcess

SPEC = """
name: tables
resource_requirements:
  - {name: small, num_cpus: 1, memory: 100m, runtime: PT1M}
files:
  - {name: data, path: data.txt}
user_data:
  - {name: settings, data: {alpha: 1}}
jobs:
  - {name: make_data, command: 'echo 1 > data.txt', output_files: [data],
     resource_requirements: small}
  - {name: use_data_with_a_rather_long_name, command: 'cat data.txt; exit 3',
     input_files: [data], input_user_data: [settings]}
  - {name: after, command: 'true', depends_on: [use_data_with_a_rather_long_name]}
"""

COMMANDS = [
    ("workflows", "list"),
    ("jobs", "list", "{wf}"),
    ("results", "list", "{wf}"),
    ("events", "list", "{wf}"),
    ("compute-nodes", "list", "{wf}"),
    ("files", "list", "{wf}"),
    ("user-data", "list", "{wf}"),
    ("resource-requirements", "list", "{wf}"),
    ("job-dependencies", "job-job", "{wf}"),
    ("workflows", "status", "{wf}"),
]


@pytest.fixture(scope="module")
def workflow(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    cwd = tmp_path_factory.mktemp("tables")
    (cwd / "spec.yaml").write_text(SPEC)
    run = torc(server.url, "-f", "json", "run", "spec.yaml", "-p", "0.1", cwd=cwd, expect=1)
    return str(json.loads(run.stdout)["workflow_id"]), cwd


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c[:2]) for c in COMMANDS])
def test_tables_fit_80_columns_without_cutting_cells(
    server: ServerProcess, workflow: tuple[str, Path], command: tuple[str, ...]
) -> None:
    wf, cwd = workflow
    args = [a.format(wf=wf) for a in command]
    out = torc(server.url, *args, cwd=cwd, env=cli_env(cwd, COLUMNS="80")).stdout
    lines = out.splitlines()
    assert lines and all(len(line) <= 80 for line in lines), out
    rule = next((line for line in lines if line.startswith("┡")), None)
    assert rule is not None, out  # a table was drawn
    widths = [len(part) - 2 for part in re.split("[┡╇┩]", rule) if part]
    assert min(widths) >= 4 or all(len(h) < 4 for h in _short_headers(lines, widths)), out


def _short_headers(lines: list[str], widths: list[int]) -> list[str]:
    """The titles of the columns narrower than 4 (only a short title, like `id`, may be)."""
    head = next(line for line in lines if line.startswith("┃"))
    titles = [t.strip() for t in head.strip("┃").split("┃")]
    return [t for t, w in zip(titles, widths, strict=True) if w < 4]


def test_units_are_human_and_columns_can_be_chosen(
    server: ServerProcess, workflow: tuple[str, Path]
) -> None:
    wf, cwd = workflow
    env = cli_env(cwd, COLUMNS="80")
    chosen = torc(server.url, "--columns", "job_name,exec_time_minutes,completion_time",
                  "results", "list", wf, cwd=cwd, env=env).stdout  # fmt: skip
    head = next(line for line in chosen.splitlines() if line.startswith("┃"))
    assert [t.strip() for t in head.strip("┃").split("┃")] == [
        "job_name", "exec_time", "completion_time",
    ]  # fmt: skip
    assert re.search(r"│ [0-9.]+ (ms|s) +│", chosen), chosen  # not 2.468e-05 (minutes)
    assert not re.search(r"\d{4}-\d\d-\d\dT", chosen), chosen  # local time, not ISO
    raw = json.loads(torc(server.url, "-f", "json", "results", "list", wf, cwd=cwd).stdout)
    assert isinstance(raw[0]["exec_time_minutes"], float)  # JSON keeps the raw values
