"""A spec with Slurm schedulers and schedule_nodes actions planned for it from an HPC profile:
what `torc slurm generate` writes and `torc submit-slurm` submits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytorc.errors import InvalidInput
from pytorc.fields import Model
from pytorc.slurm import hpc
from pytorc.slurm.plan import Plan, PlanOptions, apply, plan
from pytorc.spec.model import WorkflowSpec


def planned_spec(
    path: Path,
    options: PlanOptions,
    profile_name: str | None,
    settings: dict[str, Any],
    overwrite: bool = False,
) -> tuple[WorkflowSpec, Plan, hpc.Profile]:
    """The spec at `path` (expanded) with its planned schedulers and actions."""
    from pytorc.spec import load_spec

    spec = load_spec(path)
    has_own = spec.slurm_schedulers or any(a.action_type == "schedule_nodes" for a in spec.actions)
    if has_own and not overwrite:
        raise InvalidInput(
            f"{path} already has Slurm schedulers or schedule_nodes actions: pass --overwrite"
            " to replace them with the planned ones"
        )
    try:
        profile = hpc.choose(settings, profile_name)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    planned = plan(spec, profile, options)
    if not planned.schedulers:
        raise InvalidInput(
            f"no job of {path} fits a partition of {profile.name}: " + "; ".join(planned.warnings)
        )
    return apply(spec, planned), planned, profile


def spec_data(model: Model) -> Any:
    """A spec model as plain data holding only the keys set to something other than their
    default (what a person would write), so the file reads like a spec, not a dump."""
    out: dict[str, Any] = {}
    for name in model.model_fields:
        if name not in model.model_fields_set:
            continue
        value = getattr(model, name)
        if value is None or value in ([], {}) or value == getattr(type(model), name, None):
            continue
        out[name] = _plain(value)
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, Model):
        return spec_data(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def write(spec: WorkflowSpec, path: Path | None) -> str:
    """The spec as YAML (JSON when `path` ends in .json), written to `path` if given."""
    data = spec_data(spec)
    if path is not None and path.suffix == ".json":
        import json

        text = json.dumps(data, indent=2) + "\n"
    else:
        import yaml

        text = yaml.safe_dump(data, sort_keys=False, width=100)
    if path is not None:
        path.write_text(text)
    return text
