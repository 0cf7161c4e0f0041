"""The `torc` command: global options, the command groups, and the one place errors are printed.

Only Typer and our light modules load at start-up; each command imports what it needs (the client,
the spec models, Rich) when it runs, so `torc --help` stays fast.
"""

import gc
import importlib
import re
import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from pytorc import API_VERSION, __version__
from pytorc.cli import output
from pytorc.cli.common import CliState, OutputFormat, state
from pytorc.errors import ApiError, TorcError

# Command groups: name -> module under pytorc.cli holding its `app`.
GROUPS = {
    "workflows": "workflows",
    "jobs": "jobs",
    "files": "files",
    "user-data": "user_data",
    "resource-requirements": "resource_requirements",
    "results": "results",
    "events": "events",
    "compute-nodes": "compute_nodes",
    "scheduled-compute-nodes": "scheduled_compute_nodes",
    "slurm": "slurm",
    "job-dependencies": "job_dependencies",
    "config": "config",
    "reports": "reports",
    "hpc": "hpc",
    "access-groups": "access_groups",
    "failure-handlers": "failure_handlers",
    "logs": "logs",
}

# Top-level commands: name -> (module under pytorc.cli, function).
COMMANDS = {
    "explain": ("explain", "explain"),
    "run": ("run", "run"),
    "submit": ("submit", "submit"),
    "submit-slurm": ("submit", "submit_slurm"),
    "plot-resources": ("plot", "plot_resources"),
    "recover": ("recover", "recover"),
    "watch": ("recover", "watch"),
}


class LazyGroups(TyperGroup):
    """The root command. A group's or command's module is imported and its commands built only
    when it is used (or help lists it): building all ~100 commands cost every `torc` call
    ~50 ms, and the top-level ones a `torc run` does not use ~10 ms more."""

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in self.commands:
            pass
        elif cmd_name in GROUPS:
            module = importlib.import_module(f"pytorc.cli.{GROUPS[cmd_name]}")
            group = typer.main.get_group(module.app)
            group.name = cmd_name
            self.commands[cmd_name] = group
        elif cmd_name in COMMANDS:
            module_name, function = COMMANDS[cmd_name]
            module = importlib.import_module(f"pytorc.cli.{module_name}")
            single = typer.Typer(rich_markup_mode=None, add_completion=False)
            single.command(cmd_name)(getattr(module, function))
            self.commands[cmd_name] = typer.main.get_command(single)
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: Any) -> list[str]:
        listed = [*GROUPS, *COMMANDS]
        return [*listed, *(n for n in super().list_commands(ctx) if n not in listed)]


app = typer.Typer(
    name="torc",
    help="Torc: run workflows of dependent jobs on a laptop or an HPC cluster.",
    no_args_is_help=True,
    rich_markup_mode=None,  # Rich-formatted help costs ~0.15 s of start-up on every call
    pretty_exceptions_enable=False,
    add_completion=False,
    cls=LazyGroups,
    context_settings={"help_option_names": ["-h", "--help"]},  # inherited by every command
)

SHELLS = ("bash", "zsh", "fish", "powershell", "pwsh")


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"torc {__version__} (API {API_VERSION})")
        raise typer.Exit()


_Url = Annotated[
    str | None,
    typer.Option(
        "--url",
        envvar="TORC_API_URL",
        help="Server URL [default: config client.api_url, http://localhost:8080/torc-service/v1]",
        show_default=False,
    ),
]

_Format = Annotated[
    OutputFormat | None,
    typer.Option("-f", "--format", help="Output format [default: config client.format]"),
]

_Columns = Annotated[
    str | None,
    typer.Option(
        "--columns",
        help="Table columns to show, comma-separated (default: those that fit the width).",
    ),
]

_LogLevel = Annotated[
    str | None,
    typer.Option("--log-level", help="error, warn, info, debug or trace (default: config)."),
]

_Password = Annotated[
    str | None,
    typer.Option(
        "--password",
        envvar="TORC_PASSWORD",
        help="Password when the server requires authentication (prefer TORC_PASSWORD or"
        " --prompt-password: a flag shows in ps).",
        show_envvar=False,
    ),
]

_PasswordFile = Annotated[
    str | None,
    typer.Option("--password-file", help="Read the password from this file's first line."),
]

_PromptPassword = Annotated[
    bool, typer.Option("--prompt-password", help="Ask for the password on the terminal.")
]

