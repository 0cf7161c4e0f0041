"""Workflow specs: load YAML/JSON/JSON5/KDL files into one model, expand, check, create.

spec = load_spec(Path("sweep.yaml"))        # SpecError: "file: key: problem"
print(plan(spec).describe())                # warnings included: spec_warnings(spec)
create_workflow_from_spec(client, Path("sweep.yaml"))
"""

from pytorc.spec.build import CreationPlan, create_workflow, create_workflow_from_spec, plan
from pytorc.spec.errors import SpecError
from pytorc.spec.load import load_for_upload, load_spec
from pytorc.spec.model import WorkflowSpec
from pytorc.spec.notices import spec_warnings

__all__ = [
    "CreationPlan",
    "SpecError",
    "WorkflowSpec",
    "create_workflow",
    "create_workflow_from_spec",
    "load_for_upload",
    "load_spec",
    "plan",
    "spec_warnings",
]
