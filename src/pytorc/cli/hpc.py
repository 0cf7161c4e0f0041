"""`torc hpc ...`: the HPC profiles pytorc knows (built-in, from the config, and the local
cluster read from sinfo) and which partitions fit a job."""

from typing import Annotated, Any

import typer

from pytorc.cli import output
from pytorc.cli.common import CliState, group, state
from pytorc.errors import InvalidInput
from pytorc.units import UnitError, duration_seconds, memory_bytes

app = group("HPC profiles: clusters' partitions, detection, and which partition fits a job.")

ProfileName = Annotated[str | None, typer.Argument(help="Profile; default: the detected one.")]
PARTITION_COLUMNS = (
    "name",
    "cpus_per_node",
    "memory_mb",
    "max_walltime_secs",
    "gpus_per_node",
    "shared",
    "requires_explicit_request",
)


def _profile(st: CliState, name: str | None) -> Any:
    from pytorc.slurm import hpc

    try:
        return hpc.choose(st.settings.client.model_extra, name)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


def _summary(profile: Any) -> dict[str, Any]:
    from pytorc.slurm.hpc import is_here

    return {
        "name": profile.name,
        "display_name": profile.display_name,
        "source": profile.source,
        "detected": is_here(profile),
        "partitions": len(profile.partitions),
    }


@app.command("list")
def list_profiles(ctx: typer.Context) -> None:
    """List the HPC profiles: built-in, from the config ([client.hpc.profiles.NAME]), and the
    cluster this machine submits to (from sinfo).

    Example: torc hpc list
    """
    from pytorc.slurm import hpc

    st = state(ctx)
    found = [_summary(p) for p in hpc.all_profiles(st.settings.client.model_extra)]
    output.records(st.format, found, ("name", "display_name", "source", "detected", "partitions"))


@app.command("detect")
def detect(ctx: typer.Context) -> None:
    """Show the profile of the cluster this machine is on.

    Example: torc hpc detect
    """
    st = state(ctx)
    output.record(st.format, _summary(_profile(st, None)))


@app.command("show")
def show(ctx: typer.Context, name: ProfileName = None) -> None:
    """Show one profile and its partitions.

    Example: torc hpc show kestrel
    """
    from dataclasses import asdict

    st = state(ctx)
    profile = _profile(st, name)
    if st.format == "json":
        output.emit_json(
            {**_summary(profile), "partitions": [asdict(p) for p in profile.partitions]}
        )
        return
    output.record(st.format, _summary(profile))
    output.records(st.format, [asdict(p) for p in profile.partitions], PARTITION_COLUMNS)


@app.command("partitions")
def partitions(ctx: typer.Context, name: ProfileName = None) -> None:
    """List a profile's partitions.

    Example: torc hpc partitions lab
    """
    from dataclasses import asdict

    st = state(ctx)
    found = [asdict(p) for p in _profile(st, name).partitions]
    output.records(st.format, found, PARTITION_COLUMNS)


@app.command("match")
def match(
    ctx: typer.Context,
    cpus: Annotated[int, typer.Option("--cpus", min=1, help="CPUs per job.")] = 1,
    memory: Annotated[str, typer.Option("--memory", help="Memory per job, e.g. 8g.")] = "1g",
    walltime: Annotated[str, typer.Option("--walltime", help="Runtime, e.g. PT2H.")] = "PT1H",
    gpus: Annotated[int, typer.Option("--gpus", min=0, help="GPUs per job.")] = 0,
    profile_name: Annotated[str | None, typer.Option("--profile", help="Profile.")] = None,
) -> None:
    """List the partitions a job of this size fits, the one pytorc would choose first.

    Example: torc hpc match --cpus 4 --memory 16g --walltime PT3H --profile kestrel
    """
    from dataclasses import asdict

    st = state(ctx)
    try:
        memory_mb = -(-memory_bytes(memory) // 2**20)
        seconds = int(duration_seconds(walltime))
    except UnitError as exc:
        raise InvalidInput(str(exc)) from None
    profile = _profile(st, profile_name)
    best = profile.best(cpus, memory_mb, seconds, gpus)
    fitting = [
        {**asdict(p), "best": p is best} for p in profile.matching(cpus, memory_mb, seconds, gpus)
    ]
    if not fitting:
        raise InvalidInput(
            f"no partition of {profile.name} fits {cpus} CPUs, {memory}, {walltime}, {gpus} GPUs"
        )
    output.records(st.format, fitting, ("best", *PARTITION_COLUMNS))


@app.command("generate")
def generate(
    ctx: typer.Context,
    output_file: Annotated[
        str | None, typer.Option("-o", "--output", help="Append to this config file.")
    ] = None,
) -> None:
    """Write the local cluster's profile, read from sinfo, as a config snippet
    ([client.hpc.profiles.NAME]) to edit: mark shared partitions, those that must be named,
    GPU types, a detection rule.

    Example: torc hpc generate -o ~/.config/torc/config.toml
    """
    from pathlib import Path

    from pytorc.slurm import hpc

    profile = hpc.from_sinfo()
    if profile is None:
        raise InvalidInput("Slurm does not answer here (sinfo or scontrol failed)")
    text = hpc.config_toml(profile)
    if output_file is None:
        typer.echo(text, nl=False)
        return
    path = Path(output_file).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as out:
        out.write(("\n" if path.stat().st_size else "") + text)
    typer.echo(f"appended profile {profile.name} to {path}", err=True)
