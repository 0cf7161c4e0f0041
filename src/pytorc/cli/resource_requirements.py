"""`torc resource-requirements ...`: the CPUs, memory, GPUs, nodes and runtime jobs need."""

from typing import Annotated, Any

import typer

from pytorc.cli import output
from pytorc.cli.common import (
    Limit,
    Offset,
    ReverseSort,
    SortBy,
    WorkflowArg,
    group,
    paging,
    resolve_workflow_id,
    state,
)

app = group("The CPUs, memory, GPUs, nodes and runtime that jobs need.")

COLUMNS = ("id", "name", "num_cpus", "num_gpus", "num_nodes", "memory", "runtime")
Cpus = Annotated[int | None, typer.Option("--num-cpus", min=0, help="CPUs per job.")]
Gpus = Annotated[int | None, typer.Option("--num-gpus", min=0, help="GPUs per job.")]
Nodes = Annotated[int | None, typer.Option("--num-nodes", min=1, help="Nodes per job.")]
Memory = Annotated[str | None, typer.Option("-m", "--memory", help="e.g. 512m, 8g")]
Runtime = Annotated[str | None, typer.Option("-r", "--runtime", help="ISO 8601, e.g. PT2H")]


def _amounts(cpus: Any, gpus: Any, nodes: Any, memory: Any, runtime: Any) -> dict[str, Any]:
    given = {
        "num_cpus": cpus,
        "num_gpus": gpus,
        "num_nodes": nodes,
        "memory": memory,
        "runtime": runtime,
    }
    return {k: v for k, v in given.items() if v is not None}


@app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("-n", "--name", help="Name jobs refer to.")],
    workflow_id: WorkflowArg = None,
    num_cpus: Cpus = 1,
    num_gpus: Gpus = 0,
    num_nodes: Nodes = 1,
    memory: Memory = "1m",
    runtime: Runtime = "P0DT1M",
) -> None:
    """Add a named set of resource requirements to a workflow.

    Example: torc resource-requirements create 3 -n big --num-cpus 16 -m 64g -r PT4H
    """
    st = state(ctx)
    wf_id = resolve_workflow_id(st, workflow_id)
    body = {"workflow_id": wf_id, "name": name}
    body.update(_amounts(num_cpus, num_gpus, num_nodes, memory, runtime))
    rr = st.client.post("/resource_requirements", body)
    output.message(st.format, f"created resource requirements {rr['id']} ({rr['name']})", rr)


@app.command("list")
def list_resource_requirements(
    ctx: typer.Context,
    workflow_id: WorkflowArg = None,
    limit: Limit = None,
    offset: Offset = 0,
    sort_by: SortBy = None,
    reverse_sort: ReverseSort = False,
) -> None:
    """List a workflow's resource requirements.

    Example: torc resource-requirements list 3 --sort-by num_cpus
    """
    st = state(ctx)
    wf_id = resolve_workflow_id(st, workflow_id)
    items = st.client.iter_pages(
        "/resource_requirements",
        workflow_id=wf_id,
        **paging(limit, offset, sort_by, reverse_sort),
    )
    output.records(st.format, items, COLUMNS)


@app.command("get")
def get(ctx: typer.Context, rr_id: Annotated[int, typer.Argument(help="Id.")]) -> None:
    """Show one set of resource requirements.

    Example: torc resource-requirements get 9
    """
    st = state(ctx)
    output.record(st.format, st.client.get_resource_requirements(rr_id))


@app.command("update")
def update(
    ctx: typer.Context,
    rr_id: Annotated[int, typer.Argument(help="Id.")],
    name: Annotated[str | None, typer.Option("-n", "--name", help="New name.")] = None,
    num_cpus: Cpus = None,
    num_gpus: Gpus = None,
    num_nodes: Nodes = None,
    memory: Memory = None,
    runtime: Runtime = None,
) -> None:
    """Change resource requirements; jobs using them pick up the change.

    Example: torc resource-requirements update 9 -m 96g -r PT6H
    """
    st = state(ctx)
    rr = st.client.get_resource_requirements(rr_id)
    rr.update(_amounts(num_cpus, num_gpus, num_nodes, memory, runtime))
    if name is not None:
        rr["name"] = name
    updated = st.client.put(f"/resource_requirements/{rr_id}", rr)
    output.message(st.format, f"updated resource requirements {rr_id}", updated)


@app.command("delete")
def delete(ctx: typer.Context, rr_ids: Annotated[list[int], typer.Argument(help="Ids.")]) -> None:
    """Delete resource requirements no job uses.

    Example: torc resource-requirements delete 9
    """
    st = state(ctx)
    records = [st.client.delete(f"/resource_requirements/{i}") for i in rr_ids]
    output.deleted(st.format, "resource requirements", records)
