"""Layered settings: /etc/torc/config.toml -> user config dir -> ./torc.toml -> TORC_* env -> flags.

Later layers win. Environment keys are `TORC_<SECTION>__<KEY>` (e.g. `TORC_SERVER__PORT`,
`TORC_CLIENT__RUN__OUTPUT_DIR`). Command-line flags are applied by each entry point on top.
A config file that does not parse, or holds a bad value, is an error naming the file.

Sections are pytorc.fields models with `strict = False` (environment values are strings), so
this module must not use `from __future__ import annotations`.
"""

import json
import os
import types
import typing
from pathlib import Path
from typing import Annotated, Any, Literal

import platformdirs

from pytorc.fields import Model, ValidationError, field, ge, gt, le

LogLevel = Literal["trace", "debug", "info", "warn", "warning", "error", "critical"]


class ConfigError(Exception):
    """A configuration file or value that cannot be used."""


class Section(Model):
    """A table of settings; `model_fields_set` names the keys the layers gave."""

    strict = False


class ServerLogging(Section):
    log_dir: str | None = None
    json_logs: bool = False


class ServerSettings(Section):
    log_level: LogLevel = "info"
    https: bool = False  # serve TLS; needs tls_cert and tls_key
    tls_cert: str | None = None  # PEM certificate (chain) file
    tls_key: str | None = None  # PEM private key file
    host: str = "0.0.0.0"
    port: Annotated[int, ge(0), le(65535)] = 8080
    threads: Annotated[int, ge(1)] = 1
    database: str | None = None
    auth_file: str | None = None
    require_auth: bool = False
    credential_cache_ttl_secs: Annotated[int, ge(0)] = 60
    enforce_access_control: bool = False
    completion_check_interval_secs: Annotated[float, gt(0)] = 30.0
    # Snapshots (server/snapshots.py): where (None: ./torc-server-snapshot.db, and no final
    # snapshot unless one was taken), how many older ones to keep, how often (0: on SIGUSR1).
    snapshot_path: str | None = None
    snapshot_keep: Annotated[int, ge(1)] = 5
    snapshot_interval_seconds: Annotated[float, ge(0)] = 0.0
    # A runner silent this long (no exchange_jobs) is declared dead and its jobs requeued; 0: never.
    dead_runner_timeout_secs: Annotated[float, ge(0)] = 120.0
    admin_users: list[str] = field(default_factory=list)
    max_request_body_mb: Annotated[float, gt(0)] = 64.0
    max_in_flight_requests: Annotated[int, ge(1)] = 4096  # pytorc: beyond it, 503 + Retry-After
    # pytorc: job ids per write transaction of a big workflow's initialization or deletion
    chunk_jobs: Annotated[int, ge(1)] = 5_000
    warm_up: bool = True  # pytorc: prepare every route before accepting connections
    event_loop: Literal["auto", "asyncio", "uvloop"] = "auto"  # pytorc: uvicorn's loop
    logging: ServerLogging = field(default_factory=ServerLogging)


class ClientRunSettings(Section):
    poll_interval: Annotated[float, gt(0)] = 5.0
    output_dir: str = "output"
    max_parallel_jobs: Annotated[int, ge(1)] | None = None
    num_cpus: Annotated[int, ge(1)] | None = None
    memory_gb: Annotated[float, gt(0)] | None = None
    num_gpus: Annotated[int, ge(0)] | None = None


class ClientSlurmSettings(Section):
    poll_interval: Annotated[float, gt(0)] = 30.0
    keep_submission_scripts: bool = False
    strict_scheduler_match: bool = False


class ClientSettings(Section):
    unknown_keys = "allow"  # Torc's other client tables (tui, hpc, ...) pass through
    api_url: str = "http://localhost:8080/torc-service/v1"
    format: Literal["table", "json"] = "table"
    log_level: LogLevel = "info"
    run: ClientRunSettings = field(default_factory=ClientRunSettings)
    slurm: ClientSlurmSettings = field(default_factory=ClientSlurmSettings)


