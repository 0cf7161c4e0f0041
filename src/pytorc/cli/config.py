"""`torc config ...`: see, locate, create and check the layered configuration files.

None of these commands talks to the server.
"""

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from pytorc.cli import output
from pytorc.cli.common import group, state
from pytorc.errors import InvalidInput

app = group("See, locate, create and check configuration files (no server needed).")

LAYERS = ("system", "user", "local")


def _paths() -> list[Path]:
    from pytorc.config import config_paths

    return config_paths()


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))  # a TOML basic string uses JSON's escapes


def to_toml(data: dict[str, Any], prefix: str = "", commented: bool = False) -> str:
    """Settings as TOML: scalars first, then a [section] per nested table; None is left out."""
    mark = "# " if commented else ""
    lines = []
    for key, value in data.items():
        if isinstance(value, dict):
            continue
        if value is None:
            if commented:
                lines.append(f"# {key} =  (unset)")
            continue
        lines.append(f"{mark}{key} = {_toml_value(value)}")
    out = "\n".join(lines)
    for key, value in data.items():
        if isinstance(value, dict):
            name = f"{prefix}.{key}" if prefix else key
            body = to_toml(value, name, commented)
            out += f"\n\n[{name}]\n{body}" if body.strip() else f"\n\n[{name}]"
    return out.strip("\n")


@app.command("show")
def show(
    ctx: typer.Context,
    fmt: Annotated[
        str | None, typer.Option("-f", "--format", help="toml or json (default: toml).")
    ] = None,
) -> None:
    """Show the effective settings: files, then TORC_* variables, merged.

    Example: torc config show -f json
    """
    st = state(ctx)
    chosen = fmt or ("json" if st.format_flag == "json" else "toml")
    if chosen not in ("toml", "json"):
        raise InvalidInput(f"config show formats are toml and json, not {chosen!r}")
    data = redacted(st.settings.model_dump())
    if chosen == "json":
        output.emit_json(data)
    else:
        output.message("table", to_toml(data), data)


SECRET_WORDS = ("password", "token", "secret", "credential")


def redacted(data: Any) -> Any:
    """The settings with the value of any key that names a secret replaced by asterisks (the
    [client] table passes other tools' keys through, and one may hold a password)."""
    if isinstance(data, dict):
        return {
            key: "********"
            if any(w in str(key).lower() for w in SECRET_WORDS) and value
            else redacted(value)
            for key, value in data.items()
        }
    if isinstance(data, list):
        return [redacted(v) for v in data]
    return data


@app.command("paths")
def paths(ctx: typer.Context) -> None:
    """List the config files read, lowest precedence first, and which exist.

    Example: torc config paths
    """
    st = state(ctx)
    rows = [
        {"layer": layer, "path": str(path), "exists": path.is_file()}
        for layer, path in zip(LAYERS, _paths(), strict=True)
    ]
    fmt = st.format_flag or "table"  # the config may be the broken thing; don't read it
    output.records(fmt, rows, ("layer", "path", "exists"))


@app.command("init")
def init(
    ctx: typer.Context,
    system: Annotated[bool, typer.Option("--system", help="/etc/torc/config.toml")] = False,
    user: Annotated[bool, typer.Option("--user", help="Your config dir (the default).")] = False,
    local: Annotated[bool, typer.Option("--local", help="./torc.toml")] = False,
    force: Annotated[bool, typer.Option("-f", "--force", help="Overwrite a file.")] = False,
) -> None:
    """Write a config file listing every setting with its default, commented out.

    Example: torc config init --local
    """
    if system + user + local > 1:
        raise InvalidInput("choose one of --system, --user, --local")
    layer = "system" if system else "local" if local else "user"
    path = dict(zip(LAYERS, _paths(), strict=True))[layer]
    if path.exists() and not force:
        raise InvalidInput(f"{path} exists; pass --force to overwrite it")
    from pytorc.config import Settings

    defaults = Settings().model_dump()
    text = (
        "# Torc configuration. Uncomment a line to change a setting.\n"
        "# Precedence: /etc/torc/config.toml < user config < ./torc.toml < TORC_<SECTION>__<KEY>"
        " environment variables < command-line flags.\n\n" + to_toml(defaults, commented=True)
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")
    except OSError as exc:
        raise InvalidInput(f"cannot write {path}: {exc.strerror}") from None
    st = state(ctx)
    output.message(st.format_flag or "table", f"wrote {path}", {"path": str(path)})


@app.command("validate")
def validate(ctx: typer.Context) -> None:
    """Check every config file and TORC_* variable; exit 1 naming the first bad value.

    Example: torc config validate
    """
    st = state(ctx)
    settings = st.settings  # raises ConfigError naming the file or variable
    read = [str(p) for p in _paths() if p.is_file()]
    text = "configuration is valid" + (f" (files: {', '.join(read)})" if read else " (no files)")
    output.message(st.format_flag or settings.client.format, text, {"valid": True, "files": read})