_CaCert = Annotated[
    str | None,
    typer.Option(
        "--ca-cert",
        envvar="TORC_CA_CERT",
        help="PEM file of the certificate authorities to trust for an https server.",
    ),
]

_User = Annotated[
    str | None,
    typer.Option("--user", help="User to authenticate as [default: $USER]."),
]

_Standalone = Annotated[
    bool,
    typer.Option(
        "-s", "--standalone", help="Start a private torc-server for this command (DB: --db)."
    ),
]

_Db = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database of the private server [default: torc_output/torc.db]; "
        ":memory: keeps it in memory.",
    ),
]

_InMemory = Annotated[
    bool,
    typer.Option(
        "--in-memory",
        help="Start a private torc-server (implies -s) with its database in memory; at the "
        "end it writes a snapshot to --db [default: torc_output/torc.db] (--db :memory: keeps "
        "nothing).",
    ),
]

_SnapshotInterval = Annotated[
    float | None,
    typer.Option(
        "--snapshot-interval-seconds",
        min=0.1,
        help="With --in-memory: also snapshot the private server's database this often.",
    ),
]

_Version = Annotated[
    bool,
    typer.Option("--version", callback=_show_version, is_eager=True, help="Show the version."),
]


def _password(
    given: str | None, prompt: bool, from_file: str | None, user: str | None
) -> str | None:
    """The password from the terminal, a file's first line, or as given."""
    if prompt:
        import getpass

        return getpass.getpass(f"Password for {user or 'the torc server'}: ")
    if from_file:
        try:
            with open(from_file) as secret:
                return secret.readline().rstrip("\n")
        except OSError as exc:
            raise TorcError(f"cannot read --password-file {from_file}: {exc.strerror}") from None
    return given


@app.callback()
def root(
    ctx: typer.Context,
    url: _Url = None,
    fmt: _Format = None,
    columns: _Columns = None,
    log_level: _LogLevel = None,
    password: _Password = None,
    prompt_password: _PromptPassword = False,
    password_file: _PasswordFile = None,
    user: _User = None,
    ca_cert: _CaCert = None,
    standalone: _Standalone = False,
    db: _Db = None,
    in_memory: _InMemory = False,
    snapshot_interval: _SnapshotInterval = None,
    version: _Version = False,
) -> None:
    """Torc: run workflows of dependent jobs on a laptop or an HPC cluster."""
    snapshot_path = None
    if in_memory:
        from pytorc.client.standalone import DEFAULT_DB

        snapshot_path = None if db == ":memory:" else (db or str(DEFAULT_DB))
        db = ":memory:"
        standalone = True
    elif snapshot_interval is not None:
        raise TorcError("--snapshot-interval-seconds applies to --in-memory only")
    password = _password(password, prompt_password, password_file, user)
    st = CliState(
        url_flag=url,
        format_flag=fmt.value if fmt else None,
        password=password,
        user_flag=user,
        ca_cert=ca_cert,
        standalone=standalone,
        database=db,
        snapshot_path=snapshot_path,
        snapshot_interval=snapshot_interval,
    )
    ctx.obj = st
    ctx.call_on_close(st.close)
    if columns:
        from pytorc.cli import output

        output.CHOSEN_COLUMNS = [c.strip() for c in columns.split(",") if c.strip()]
    if log_level:
        import logging

        level = {"warn": "WARNING", "trace": "DEBUG"}.get(log_level.lower(), log_level.upper())
        logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


@app.command("ping")
def ping(ctx: typer.Context) -> None:
    """Check that the server answers, and show its version.

    Example: torc --url http://login1:8080/torc-service/v1 ping
    """
    st = state(ctx)
    answer = st.client.ping()
    version = st.client.version()
    data = {**answer, **(version if isinstance(version, dict) else {"version": version})}
    output.message(st.format, f"{st.url}: {answer.get('status')} ({data.get('version')})", data)


@app.command("completions")
def completions(
    shell: Annotated[str, typer.Argument(help="bash, zsh, fish or powershell.")],
) -> None:
    """Print a shell completion script.

    Example: torc completions bash > ~/.local/share/bash-completion/completions/torc
    """
    from typer._completion_shared import get_completion_script

    if shell not in SHELLS:
        raise TorcError(f"no completions for shell {shell!r}; choose one of: {', '.join(SHELLS)}")
    name = "pwsh" if shell == "powershell" else shell
    script = get_completion_script(prog_name="torc", complete_var="_TORC_COMPLETE", shell=name)
    typer.echo(script)


