"""docs/cli.md and the real `torc` agree: every documented command and flag exists, and every
command `--help` lists is documented."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer

from pytorc.cli.main import GROUPS, app

DOC = Path(__file__).resolve().parent.parent / "docs" / "cli.md"


# Typer carries its own copy of click, so commands are checked by what they do, not their class.


def root_command() -> Any:
    return typer.main.get_command(app)


def is_group(command: Any) -> bool:
    return hasattr(command, "list_commands")


def subcommand(group: Any, name: str) -> Any:
    with typer.Context(group) as ctx:
        return group.get_command(ctx, name)


def option_names(command: Any) -> set[str]:
    names: set[str] = set()
    for param in command.params:
        if param.param_type_name == "option":
            names.update(param.opts)
            names.update(param.secondary_opts)
    return names


def section(title: str) -> str:
    """The text of the `## title` section of docs/cli.md."""
    text = DOC.read_text()
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def table_rows(text: str) -> list[list[str]]:
    rows = []
    for line in text.splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            rows.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip("|"))])
    return rows[1:]  # without the header


def documented_commands() -> dict[str, dict[str, set[str]]]:
    """group ('' for top level) -> command -> the flags written beside it."""
    out: dict[str, dict[str, set[str]]] = {}
    for group_cell, commands_cell in table_rows(section("Commands")):
        group = "" if group_cell == "top level" else group_cell.strip("`")
        for span in re.findall(r"`([^`]+)`", commands_cell):
            words = span.replace("\\|", " ").split()
            flags = {
                flag
                for word in words[1:]
                for flag in re.findall(r"--?[a-zA-Z][\w-]*", word.strip("[]"))
            }
            out.setdefault(group, {})[words[0]] = flags
    return out


DOCUMENTED = documented_commands()
CASES = [(g, c, f) for g, commands in DOCUMENTED.items() for c, f in commands.items()]


@pytest.mark.parametrize(
    ("group", "name", "flags"), CASES, ids=[f"{g or 'torc'} {c}" for g, c, _ in CASES]
)
def test_every_documented_command_and_flag_exists(group: str, name: str, flags: set[str]) -> None:
    parent: Any = root_command()
    if group:
        parent = subcommand(parent, group)
        assert is_group(parent), f"docs/cli.md names a group `{group}` torc lacks"
    command = subcommand(parent, name)
    assert command is not None, f"docs/cli.md documents `torc {group} {name}`, which is missing"
    missing = flags - option_names(command)
    assert not missing, f"`torc {group} {name}` has no {sorted(missing)} (docs/cli.md)"


@pytest.mark.parametrize("group", [*GROUPS, ""], ids=[*GROUPS, "torc"])
def test_every_command_in_help_is_documented(group: str) -> None:
    parent: Any = root_command()
    if group:
        parent = subcommand(parent, group)
    with typer.Context(parent) as ctx:
        names = set(parent.list_commands(ctx))
    if not group:
        names -= set(GROUPS)
    documented = set(DOCUMENTED.get(group, {}))
    if not group:  # `torc run` has its own section
        documented |= {"run"} if "`torc run SPEC_OR_ID`" in section("Running workflows") else set()
    assert names - documented == set(), f"undocumented in docs/cli.md: torc {group} ..."


def test_every_documented_global_option_exists() -> None:
    documented = {
        flag
        for row in table_rows(section("Global options"))
        for flag in re.findall(r"--?[a-zA-Z][\w-]*", row[0])
    }
    assert documented, "the global options table was not found"
    assert documented <= option_names(root_command())


def test_every_global_option_is_documented() -> None:
    table = section("Global options")
    undocumented = {
        opt
        for opt in option_names(root_command())
        if opt.startswith("--")
        and opt != "--help"
        and f"`{opt}" not in table
        and f", {opt}" not in table
    }
    assert undocumented == set()


def test_run_options_in_the_docs_exist() -> None:
    text = section("Running workflows")
    documented = set(re.findall(r"`(--?[a-z][\w-]*)", text)) | set(
        re.findall(r"/(--[a-z][\w-]*)", text)
    )
    run = subcommand(root_command(), "run")
    assert run is not None
    assert documented - {"--url", "-f"} <= option_names(run)
