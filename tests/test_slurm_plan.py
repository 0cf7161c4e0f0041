"""Planning allocations from an HPC profile: partitions, walltimes, allocation counts, actions;
and `torc slurm generate` writing a spec that loads back."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_helpers import torc, torc_json
from helpers import ServerProcess
from pytorc.client.api import TorcClient
from pytorc.slurm.hpc import builtin
from pytorc.slurm.plan import PlanOptions, apply, plan
from pytorc.spec import load_spec

SPEC = """
name: planned
resource_requirements:
  - {name: small, num_cpus: 4, memory: 8g, runtime: PT10M}
  - {name: gpu, num_cpus: 16, memory: 64g, runtime: PT2H, num_gpus: 2}
  - {name: huge, num_cpus: 4, memory: 9000g, runtime: PT1H}
jobs:
  - {name: prep, command: "true", resource_requirements: small}
  - name: work_{i:03d}
    command: "echo {i}"
    resource_requirements: small
    depends_on: [prep]
    parameters: {i: "1:100"}
  - {name: train, command: "true", resource_requirements: gpu, depends_on: [prep]}
  - {name: impossible, command: "true", resource_requirements: huge}
"""


@pytest.fixture
def spec_path(tmp_path: Path) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC)
    return path


def _kestrel():  # type: ignore[no-untyped-def]
    return next(p for p in builtin() if p.name == "kestrel")


def test_each_group_gets_a_fitting_partition_walltime_and_allocations(spec_path: Path) -> None:
    planned = plan(load_spec(spec_path), _kestrel(), PlanOptions(account="proj"))
    by_name = {s["name"]: s for s in planned.schedulers}
    assert set(by_name) == {"small_scheduler", "small_deferred_scheduler", "gpu_deferred_scheduler"}
    small = by_name["small_deferred_scheduler"]
    assert (small["partition"], small["walltime"], small["extra"]) == (
        "short",
        "00:15:00",
        "--exclusive",
    )
    gpu = by_name["gpu_deferred_scheduler"]
    assert (gpu["partition"], gpu["gres"], gpu["walltime"]) == ("gpu-h100", "gpu:4", "03:00:00")
    assert "extra" not in gpu  # a shared partition: no --exclusive
    actions = {a["scheduler"]: a for a in planned.actions}
    assert actions["small_scheduler"]["trigger_type"] == "on_workflow_start"
    deferred = actions["small_deferred_scheduler"]
    assert deferred["trigger_type"] == "on_jobs_ready" and len(deferred["jobs"]) == 100
    # 26 jobs of 4 CPUs fit a 104-CPU node at once, one batch per 15-minute walltime
    assert deferred["num_allocations"] == 4
    assert "impossible" not in planned.assignments
    assert any("'huge'" in w and "1 job(s)" in w for w in planned.warnings)


def test_single_allocation_and_grouping_by_partition(spec_path: Path) -> None:
    spec = load_spec(spec_path)
    one = plan(spec, _kestrel(), PlanOptions(account="p", single_allocation=True))
    deferred = next(a for a in one.actions if a["scheduler"] == "small_deferred_scheduler")
    assert deferred["num_allocations"] == 1 and deferred["start_one_worker_per_node"]
    assert next(s for s in one.schedulers if s["name"] == deferred["scheduler"])["nodes"] == 4
    merged = plan(spec, _kestrel(), PlanOptions(account="p", group_by="partition"))
    assert {s["name"] for s in merged.schedulers} == {
        "short_scheduler",
        "short_deferred_scheduler",
        "gpu-h100_deferred_scheduler",
    }


def test_the_planned_spec_carries_schedulers_actions_and_assignments(spec_path: Path) -> None:
    spec = load_spec(spec_path)
    planned = apply(spec, plan(spec, _kestrel(), PlanOptions(account="p")))
    assert {j.name: j.scheduler for j in planned.jobs}["train"] == "gpu_deferred_scheduler"
    assert len(planned.slurm_schedulers) == 3 and len(planned.actions) == 3


def test_generate_writes_a_spec_that_loads_back(spec_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "planned.yaml"
    done = torc(
        None,
        "slurm",
        "generate",
        str(spec_path),
        "-a",
        "proj",
        "--profile",
        "kestrel",
        "-o",
        str(out),
        cwd=tmp_path,
    )
    assert "huge" in done.stderr  # the warning about what fits nowhere
    again = load_spec(out)
    assert len(again.jobs) == 103 and len(again.slurm_schedulers) == 3
    assert "parameters" not in out.read_text()  # written expanded, without leftovers
    refused = torc(
        None,
        "slurm",
        "generate",
        str(out),
        "-a",
        "proj",
        "--profile",
        "kestrel",
        cwd=tmp_path,
        expect=None,
    )
    assert refused.returncode != 0 and "--overwrite" in refused.stderr
    bad = torc(
        None,
        "slurm",
        "generate",
        str(spec_path),
        "-a",
        "p",
        "--profile",
        "kestrel",
        "--group-by",
        "colour",
        cwd=tmp_path,
        expect=None,
    )
    assert bad.returncode != 0 and "--group-by" in bad.stderr
    unknown = torc(
        None,
        "slurm",
        "generate",
        str(spec_path),
        "-a",
        "p",
        "--profile",
        "nope",
        cwd=tmp_path,
        expect=None,
    )
    assert unknown.returncode != 0 and "no HPC profile 'nope'" in unknown.stderr


def test_create_slurm_stores_the_planned_schedulers_and_actions(
    server: ServerProcess, spec_path: Path, tmp_path: Path
) -> None:
    created = torc_json(
        server.url,
        "workflows",
        "create-slurm",
        str(spec_path),
        "-a",
        "proj",
        "--profile",
        "kestrel",
        cwd=tmp_path,
    )
    with TorcClient(server.url) as client:
        schedulers = list(client.iter_pages("/slurm_schedulers", workflow_id=created["id"]))
        actions = client.get(f"/workflows/{created['id']}/actions")
    assert {s["partition"] for s in schedulers} == {"short", "gpu-h100"}
    assert sorted(a["trigger_type"] for a in actions) == [
        "on_jobs_ready",
        "on_jobs_ready",
        "on_workflow_start",
    ]
