"""What every command group shares: the per-invocation state, workflow-id resolution, options.

Nothing heavy is imported here: the HTTP client and the settings are loaded on
first use, so `torc --help` and `torc config paths` stay fast.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pytorc.errors import InvalidInput

if TYPE_CHECKING:
    from pytorc.client.api import TorcClient
    from pytorc.client.standalone import StandaloneServer
    from pytorc.config import Settings

CLI_RETRY_SECONDS = 3.0  # a person is waiting: give up on an unreachable server quickly


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


@dataclass
class CliState:
    """Global options of one `torc` invocation; settings and client are built on first use."""

    url_flag: str | None = None
    format_flag: str | None = None
    password: str | None = None
    user_flag: str | None = None
    ca_cert: str | None = None
    standalone: bool = False
    database: str | None = None
    snapshot_path: str | None = None  # --in-memory: the private server's final snapshot
    snapshot_interval: float | None = None
    may_create_db: bool = False  # a command that makes workflows may start a new private database
    _settings: Settings | None = None
    _client: TorcClient | None = None
    _server: StandaloneServer | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from pytorc.config import load_settings

            self._settings = load_settings()
        return self._settings

    @property
    def url(self) -> str:
        return self.url_flag or self.settings.client.api_url

    @property
    def format(self) -> str:
        return self.format_flag or self.settings.client.format

    @property
    def client(self) -> TorcClient:
        if self._client is None:
            from pytorc.client.api import TorcClient

            if self.standalone:
                self.launch_private_server()
                assert self._server is not None
                self.url_flag = self._server.wait_ready()
            self._client = TorcClient(
                self.url, retry_seconds=CLI_RETRY_SECONDS, auth=self.auth, ca_cert=self.ca_cert
            )
        return self._client

    @property
    def auth(self) -> tuple[str, str] | None:
        """HTTP Basic credentials: --user (else $USER) and the password, when one was given."""
        if self.password is None:
            return None
        return (self.user_flag or user_name(), self.password)

    def launch_private_server(self) -> None:
        """In standalone mode, start the private server now without waiting for it, so the
        caller's own work (loading a spec) overlaps its start-up; `client` waits for it."""
        if not self.standalone or self._server is not None:
            return
        from pytorc.client.standalone import StandaloneServer, database_of

        database = database_of(self.database)
        if not self.may_create_db and database != ":memory:" and not Path(database).exists():
            raise InvalidInput(
                f"no standalone database here: {database} does not exist; `torc -s run SPEC`"
                " or `torc -s workflows create SPEC` makes one, or name one with --db PATH"
            )

        self._server = StandaloneServer(
            self.database,
            snapshot_path=self.snapshot_path,
            snapshot_interval=self.snapshot_interval,
        )
        self._server.launch()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._server is not None:
            self._server.stop()
            self._server = None

    def url_configured(self) -> bool:
        """Did the user name a server (flag, TORC_API_URL, or api_url in config/env)?"""
        return self.url_flag is not None or "api_url" in self.settings.client.model_fields_set

    @contextmanager
    def server_for_run(self) -> Iterator[None]:
        """`torc run` uses a private server when asked (-s), or when none is named and none answers.

        The private server keeps its database in ./torc_output/torc.db (or --db PATH).
        """
        self.may_create_db = True
        if not self.standalone and not self.url_configured():
            from pytorc.client.standalone import server_answers

            self.standalone = not server_answers(self.url)
        try:
            yield
        finally:
            self.close()


def state(ctx: typer.Context) -> CliState:
    obj = ctx.obj
    if not isinstance(obj, CliState):  # a group invoked on its own, e.g. in tests
        obj = ctx.obj = CliState()
    return obj


def group(help: str) -> typer.Typer:
    """A command group with plain (fast) help and no per-group completion options."""
    return typer.Typer(
        help=help,
        no_args_is_help=True,
        rich_markup_mode=None,
        pretty_exceptions_enable=False,
        add_completion=False,
    )


def user_name() -> str:
    """The user Torc records as a workflow's owner: $USER, else $USERNAME, else the login."""
    return os.environ.get("USER") or os.environ.get("USERNAME") or getpass.getuser()


WorkflowArg = Annotated[
    int | None,
    typer.Argument(
        help="Workflow id; omitted: your only workflow, or a prompt.", show_default=False
    ),
]
Limit = Annotated[
    int | None,
    typer.Option("-l", "--limit", min=0, help="Return at most this many records (default: all)."),
]
Offset = Annotated[int, typer.Option("--offset", min=0, help="Skip this many records first.")]
SortBy = Annotated[str | None, typer.Option("--sort-by", help="Sort by this field.")]
ReverseSort = Annotated[bool, typer.Option("--reverse-sort", help="Reverse the sort order.")]


def paging(limit: int | None, offset: int, sort_by: str | None, reverse: bool) -> dict[str, Any]:
    """Query parameters for TorcClient.iter_pages from the shared list options."""
    return {"limit": limit, "offset": offset, "sort_by": sort_by, "reverse_sort": reverse or None}


def resolve_workflow_id(st: CliState, workflow_id: int | None) -> int:
    """The given id, else the user's only unarchived workflow, else ask (on a terminal)."""
    if workflow_id is not None:
        return workflow_id
    user = user_name()
    workflows = list(st.client.iter_workflows(user=user, is_archived=False))
    if len(workflows) == 1:
        return int(workflows[0]["id"])
    if not workflows:
        raise InvalidInput(f"user {user} has no workflows; pass a workflow id")
    if not sys.stdin.isatty():
        ids = ", ".join(str(w["id"]) for w in workflows[:20])
        more = " ..." if len(workflows) > 20 else ""
        raise InvalidInput(
            f"user {user} has {len(workflows)} workflows (ids {ids}{more}); pass a workflow id"
        )
    for wf in workflows:
        typer.echo(f"  {wf['id']:>6}  {wf['name']}", err=True)
    chosen: int = typer.prompt("Workflow id", type=int, err=True)
    if chosen not in {int(w["id"]) for w in workflows}:
        raise InvalidInput(f"{chosen} is not one of your workflows")
    return chosen


def job_ids_or_names(client: TorcClient, workflow_id: int, values: list[str] | None) -> list[int]:
    """Job ids from repeated options (comma-separated lists too), where a job may be named."""
    from pytorc.client.job_logs import resolve_job

    parts = [p.strip() for value in values or [] for p in value.split(",") if p.strip()]
    return [int(resolve_job(client, part, workflow_id)["id"]) for part in parts]


def split_ids(values: list[str] | None) -> list[int]:
    """Ids from repeated options, each of which may hold a comma-separated list."""
    ids = []
    for value in values or []:
        for part in value.split(","):
            if part.strip():
                try:
                    ids.append(int(part))
                except ValueError:
                    raise InvalidInput(f"{part.strip()!r} is not an id") from None
    return ids


def parse_json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{what} is not valid JSON: {exc}") from None


def confirm(question: str, no_prompts: bool) -> None:
    """Ask before a destructive step on a terminal; scripts (no tty) and --no-prompts go on."""
    if no_prompts or not sys.stdin.isatty():
        return
    if not typer.confirm(question, err=True):
        raise typer.Abort()
