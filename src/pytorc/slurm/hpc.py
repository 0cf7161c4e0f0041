"""HPC profiles: what a cluster's partitions offer, so pytorc can choose where jobs go.

Three sources, first match wins by name: profiles in the config (`[client.hpc.profiles.NAME]`,
same keys as the files here), the built-in ones (slurm/profiles/*.toml), and the cluster this
machine submits to, read from `sinfo` when Slurm answers (named after its ClusterName).
"""

from __future__ import annotations

import functools
import os
import re
import socket
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from pytorc.slurm import commands
from pytorc.units import UnitError, slurm_time_seconds


@dataclass(frozen=True)
class Partition:
    name: str
    cpus_per_node: int
    memory_mb: int
    max_walltime_secs: int
    gpus_per_node: int = 0
    gpu_type: str | None = None
    shared: bool = False
    requires_explicit_request: bool = False
    default_qos: str | None = None
    max_nodes: int | None = None
    description: str = ""

    def fits(self, cpus: int, memory_mb: int, runtime_secs: int, gpus: int) -> bool:
        """Whether one node of this partition can run a job of this size for this long."""
        return (
            cpus <= self.cpus_per_node
            and memory_mb <= self.memory_mb
            and runtime_secs <= self.max_walltime_secs
            and gpus <= self.gpus_per_node
        )


@dataclass(frozen=True)
class Profile:
    name: str
    display_name: str
    partitions: tuple[Partition, ...]
    detect_rules: tuple[dict[str, str], ...] = ()
    charge_factor_cpu: float = 1.0
    charge_factor_gpu: float = 10.0
    source: str = "built-in"
    extra: dict[str, Any] = field(default_factory=dict)

    def detected(self) -> bool:
        """Whether this machine is on the cluster: any rule (env var value, hostname regex,
        file that exists) matches."""
        return any(_matches(rule) for rule in self.detect_rules)

    def partition(self, name: str) -> Partition | None:
        return next((p for p in self.partitions if p.name == name), None)

    def matching(self, cpus: int, memory_mb: int, runtime_secs: int, gpus: int) -> list[Partition]:
        return [p for p in self.partitions if p.fits(cpus, memory_mb, runtime_secs, gpus)]

    def best(self, cpus: int, memory_mb: int, runtime_secs: int, gpus: int) -> Partition | None:
        """The partition to use: not a debug one if another fits; a GPU partition for GPU jobs
        and a CPU one otherwise; one Slurm routes to by itself before one that must be named;
        then the shortest maximum walltime (the quickest queue)."""
        fitting = self.matching(cpus, memory_mb, runtime_secs, gpus)
        if not fitting:
            return None
        serious = [p for p in fitting if "debug" not in p.name.lower()] or fitting
        kind = [p for p in serious if (p.gpus_per_node > 0) == (gpus > 0)] or serious
        return min(kind, key=lambda p: (p.requires_explicit_request, p.max_walltime_secs))


def _matches(rule: dict[str, str]) -> bool:
    if "env" in rule:
        return os.environ.get(rule["env"]) == rule.get("value")
    if "hostname" in rule:
        return re.search(rule["hostname"], socket.gethostname()) is not None
    if "file" in rule:
        return os.path.exists(rule["file"])
    return False


def from_mapping(data: dict[str, Any], source: str) -> Profile:
    """A profile from TOML-shaped data (a built-in file or a config table)."""
    partitions = tuple(Partition(**p) for p in data.get("partitions", []))
    return Profile(
        name=data["name"],
        display_name=data.get("display_name", data["name"]),
        partitions=partitions,
        detect_rules=tuple(data.get("detect", [])),
        charge_factor_cpu=float(data.get("charge_factor_cpu", 1.0)),
        charge_factor_gpu=float(data.get("charge_factor_gpu", 10.0)),
        source=source,
    )


def builtin() -> list[Profile]:
    folder = resources.files("pytorc.slurm") / "profiles"
    found = [
        from_mapping(tomllib.loads(f.read_text()), "built-in")
        for f in folder.iterdir()
        if f.name.endswith(".toml")
    ]
    return sorted(found, key=lambda p: p.name)