def _error_line(exc: Exception) -> str:
    text = str(exc).strip().replace("\n", " ") or type(exc).__name__
    # The URL hint helps only when no server was ever reached, not when one went away mid-run.
    if isinstance(exc, ApiError) and exc.status == 0 and text.startswith("cannot reach"):
        from pytorc.client.standalone import DEFAULT_DB

        if DEFAULT_DB.exists():  # a private server's database from an earlier `torc run`
            text += f"; the workflows of earlier runs here are in {DEFAULT_DB}: use `torc -s ...`"
        else:
            text += (
                "; set the server URL with --url, TORC_API_URL or api_url in the [client]"
                " section of a config file (see torc config paths)"
            )
    return f"error: {text}"


def _user_errors() -> tuple[type[Exception], ...]:
    """Errors that are the user's to fix: printed as one line, never as a traceback."""
    kinds: list[type[Exception]] = [TorcError]
    for module, name in (("pytorc.config", "ConfigError"), ("pytorc.spec", "SpecError")):
        kind = getattr(sys.modules.get(module), name, None)  # only loaded modules can raise
        if isinstance(kind, type) and issubclass(kind, Exception):
            kinds.append(kind)
    return tuple(kinds)


# Torc commands pytorc does not have (docs/cli.md, "Not here yet"): group -> commands, or
# None for a whole top-level command.
NOT_YET: dict[str, frozenset[str] | None] = {
    "tui": None,
    "remote": None,
    "workflows": frozenset({"submit", "export", "import"}),
    "jobs": frozenset({"list-resource-requirements", "list-failure-handlers"}),
}


def _not_yet(message: str) -> str:
    """ "No such command 'tui'" for a command Torc has and pytorc does not yet: say that."""
    found = re.search(r"No such command '([^']+)'", message)
    if found is None:
        return message
    name = found.group(1)
    argv = sys.argv[1:]
    for group, commands in NOT_YET.items():
        hit = name == group and commands is None
        hit = hit or (commands is not None and name in commands and group in argv)
        if hit:
            whole = name if commands is None else f"{group} {name}"
            return f"`torc {whole}` is a Torc command that pytorc does not have yet (docs/cli.md)"
    return message


_OWN_FORMAT = frozenset({"config", "plot-resources"})  # commands with a -f/--format of their own


def hoist_format(argv: list[str]) -> list[str]:
    """`torc workflows list -f json` means `torc -f json workflows list`: the global output
    format is moved in front, where the parser takes it. Only `-f json|table` (or
    `--format=...`) moves, and not for commands whose own -f means something else."""
    if any(word in _OWN_FORMAT for word in argv):
        return argv
    moved: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(argv):
        word = argv[i]
        if word in ("-f", "--format") and i + 1 < len(argv) and argv[i + 1] in ("json", "table"):
            moved += argv[i : i + 2]
            i += 2
            continue
        if word in ("--format=json", "--format=table"):
            moved.append(word)
        else:
            rest.append(word)
        i += 1
    return moved + rest


def main() -> None:
    """Run the CLI; user errors become one `error: ...` line on stderr and exit status 1."""
    _enable_completion_if_asked()
    try:
        code = app(args=hoist_format(sys.argv[1:]), standalone_mode=False, prog_name="torc")
    except typer.Exit as exc:
        code = exc.exit_code
    except typer.Abort:
        typer.echo("aborted", err=True)
        code = 1
    except typer.TyperException as exc:  # usage errors from the argument parser
        message = _not_yet(exc.format_message())
        if message.startswith("Usage:"):  # a group called without a command: its help
            typer.echo(message, err=True)
        else:
            typer.echo(f"error: {message.strip()}", err=True)
        code = exc.exit_code
    except Exception as exc:
        if not isinstance(exc, _user_errors()):
            raise
        typer.echo(_error_line(exc), err=True)
        code = 1
    # Interpreter shutdown runs full collections over every object the imports made: ~45 ms
    # of a ~0.3 s command. Frozen objects are left out of them; nothing else changes (files are
    # closed and atexit handlers run as before). Measured: one-job `torc run` 43 ms faster,
    # `torc workflows list` 59 ms (benchmarks/tricks.py, 2026-12-04).
    gc.freeze()
    sys.exit(code if isinstance(code, int) else 0)


def _enable_completion_if_asked() -> None:
    """A shell asking for completions: register Typer's completion classes first."""
    import os

    if os.environ.get("_TORC_COMPLETE"):
        from typer.completion import get_completion_inspect_parameters

        get_completion_inspect_parameters()  # registers the shell classes as a side effect