def config_paths() -> list[Path]:
    """The config files read, lowest precedence first."""
    return [
        Path("/etc/torc/config.toml"),
        Path(platformdirs.user_config_dir("torc")) / "config.toml",
        Path.cwd() / "torc.toml",
    ]


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def read_config_files(paths: list[Path] | None = None) -> dict[str, Any]:
    """The merged contents of the TOML files that exist."""
    merged: dict[str, Any] = {}
    for path in paths if paths is not None else config_paths():
        if not path.is_file():
            continue
        import tomllib  # only when a file exists: most runs have none (~2.5 ms of start-up)

        try:
            data = tomllib.loads(path.read_text())
        except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: {exc}") from exc
        merged = _deep_merge(merged, data)
    return merged


class Settings(Section):
    unknown_keys = "ignore"  # tables of other tools may share the file
    server: ServerSettings = field(default_factory=ServerSettings)
    client: ClientSettings = field(default_factory=ClientSettings)
    dash: dict[str, Any] = field(default_factory=dict)


ENV_PREFIX = "TORC_"


def environment_layer(environ: typing.Mapping[str, str] | None = None) -> dict[str, Any]:
    """`TORC_<SECTION>__<KEY>[__<KEY>...]` variables as nested settings (names in any case).

    Plain values stay strings for validation to convert; list and table values are JSON. A
    variable naming no section (TORC_API_URL, or TORC_JOB_ID in a job's environment) is not a
    setting and is left alone; an unknown key inside a section is kept so validation names it.
    Hand-written rather than pydantic-settings: that package cost ~90 ms on every `torc` start.
    """
    out: dict[str, Any] = {}
    for name, value in (os.environ if environ is None else environ).items():
        if not name.upper().startswith(ENV_PREFIX) or "__" not in name:
            continue
        keys = name[len(ENV_PREFIX) :].lower().split("__")
        if keys[0] not in Settings.model_fields or not all(keys):
            continue
        node, model = out, Settings
        for key in keys[:-1]:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                break
            model = _section_model(model, key)
        else:
            node[keys[-1]] = _env_value(name, value, _field_type(model, keys[-1]))
    return out


def _section_model(model: Any, key: str) -> Any:
    """The section type of sub-table `key` of `model`, or None for a free-form table."""
    annotation = _field_type(model, key)
    return annotation if _is_section(annotation) else None


def _is_section(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, Section)


def _field_type(model: Any, key: str) -> Any:
    """The type of `model`'s field `key` without its rules and None (None if no such field)."""
    info = model.model_fields.get(key) if _is_section(model) else None
    annotation = info.annotation if info else None
    if typing.get_origin(annotation) is typing.Union or isinstance(annotation, types.UnionType):
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    if typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _env_value(name: str, value: str, annotation: Any) -> Any:
    """JSON for list, table and section values; the raw string for everything else."""
    origin = typing.get_origin(annotation) or annotation
    structured = origin in (list, dict) or _is_section(origin)
    if not structured:
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"environment variable {name}: not valid JSON: {exc}") from exc


def load_settings() -> Settings:
    """Settings from every layer but the command line; bad values raise ConfigError."""
    try:
        return Settings.model_validate(_deep_merge(read_config_files(), environment_layer()))
    except ValidationError as exc:
        problems = "; ".join(
            f"{_dotted(p.loc)}: {p.message} (from {origin_of(p.loc)})" for p in exc.problems
        )
        raise ConfigError(f"invalid configuration: {problems}") from exc


def _dotted(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc)


def origin_of(loc: tuple[int | str, ...], paths: list[Path] | None = None) -> str:
    """Which layer set the key at `loc`: the environment variable, or the config file that won."""
    keys = [str(p) for p in loc]
    environ = {k.upper(): k for k in os.environ}
    for depth in range(len(keys), 0, -1):  # TORC_SERVER__LOGGING__LOG_DIR, or a parent holding JSON
        name = "TORC_" + "__".join(keys[:depth]).upper()
        if name in environ:
            return f"environment variable {environ[name]}"
    import tomllib

    for path in reversed(paths if paths is not None else config_paths()):
        try:
            node: Any = tomllib.loads(path.read_text()) if path.is_file() else None
        except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError):
            continue
        for key in keys:
            node = node.get(key) if isinstance(node, dict) else None
        if node is not None:
            return str(path)
    return "defaults"
