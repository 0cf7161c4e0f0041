"""One APIRouter per resource; the app mounts them all under /torc-service/v1."""

from fastapi import APIRouter

from pytorc.server.routes import (
    access_control,
    compute_nodes,
    event_stream,
    events,
    failure_handlers,
    files,
    job_sweeps,
    jobs,
    local_schedulers,
    remote_workers,
    resource_requirements,
    results,
    ro_crate_entities,
    scheduled_compute_nodes,
    slurm_schedulers,
    slurm_stats,
    system,
    tasks,
    user_data,
    workflow_actions,
    workflow_jobs,
    workflows,
)

ROUTERS: list[APIRouter] = [
    m.router
    for m in (
        system,
        workflows,
        workflow_jobs,
        jobs,
        job_sweeps,
        files,
        user_data,
        resource_requirements,
        results,
        events,
        event_stream,
        compute_nodes,
        local_schedulers,
        slurm_schedulers,
        scheduled_compute_nodes,
        failure_handlers,
        workflow_actions,
        remote_workers,
        access_control,
        ro_crate_entities,
        slurm_stats,
        tasks,
    )
]
