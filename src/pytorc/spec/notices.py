"""Warnings about a loaded spec: one line for each thing it asks that will not happen as asked.

Three kinds, each naming its key: an unknown key in a section Torc reads leniently
(`resource_monitor.metrics`) is ignored, as Torc ignores it; a key the server stores but nothing
in pytorc acts on yet (`execution_config`, failure handlers, ...) is stored, not acted on; a key
the 0.35 models have no field for (`jobs_sort_method`, a file's `identifier`) is ignored. The
CLI prints them on stderr; a dry run's plan lists them. Drop a line here when its key starts to
work.
"""

from __future__ import annotations

from collections.abc import Sequence

from pytorc.fields import Model
from pytorc.spec.model import WorkflowSpec

_STORED = "stored with the workflow, but pytorc does not act on it yet"
# Runner settings Torc's Slurm runners read; pytorc's runner reads none of these yet.
# execution_config keys pytorc acts on: mode (srun steps or not, in Slurm allocations) and
# staggered_start (the startup window of schedule-nodes).
_ACTED_ON = frozenset(
    {
        "mode",
        "staggered_start",
        "dead_runner_action",
        "limit_resources",
        "oom_exit_code",
        "timeout_exit_code",
        "termination_signal",
        "sigterm_lead_seconds",
    }
)
_SHOWN = 3


def spec_warnings(spec: WorkflowSpec) -> list[str]:
    """Every warning about `spec` (as load_spec returns it), one line each."""
    lines = [f"{key}: unknown key, ignored (Torc ignores it too)" for key in _ignored(spec, "")]
    lines += _workflow_keys(spec)
    lines += _record_keys(spec)
    lines += _idle_nodes(spec)
    return lines


def _ignored(model: Model, prefix: str) -> list[str]:
    """The keys lenient sections dropped, as key paths (the lists of records have none)."""
    found = [f"{prefix}{key}" for key in model.ignored_keys]
    for name in model.model_fields:
        value = getattr(model, name) if name in model.model_fields_set else None
        if isinstance(value, Model):
            found += _ignored(value, f"{prefix}{name}.")
    return found


def _workflow_keys(spec: WorkflowSpec) -> list[str]:
    lines = []
    if spec.jobs_sort_method is not None:
        lines.append(
            "jobs_sort_method: ignored: the server keeps no sort method (the 0.35 models have"
            " none); ready jobs are claimed by priority, then in creation order"
        )
    if spec.execution_config is not None:
        config = spec.execution_config
        keys = ", ".join(
            k for k in config.model_fields if k in config.model_fields_set and k not in _ACTED_ON
        )
        if keys:
            lines.append(f"execution_config ({keys}): {_STORED}")
    if spec.enable_ro_crate:
        lines.append(
            "enable_ro_crate: stored with the workflow, but pytorc does not record RO-Crate"
            " entities by itself yet"
        )
    if spec.dynamic_jobs is not None:
        lines.append(
            "dynamic_jobs: stored with the workflow, but this server cannot spawn jobs yet"
        )
    monitor = spec.resource_monitor
    if monitor is not None and monitor.compute_node is not None and monitor.compute_node.enabled:
        lines.append(
            "resource_monitor.compute_node: stored with the workflow, but pytorc monitors jobs,"
            " not whole compute nodes, yet"
        )
    return lines


def _record_keys(spec: WorkflowSpec) -> list[str]:
    lines = []
    stdio = [job.name for job in spec.jobs if job.stdio is not None]
    if stdio:
        lines.append(
            f"stdio ({_names('job', stdio)}): stored in execution_config.job_stdio_overrides,"
            " but pytorc does not act on it yet"
        )
    identified = [f.name for f in spec.files if f.identifier is not None]
    if identified:
        lines.append(
            f"identifier ({_names('file', identified)}): ignored: the server's file records"
            " have no identifier yet"
        )
    serialized = [s.name for s in spec.slurm_schedulers if s.serialize_allocations]
    if serialized:
        lines.append(
            f"serialize_allocations ({_names('slurm scheduler', serialized)}): ignored: the"
            " server's scheduler records have no such field"
        )
    return lines


def _names(kind: str, names: Sequence[str]) -> str:
    """`job a`, `jobs a, b, c and 4 more`."""
    shown = ", ".join(names[:_SHOWN])
    more = f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else ""
    return f"{kind}{'s' if len(names) > 1 else ''} {shown}{more}"


def _idle_nodes(spec: WorkflowSpec) -> list[str]:
    """Torc's multi-node check: a multi-node allocation that starts one runner should have a
    job that spans all its nodes, else the extra nodes sit idle."""
    rr_nodes = {rr.name: rr.num_nodes for rr in spec.resource_requirements}
    out = []
    for scheduler in spec.slurm_schedulers:
        uses = [
            a
            for a in spec.actions
            if a.scheduler == scheduler.name and not a.start_one_worker_per_node
        ]
        if scheduler.nodes < 2 or not uses:
            continue
        jobs = [j for j in spec.jobs if j.scheduler == scheduler.name]
        if not any(rr_nodes.get(j.resource_requirements or "", 1) == scheduler.nodes for j in jobs):
            out.append(
                f"slurm_scheduler {scheduler.name!r} allocates {scheduler.nodes} nodes with one "
                f"runner, but none of its jobs needs {scheduler.nodes} nodes; set "
                "start_one_worker_per_node: true on its action or num_nodes on a job"
            )
    return out
