"""Torc's own example specs through `torc workflows create`: each is created, or refused only
for a duplicate name after expansion (which newer Torc refuses too) with a message that says
what to do.

A dozen copied examples (tests/data/torc_examples) always run; every example of a Torc checkout
runs when one is present at $TORC_EXAMPLES_DIR (default /work/torc/examples).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli_helpers import torc
from helpers import ServerProcess
from pytorc.client.api import TorcClient
from pytorc.spec import load_spec

COPIED = Path(__file__).parent / "data" / "torc_examples"
CHECKOUT = Path(os.environ.get("TORC_EXAMPLES_DIR", "/work/torc/examples"))
SPEC_SUFFIXES = {".yaml", ".yml", ".json", ".json5", ".kdl"}
# Copied examples newer Torc refuses: a parameterized fan-in job without a placeholder.
REFUSED = {"yaml/hyperparameter_sweep.yaml"}
# Warnings the copied examples must print on stderr (a phrase of each), beyond the "stored but
# not acted on" lines every Slurm or actions example gets.
IGNORED_KEYS = {"yaml/slurm_staged_pipeline.yaml": "resource_monitor.metrics: unknown key, ignored"}


def specs(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix in SPEC_SUFFIXES and p.is_file())


def label(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


@pytest.fixture(scope="module")
def client(server: ServerProcess) -> Iterator[TorcClient]:
    with TorcClient(server.url) as c:
        yield c


def create(server: ServerProcess, path: Path, tmp_path: Path) -> tuple[int | None, str]:
    """`torc workflows create PATH`: (the new workflow's id or None if refused, stderr)."""
    proc = torc(server.url, "workflows", "create", str(path), cwd=tmp_path, expect=None)
    if proc.returncode == 0:
        found = re.match(r"created workflow (\d+) ", proc.stdout)
        assert found, proc.stdout
        return int(found[1]), proc.stderr
    assert proc.returncode == 1, proc.stderr
    return None, proc.stderr


def assert_created_or_clearly_refused(
    client: TorcClient, path: Path, workflow_id: int | None, stderr: str
) -> None:
    if workflow_id is not None:
        jobs = len(load_spec(path).jobs)
        assert client.workflow_status(workflow_id)["total_jobs"] == jobs
        assert all(line.startswith("warning: ") for line in stderr.splitlines()), stderr
        return
    (line,) = stderr.splitlines()
    assert "duplicate name" in line, line
    assert "has no placeholder for {" in line, line
    assert "depends_on_regexes / input_file_regexes" in line, line


def test_the_copies_cover_every_format_and_the_refused_case() -> None:
    copied = [label(COPIED, p) for p in specs(COPIED)]
    assert {Path(p).suffix for p in copied} == {".yaml", ".json", ".json5", ".kdl"}
    assert any(p.startswith("subgraphs/") for p in copied)
    assert set(copied) >= REFUSED and len(copied) >= 12


@pytest.mark.parametrize("name", [label(COPIED, p) for p in specs(COPIED)])
def test_copied_torc_example(
    server: ServerProcess, client: TorcClient, tmp_path: Path, name: str
) -> None:
    path = COPIED / name
    workflow_id, stderr = create(server, path, tmp_path)
    assert (workflow_id is None) == (name in REFUSED), stderr
    assert_created_or_clearly_refused(client, path, workflow_id, stderr)
    if name in IGNORED_KEYS:
        ignored = [line for line in stderr.splitlines() if "unknown key, ignored" in line]
        assert ignored == [f"warning: {IGNORED_KEYS[name]} (Torc ignores it too)"]


def test_explicit_nulls_in_a_torc_example_mean_not_set(tmp_path: Path) -> None:
    spec = load_spec(COPIED / "yaml" / "sample_workflow.yaml")
    (download,) = [job for job in spec.jobs if job.name == "data_download"]
    assert download.depends_on == [] and download.invocation_script is None


checkout_specs = specs(CHECKOUT) if CHECKOUT.is_dir() else []


@pytest.mark.skipif(not checkout_specs, reason=f"no Torc checkout with example specs at {CHECKOUT}")
@pytest.mark.parametrize("name", [label(CHECKOUT, p) for p in checkout_specs])
def test_torc_checkout_example(
    server: ServerProcess, client: TorcClient, tmp_path: Path, name: str
) -> None:
    path = CHECKOUT / name
    workflow_id, stderr = create(server, path, tmp_path)
    assert_created_or_clearly_refused(client, path, workflow_id, stderr)