def configured(settings: dict[str, Any]) -> list[Profile]:
    """Profiles from the client config's `hpc.profiles` tables."""
    tables = (settings.get("hpc") or {}).get("profiles") or {}
    return [from_mapping({"name": name, **table}, "config") for name, table in tables.items()]


@functools.cache
def from_sinfo() -> Profile | None:
    """The cluster this machine submits to, from sinfo (None when Slurm does not answer);
    read once per process."""
    try:
        out = commands.run_command(["sinfo", "-h", "-o", "%R|%c|%m|%l|%D|%G"])
        config = commands.run_command(["scontrol", "show", "config"])
    except commands.SlurmError:
        return None
    cluster = re.search(r"^ClusterName\s*=\s*(\S+)", config, re.M)
    name = cluster[1] if cluster else "local"
    partitions: dict[str, Partition] = {}
    for line in out.splitlines():
        part = _sinfo_partition(line)
        if part is not None and part.name not in partitions:
            partitions[part.name] = part
    return Profile(
        name, f"Slurm cluster {name} (from sinfo)", tuple(partitions.values()), source="sinfo"
    )


def _sinfo_partition(line: str) -> Partition | None:
    fields = line.strip().split("|")
    if len(fields) != 6:
        return None
    name, cpus, memory, limit, nodes, gres = fields
    try:
        walltime = 10 * 365 * 86400 if limit == "infinite" else slurm_time_seconds(limit)
    except UnitError:
        return None
    gpus = re.search(r"gpu(?::\w+)?:(\d+)", gres)
    return Partition(
        name=name,
        cpus_per_node=int(cpus.rstrip("+")),
        memory_mb=int(memory.rstrip("+")),
        max_walltime_secs=int(walltime),
        gpus_per_node=int(gpus[1]) if gpus else 0,
        max_nodes=int(nodes) if nodes.isdigit() else None,
        requires_explicit_request=False,
    )


def all_profiles(settings: dict[str, Any], include_sinfo: bool = True) -> list[Profile]:
    """Config profiles, then built-in ones, then the local cluster's (by name, first wins)."""
    found: dict[str, Profile] = {}
    for profile in [*configured(settings), *builtin()]:
        found.setdefault(profile.name, profile)
    if include_sinfo:
        local = from_sinfo()
        if local is not None:
            found.setdefault(local.name, local)
    return list(found.values())


def is_here(profile: Profile) -> bool:
    """Whether this machine is on the profile's cluster: a detection rule matches, or it is
    the cluster sinfo answers for (a config profile of that name included)."""
    local = from_sinfo()
    return profile.detected() or (local is not None and local.name == profile.name)


def choose(settings: dict[str, Any], name: str | None) -> Profile:
    """The profile named, or the one detected here; ValueError saying what is known."""
    profiles = all_profiles(settings)
    if name is not None:
        for profile in profiles:
            if profile.name == name:
                return profile
        known = ", ".join(p.name for p in profiles)
        raise ValueError(f"no HPC profile {name!r} (known: {known or 'none'})")
    detected = [p for p in profiles if is_here(p)]
    if not detected:
        raise ValueError(
            "no HPC profile matches this machine and Slurm does not answer: pass"
            " --profile (see torc hpc list)"
        )
    return detected[0]


def config_toml(profile: Profile) -> str:
    """The profile as a config snippet (`[client.hpc.profiles.NAME]`), for a config file."""
    table = f"client.hpc.profiles.{profile.name}"
    lines = [f"[{table}]", f"display_name = {_toml(profile.display_name)}"]
    for part in profile.partitions:
        lines += ["", f"[[{table}.partitions]]"]
        for key, value in part.__dict__.items():
            if value is not None and value != "" and value != getattr(Partition, key, None):
                lines.append(f"{key} = {_toml(value)}")
    return "\n".join(lines) + "\n"


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
